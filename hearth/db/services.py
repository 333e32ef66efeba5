"""Service rows: each role a Hearth process serves, its heartbeat and the operator's switches.

A row is one ``(binary, host)``: ``cinder-scheduler`` and ``cinder-backup`` on the
machine's name, ``cinder-volume`` on the backend's name (the host volumes are placed on;
the binaries keep Cinder's names, which clients and Tempest filter on). Its process writes
``reported_at`` every ``report_interval`` (:func:`heartbeat`); an operator sets
``disabled``/``disabled_reason``, ``frozen`` and ``log_levels``. The scheduler reads the
switches of the volume rows (:func:`volume_switches`) to leave such backends out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models

Service = models.ServiceRow
SCHEDULER = "cinder-scheduler"
VOLUME = "cinder-volume"
BACKUP = "cinder-backup"
BINARIES = (SCHEDULER, VOLUME, BACKUP)


def heartbeat(session: Session, binary: str, host: str, availability_zone: str) -> None:
    """Record that the role is alive now (inserting its row the first time)."""
    now = models.utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Service).values(
        binary=binary,
        host=host,
        availability_zone=availability_zone,
        disabled=False,
        frozen=False,
        log_levels={},
        reported_at=now,
        created_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["binary", "host"],
        set_={"reported_at": now, "availability_zone": availability_zone},
    )
    session.execute(statement.execution_options(synchronize_session=False))


def find_all(
    session: Session, *, binary: str | None = None, host: str | None = None
) -> Sequence[Service]:
    """Service rows, by binary then host; ``host`` matches the host or ``host@...``."""
    query = sa.select(Service).order_by(Service.binary, Service.host)
    if binary is not None:
        query = query.where(Service.binary == binary)
    if host is not None:
        query = query.where(sa.or_(Service.host == host, Service.host.like(f"{host}@%")))
    return session.scalars(query).all()


def get(session: Session, binary: str, host: str) -> Service:
    """The row of ``binary`` on ``host``; raises NotFound."""
    row = session.scalars(
        sa.select(Service).where(Service.binary == binary, Service.host == host)
    ).one_or_none()
    if row is None:
        raise errors.NotFound(kind="Service", resource_id=f"{binary} on {host}")
    return row


def update(session: Session, binary: str, host: str, **fields: Any) -> Service:
    """Change the operator's fields of one row; returns it."""
    row = get(session, binary, host)
    for name, value in fields.items():
        setattr(row, name, value)
    session.flush()
    return row


def volume_switches(session: Session) -> dict[str, tuple[bool, bool]]:
    """backend -> (disabled, frozen), for the backends that have a service row."""
    rows = session.execute(
        sa.select(Service.host, Service.disabled, Service.frozen).where(Service.binary == VOLUME)
    ).all()
    return {host: (disabled, frozen) for host, disabled, frozen in rows}


def frozen(session: Session, backend: str) -> bool:
    """Whether an operator froze the backend."""
    return bool(
        session.scalar(
            sa.select(Service.frozen).where(Service.binary == VOLUME, Service.host == backend)
        )
    )
