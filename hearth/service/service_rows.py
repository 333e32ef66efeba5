"""The operator's switches on services (``os-services``): enable, disable with a reason,
freeze and thaw a backend, runtime log levels; and the check a frozen backend makes.

A disabled or frozen ``cinder-volume`` is left out by the scheduler
(``scheduler/filters.is_enabled``); a frozen one also refuses management operations on
the volumes and snapshots it holds (deletes, extends, snapshots: :func:`refuse_if_frozen`,
called by the request layer under the volume's row lock). Log levels are stored on the
rows; each process applies those of the roles it serves at every heartbeat
(``heartbeats``), so ``set-log`` reaches other processes within ``report_interval``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models, services
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ROOT_LOGGER = "hearth"


def refuse_if_frozen(
    session: Session, backend: str | None, action: str, kind: str, resource_id: str
) -> None:
    """Raise BackendFrozen when the resource's backend is frozen."""
    if backend is not None and services.frozen(session, backend):
        raise errors.BackendFrozen(
            action=action, kind=kind, resource_id=resource_id, backend=backend
        )


def find(
    session: Session, context: RequestContext, *, binary: Any = None, host: Any = None
) -> Sequence[models.ServiceRow]:
    """The service rows (admins), narrowed to a binary and a host."""
    _require_admin(context)
    return services.find_all(
        session,
        binary=fields.optional_text("binary", binary),
        host=fields.optional_text("host", host),
    )


def set_enabled(
    session: Session,
    context: RequestContext,
    body: Mapping[str, Any],
    *,
    enabled: bool,
    with_reason: bool = False,
) -> models.ServiceRow:
    """Enable or disable one service (``host`` and ``binary`` of the body)."""
    _require_admin(context)
    host, binary = _addressed(body)
    reason = None
    if with_reason:
        reason = fields.text("disabled_reason", body.get("disabled_reason"))
    return services.update(session, binary, host, disabled=not enabled, disabled_reason=reason)


def set_frozen(
    session: Session, context: RequestContext, body: Mapping[str, Any], *, frozen: bool
) -> models.ServiceRow:
    """Freeze or thaw the backend whose volume service is on ``host``."""
    _require_admin(context)
    host = fields.text("host", body.get("host"))
    row = services.get(session, services.VOLUME, host)
    if row.frozen == frozen:
        state = "frozen" if frozen else "not frozen"
        raise errors.Conflict(reason=f"Backend {host} is already {state}.")
    return services.update(session, services.VOLUME, host, frozen=frozen)


def set_log(
    session: Session, context: RequestContext, body: Mapping[str, Any]
) -> list[models.ServiceRow]:
    """Store a log level for a logger prefix on the matching services; returns them."""
    _require_admin(context)
    level = str(fields.text("level", body.get("level"))).upper()
    if level not in LEVELS:
        raise errors.InvalidInput(field="level", reason=f"must be one of {', '.join(LEVELS)}")
    prefix = _prefix(body)
    rows = _matching(session, body)
    for row in rows:
        services.update(session, row.binary, row.host, log_levels={**row.log_levels, prefix: level})
    return list(rows)


def get_log(
    session: Session, context: RequestContext, body: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The log levels of the matching services for loggers under the prefix."""
    _require_admin(context)
    prefix = _prefix(body)
    return [
        {
            "binary": row.binary,
            "host": row.host,
            "levels": {
                name: level
                for name, level in {ROOT_LOGGER: _current(ROOT_LOGGER), **row.log_levels}.items()
                if name.startswith(prefix)
            },
        }
        for row in _matching(session, body)
    ]


def apply_levels(levels: Mapping[str, str]) -> None:
    """Set this process's loggers to the stored levels."""
    for prefix, level in levels.items():
        logging.getLogger(prefix).setLevel(level)


def _current(name: str) -> str:
    return logging.getLevelName(logging.getLogger(name).getEffectiveLevel())


def _matching(session: Session, body: Mapping[str, Any]) -> Sequence[models.ServiceRow]:
    binary = fields.optional_text("binary", body.get("binary")) or None
    server = fields.optional_text("server", body.get("server")) or None
    if binary is not None and binary != "*" and binary not in services.BINARIES:
        raise errors.InvalidInput(
            field="binary", reason=f"must be one of {', '.join(services.BINARIES)} or '*'"
        )
    return services.find_all(session, binary=None if binary == "*" else binary, host=server)


def _prefix(body: Mapping[str, Any]) -> str:
    prefix = fields.optional_text("prefix", body.get("prefix")) or ROOT_LOGGER
    if not (prefix == ROOT_LOGGER or prefix.startswith(ROOT_LOGGER + ".")):
        raise errors.InvalidInput(
            field="prefix", reason=f"must name a logger under {ROOT_LOGGER!r}"
        )
    return prefix


def _addressed(body: Mapping[str, Any]) -> tuple[str, str]:
    host = fields.text("host", body.get("host"))
    binary = fields.text("binary", body.get("binary"))
    return host, binary


def _require_admin(context: RequestContext) -> None:
    if not context.is_admin:
        raise errors.Forbidden(action="manage services")
