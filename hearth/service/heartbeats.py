"""Heartbeats: each role a process serves keeps its service row alive (``os-services``).

Called by the composition root at start-up and at every ``report_interval`` tick: one
transaction records ``reported_at`` of the scheduler (on this machine's name) and of each
served backend's ``cinder-volume`` (on the backend's name), then applies the log levels an
operator stored on those rows (``set-log``). A service is up while its last heartbeat is
at most ``backend_down_after`` old. Never raises: a missed beat is retried by the next.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from hearth import errors
from hearth.db import services
from hearth.service import service_rows

if TYPE_CHECKING:
    from hearth.service.wiring import Services

LOG = logging.getLogger(__name__)


def roles(served: Services) -> list[tuple[str, str, str]]:
    """(binary, host, zone) of every role this process serves."""
    zone = served.settings.default_availability_zone
    found = [(services.VOLUME, name, m.availability_zone) for name, m in served.managers.items()]
    if served.scheduler is not None:
        found.append((services.SCHEDULER, socket.gethostname(), zone))
    if served.backup_manager is not None:
        found.append((services.BACKUP, served.backup_manager.name, zone))
    return found


def beat(served: Services) -> None:
    """Record this process's heartbeats and apply the log levels stored for its roles."""
    mine = roles(served)
    if not mine:
        return
    try:
        with served.db.transaction() as session:
            for binary, host, zone in mine:
                services.heartbeat(session, binary, host, zone)
            levels = {
                prefix: level
                for binary, host, _ in mine
                for prefix, level in services.get(session, binary, host).log_levels.items()
            }
    except errors.HearthError as exc:
        LOG.warning("heartbeat failed: %s", exc)
        return
    service_rows.apply_levels(levels)
