"""Quota limits: a project's own limits and the quota classes' (``default`` holds everyone's
defaults). What is missing here falls back to ``[quotas]`` of the settings; resolving that
order is ``hearth.service.quotas``'s job, usage is ``quota_usages``'s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth.db import models

Limit = models.QuotaLimit
ClassLimit = models.QuotaClassLimit


def project_limits(session: Session, project_id: str) -> dict[str, int]:
    """The limits set for the project itself: resource -> hard limit."""
    rows = session.scalars(sa.select(Limit).where(Limit.project_id == project_id))
    return {row.resource: row.hard_limit for row in rows}


def class_limits(session: Session, class_name: str) -> dict[str, int]:
    """The limits of a quota class: resource -> hard limit."""
    rows = session.scalars(sa.select(ClassLimit).where(ClassLimit.class_name == class_name))
    return {row.resource: row.hard_limit for row in rows}


def set_project_limits(session: Session, project_id: str, limits: Mapping[str, int]) -> None:
    """Set (insert or change) the project's limits of these resources."""
    _set(session, Limit, Limit.project_id, project_id, limits)


def set_class_limits(session: Session, class_name: str, limits: Mapping[str, int]) -> None:
    """Set the quota class's limits of these resources."""
    _set(session, ClassLimit, ClassLimit.class_name, class_name, limits)


def delete_project_limits(session: Session, project_id: str) -> int:
    """Remove the project's own limits (back to the defaults); returns how many."""
    result = session.execute(sa.delete(Limit).where(Limit.project_id == project_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _set(
    session: Session,
    model: type[Any],
    owner: Any,
    value: str,
    limits: Mapping[str, int],
) -> None:
    # the owner's rows locked first: two updates of one project's limits serialize
    existing: dict[str, Any] = {
        row.resource: row
        for row in session.scalars(sa.select(model).where(owner == value).with_for_update())
    }
    for resource, hard_limit in sorted(limits.items()):
        row = existing.get(resource)
        if row is None:
            session.add(model(**{owner.key: value}, resource=resource, hard_limit=hard_limit))
        else:
            row.hard_limit = hard_limit
    session.flush()
