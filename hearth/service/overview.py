"""What the deployment looks like now, for a person watching it: the read behind the status
page (``hearth.api.dashboard``), through ``Hearth.overview``.

One read transaction gathers four lists, each bounded so the page stays cheap to poll:
every backend with its capacity and whether it is up (reported within
``[scheduler] backend_down_after``), the creates in flight (oldest first) with their phase
and progress, the latest user messages (newest first), and the image-volume cache's
entries. Every project's rows are shown, so only admins may read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import backends, image_cache, images, models, statuses, user_messages, volumes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

GIB = 1 << 30
MAX_CREATES = 100
"""Creates in flight shown (the oldest: those most likely stuck)."""
MAX_FAILURES = 20
"""User messages shown (the newest)."""
MAX_CACHE_ENTRIES = 200
"""Image-volume cache entries shown (least recently used first)."""


@dataclass(frozen=True)
class BackendState:
    """One backend as its manager last reported it, and the claims placed on it."""

    name: str
    zone: str
    driver: str
    up: bool
    report_age: float | None
    """Seconds since its last capacity report; None if it never reported."""
    total_bytes: int
    free_bytes: int
    provisioned_bytes: int
    claimed_bytes: int
    """``allocated_capacity_gb`` in bytes: the sizes of the volumes placed here."""
    claim_limit_bytes: int
    """``capacity_limit_gb`` in bytes: the most the scheduler may place here."""


@dataclass(frozen=True)
class CreateState:
    """One create not yet ended."""

    id: str
    name: str | None
    project_id: str
    status: str
    create_step: str | None
    phase: str
    """What it is doing: its progress's phase while it copies data, else ``scheduling``
    (no backend yet) or its journal step (``scheduled``, ``started``, ``made``)."""
    host: str | None
    size_gb: int
    age: float
    progress: dict[str, Any] | None
    """``{"phase", "done", "total"}`` in bytes while it copies data."""
    reschedule_count: int


@dataclass(frozen=True)
class Failure:
    """One user message: a failure as the project that caused it was told."""

    id: str
    project_id: str
    resource_type: str
    resource_id: str | None
    action: str
    detail_code: str
    message: str
    request_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class CacheEntry:
    """One image-volume cache entry."""

    id: str
    backend: str
    image_id: str
    image_name: str | None
    status: str
    size_gb: int
    in_use: int
    last_used: datetime


@dataclass(frozen=True)
class Overview:
    """Everything the status page shows, read at ``taken_at``."""

    taken_at: datetime
    backends: Sequence[BackendState]
    creates: Sequence[CreateState]
    failures: Sequence[Failure]
    image_cache: Sequence[CacheEntry]


def read(session: Session, context: RequestContext, down_after: float) -> Overview:
    """The overview, for an admin (others: Forbidden)."""
    if not context.is_admin:
        raise errors.Forbidden(action="see the status of every project")
    now = models.utcnow()
    return Overview(
        taken_at=now,
        backends=[_backend(row, now, down_after) for row in backends.find_all(session)],
        creates=[_create(row, now) for row in _in_flight(session)],
        failures=[_failure(row) for row in _latest_messages(session)],
        image_cache=_cache_entries(session),
    )


def _backend(row: models.Backend, now: datetime, down_after: float) -> BackendState:
    age = None if row.reported_at is None else (now - row.reported_at).total_seconds()
    return BackendState(
        name=row.name,
        zone=row.availability_zone,
        driver=row.driver,
        up=age is not None and age <= down_after,
        report_age=age,
        total_bytes=row.total_bytes,
        free_bytes=row.free_bytes,
        provisioned_bytes=row.provisioned_bytes,
        claimed_bytes=row.allocated_capacity_gb * GIB,
        claim_limit_bytes=row.capacity_limit_gb * GIB,
    )


def _in_flight(session: Session) -> Sequence[models.Volume]:
    return volumes.find_all(session, statuses=statuses.CREATE_IN_PROGRESS, limit=MAX_CREATES)


def _create(row: models.Volume, now: datetime) -> CreateState:
    return CreateState(
        id=row.id,
        name=row.name,
        project_id=row.project_id,
        status=row.status,
        create_step=row.create_step,
        phase=phase_of(row),
        host=row.host,
        size_gb=row.size,
        age=(now - row.created_at).total_seconds(),
        progress=row.progress or None,
        reschedule_count=row.reschedule_count,
    )


def phase_of(row: models.Volume) -> str:
    """What an unfinished create is doing, in one word (see ``CreateState.phase``)."""
    if row.progress and row.progress.get("phase"):
        return str(row.progress["phase"])
    if row.host is None:
        return "scheduling"
    return row.create_step or "scheduled"


def _latest_messages(session: Session) -> Sequence[models.UserMessage]:
    newest_first = (("created_at", True),)
    return user_messages.find_page(session, newest_first, limit=MAX_FAILURES)


def _failure(row: models.UserMessage) -> Failure:
    return Failure(
        id=row.id,
        project_id=row.project_id,
        resource_type=row.resource_type,
        resource_id=row.resource_uuid,
        action=row.action,
        detail_code=row.detail_code,
        message=row.message,
        request_id=row.request_id,
        created_at=row.created_at,
    )


def _cache_entries(session: Session) -> list[CacheEntry]:
    rows = image_cache.find_all(session)[:MAX_CACHE_ENTRIES]
    names = {image_id: _image_name(session, image_id) for image_id in {r.image_id for r in rows}}
    return [
        CacheEntry(
            id=row.id,
            backend=row.host,
            image_id=row.image_id,
            image_name=names.get(row.image_id),
            status=row.status,
            size_gb=row.size,
            in_use=row.in_use,
            last_used=row.last_used,
        )
        for row in rows
    ]


def _image_name(session: Session, image_id: str) -> str | None:
    image = images.find(session, image_id)
    return image.name if image is not None else None
