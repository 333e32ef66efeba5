"""What a create carries through scheduling: its request spec and its attempts so far.

The request layer (``hearth.service.requests``) builds the :class:`RequestSpec` of a new
volume; the scheduler places the volume by it and counts the :class:`Attempts` (Cinder's
``filter_properties["retry"]``); the manager's flow, when a backend fails the create,
records the failure on the attempts and sends both back to the scheduler. The spec is the
scheduler's: the volume manager only carries it.

They are frozen values and become JSON only on the bus (the rpcapis and the endpoints that
receive their messages). The arithmetic of attempts has one owner, :class:`Attempts`:
``next`` (the scheduler begins an attempt), ``failed_on`` (the flow reschedules) and
``from_row``. The backends a create failed on are also kept on the volume row, so
reconciliation, which has only the row (its message was lost), rebuilds both values with
:func:`rebuild` and never places a create again where it already failed.

This module lives in ``hearth.volume``, the lowest layer of its three users (service,
scheduler, volume).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.db import models, snapshots, volume_types, volumes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class RequestSpec:
    """What the scheduler places a create by."""

    volume_id: str
    size: int
    """GiB."""
    availability_zone: str | None = None
    """The zone the user asked for; None: any zone."""
    volume_type_id: str | None = None
    volume_type_name: str | None = None
    extra_specs: Mapping[str, str] = field(default_factory=dict)
    """The volume type's extra specs (kept read-only)."""
    source_host: str | None = None
    """The backend holding the source of a copy (a snapshot's or a volume's)."""
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_id: str | None = None

    def __post_init__(self) -> None:
        # frozen all the way down: no holder changes the specs the scheduler places by
        object.__setattr__(self, "extra_specs", MappingProxyType(dict(self.extra_specs)))

    def to_json(self) -> dict[str, Any]:
        """The spec as the bus carries it (the shape of Cinder's ``request_spec``)."""
        return {
            "volume_id": self.volume_id,
            "size": self.size,
            "availability_zone": self.availability_zone,
            "volume_type": {
                "id": self.volume_type_id,
                "name": self.volume_type_name,
                "extra_specs": dict(self.extra_specs),
            },
            "source_host": self.source_host,
            "snapshot_id": self.snapshot_id,
            "source_volid": self.source_volid,
            "image_id": self.image_id,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> RequestSpec:
        """The spec a bus message carried (:meth:`to_json`)."""
        volume_type = document.get("volume_type") or {}
        return cls(
            volume_id=document["volume_id"],
            size=int(document["size"]),
            availability_zone=document.get("availability_zone"),
            volume_type_id=volume_type.get("id"),
            volume_type_name=volume_type.get("name"),
            extra_specs=volume_type.get("extra_specs") or {},
            source_host=document.get("source_host"),
            snapshot_id=document.get("snapshot_id"),
            source_volid=document.get("source_volid"),
            image_id=document.get("image_id"),
        )


@dataclass(frozen=True)
class Cause:
    """Why an attempt failed: the error's stable code and the message a user may read."""

    code: str
    reason: str

    @classmethod
    def of(cls, error: BaseException) -> Cause:
        """The cause an exception gives (never a path or a traceback)."""
        return cls(errors.code_of(error), errors.user_message_of(error))

    @classmethod
    def parse(cls, text: str | None) -> Cause | None:
        """The cause from its :meth:`__str__` form, as the row keeps it."""
        if not text:
            return None
        code, separator, reason = text.partition(": ")  # codes are snake_case words
        return cls(code, reason) if separator else cls(errors.HearthError.code, text)

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


@dataclass(frozen=True)
class Attempts:
    """How often a create was tried, where it failed and why (the retry record)."""

    number: int = 0
    """The attempt under way, counted from 1 by the scheduler; 0: not placed by it yet."""
    backends: tuple[str, ...] = ()
    """The backends earlier attempts failed on, in order: placement skips them."""
    last_cause: Cause | None = None

    def next(self) -> Attempts:
        """The attempt that begins now (the scheduler, each time it places the create)."""
        return dataclasses.replace(self, number=self.number + 1)

    def failed_on(self, backend: str | None, error: BaseException) -> Attempts:
        """This attempt failed on ``backend`` because of ``error`` (the flow, as it
        reschedules)."""
        tried = self.backends
        if backend is not None and backend not in tried:
            tried = (*tried, backend)
        return dataclasses.replace(self, backends=tried, last_cause=Cause.of(error))

    @classmethod
    def from_row(cls, volume: models.Volume) -> Attempts:
        """The attempts of a create in progress, from its row: one that waits for a backend
        has had ``reschedule_count`` attempts; one placed on a backend is in the next."""
        number = volume.reschedule_count + (1 if volume.host is not None else 0)
        cause = Cause.parse(volume.last_reschedule_cause)
        return cls(number, tuple(volume.backends_tried or ()), cause)

    def to_json(self) -> dict[str, Any]:
        """The attempts as the bus carries them (the keys of Cinder's ``retry``)."""
        document: dict[str, Any] = {"num_attempts": self.number, "backends": list(self.backends)}
        if self.last_cause is not None:
            document["exc_code"] = self.last_cause.code
            document["exc_reason"] = self.last_cause.reason
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Attempts:
        """The attempts a bus message carried (:meth:`to_json`)."""
        cause = None
        if "exc_reason" in document:
            cause = Cause(
                document.get("exc_code") or errors.HearthError.code, document["exc_reason"]
            )
        return cls(
            int(document.get("num_attempts", 0)), tuple(document.get("backends") or ()), cause
        )


@dataclass(frozen=True)
class FilterProperties:
    """What the scheduler's filters get besides the spec: the attempts (``retry``)."""

    retry: Attempts = field(default_factory=Attempts)

    def to_json(self) -> dict[str, Any]:
        """The properties as the bus carries them."""
        return {"retry": self.retry.to_json()}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> FilterProperties:
        """The properties a bus message carried (:meth:`to_json`)."""
        return cls(Attempts.from_json(document.get("retry") or {}))


def build(
    volume: models.Volume,
    volume_type: models.VolumeType,
    *,
    requested_zone: str | None,
    source_host: str | None,
) -> RequestSpec:
    """The spec of a new create."""
    return RequestSpec(
        volume_id=volume.id,
        size=volume.size,
        availability_zone=requested_zone,
        volume_type_id=volume_type.id,
        volume_type_name=volume_type.name,
        extra_specs=volume_type.extra_specs,
        source_host=source_host,
        snapshot_id=volume.snapshot_id,
        source_volid=volume.source_volid,
        image_id=volume.image_id,
    )


def rebuild(session: Session, volume: models.Volume) -> tuple[RequestSpec, FilterProperties]:
    """The spec and attempts of a create in progress, from its row alone: what both
    reconciliations (scheduler and manager) place or resume a create by when its message
    was lost. Its zone is kept (a resumed create stays where its request put it) and the
    backends it failed on stay tried."""
    volume_type = (
        volume_types.get(session, volume.volume_type_id)
        if volume.volume_type_id
        else volume_types.get_default(session)
    )
    spec = build(
        volume,
        volume_type,
        requested_zone=volume.availability_zone,
        source_host=_source_host(session, volume),
    )
    return spec, FilterProperties(Attempts.from_row(volume))


def _source_host(session: Session, volume: models.Volume) -> str | None:
    if volume.snapshot_id:
        snapshot = snapshots.find(session, volume.snapshot_id)
        parent = volumes.find(session, snapshot.volume_id) if snapshot else None
        return parent.host if parent else None
    if volume.source_volid:
        source = volumes.find(session, volume.source_volid)
        return source.host if source else None
    return None
