"""Usage notifications: written to the outbox with the change they report, then relayed.

The volume manager, the create flow, reconciliation and the image-volume cache call
:func:`emit` (or ``emit_volume``/``emit_snapshot``) inside the transaction of the status
change an event reports; the :class:`Relay` delivers committed entries, in order, to the
configured drivers (log, in-memory, a broker) and marks them sent. The package:

- :mod:`~hearth.notifications.events`: the table of events (every operation's ``.start``,
  ``.end`` and ``.error``), their payloads, and ``emit``;
- :mod:`~hearth.notifications.drivers`: where notifications go;
- :mod:`~hearth.notifications.relay`: delivery, retries and the purge of delivered entries.
"""

from __future__ import annotations

from hearth.notifications import events
from hearth.notifications.drivers import (
    BrokerDriver,
    LogDriver,
    MemoryDriver,
    Notification,
    NotificationDriver,
)
from hearth.notifications.events import (
    emit,
    emit_snapshot,
    emit_volume,
    snapshot_usage,
    volume_usage,
)
from hearth.notifications.relay import Relay

__all__ = [
    "BrokerDriver",
    "LogDriver",
    "MemoryDriver",
    "Notification",
    "NotificationDriver",
    "Relay",
    "emit",
    "emit_snapshot",
    "emit_volume",
    "events",
    "snapshot_usage",
    "volume_usage",
]
