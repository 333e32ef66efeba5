"""Backend rows: each backend's capacity and capabilities as its manager last reported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models

Backend = models.Backend


def report(session: Session, name: str, **fields: Any) -> Backend:
    """Insert or refresh a backend's row with a new report (and its time)."""
    backend = session.get(Backend, name)
    if backend is None:
        backend = Backend(name=name)
        session.add(backend)
    for key, value in fields.items():
        setattr(backend, key, value)
    backend.reported_at = models.utcnow()
    session.flush()
    return backend


def get(session: Session, name: str) -> Backend:
    """The backend's row; raises BackendNotFound."""
    backend = session.get(Backend, name)
    if backend is None:
        raise errors.BackendNotFound(backend=name)
    return backend


def find_all(session: Session) -> Sequence[Backend]:
    """Every backend that ever reported, by name."""
    return session.scalars(sa.select(Backend).order_by(Backend.name)).all()
