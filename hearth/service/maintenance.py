"""Operators' work on backends, for the facade: the audit (``hearth backend audit``), the
reconcile of a backend no manager serves, and where a volume's bytes live on this host.

The audit itself is ``hearth.volume.audit``; here it is run per configured backend with the
driver of the manager this process serves, or one built for the audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from hearth import errors
from hearth.db import models
from hearth.service import wiring
from hearth.volume import audit as backend_audit
from hearth.volume.drivers import base


def audit(
    services: wiring.Services, *, fix: bool, backends: Sequence[str] | None
) -> list[backend_audit.Finding]:
    """Compare each backend's data with the database; with ``fix``, repair what is found.
    Unfinished work needs the backend's manager: the one this process serves, or one
    started here for the audit when none runs (its start reconciles everything); a manager
    running elsewhere keeps that work."""
    settings = services.settings
    stale_after = timedelta(seconds=settings.recovery.stale_after)
    found: list[backend_audit.Finding] = []
    for name in backends or list(settings.backends):
        if name not in settings.backends:
            raise errors.BackendNotFound(backend=name)
        if fix and name not in services.managers:
            reconcile_unserved(services, name)
        driver = services.driver_for(name)
        found += backend_audit.audit_backend(
            services.db, driver, name, fix=fix, stale_after=stale_after
        )
    return found


def reconcile_unserved(services: wiring.Services, backend: str) -> None:
    """Start and stop a manager of ``backend`` here: its start reconciles the backend's
    unfinished work. A manager running elsewhere holds the backend and does it instead."""
    part = wiring.build(services.settings, roles={"volume"}, backends=[backend], bus=services.bus)
    try:
        part.start()
    except errors.BackendBusy:
        pass  # its running manager reconciles it
    finally:
        part.stop()


def volume_path(services: wiring.Services, volume: models.Volume) -> Path:
    """Where a volume's bytes live on this host (to attach or inspect them); raises
    NotSupportedByBackend when its backend keeps no local file or device."""
    if volume.host not in services.settings.backends:
        raise errors.Invalid(reason=f"volume {volume.id} is not on a backend configured here")
    driver = services.driver_for(volume.host)
    return driver.local_path(base.VolumeRef(volume.id, volume.size, volume.provider_location))
