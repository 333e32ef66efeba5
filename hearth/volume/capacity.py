"""What a backend's manager reports to the scheduler besides raw bytes: its capabilities and
the GiB the scheduler may promise on it.

``VolumeManager.report_stats`` stores both on the backend's row with the driver's
``BackendStats``; the scheduler's filters match volume types' extra specs against the
capabilities and claim sizes under the limit (``hearth.db.backends.claim``).
"""

from __future__ import annotations

from typing import Any

from hearth import config
from hearth.volume.drivers import base

VENDOR_NAME = "Hearth"
DRIVER_VERSION = "1.0.0"
STORAGE_PROTOCOL = "file"
"""Reported unless a driver says otherwise (its ``vendor_name``, ``driver_version``,
``storage_protocol`` attributes)."""


def capabilities(
    host: str,
    driver: base.VolumeDriver,
    settings: config.BackendSettings,
    stats: base.BackendStats,
) -> dict[str, Any]:
    """The capabilities a volume type's extra specs are matched against; the backend
    section's own ``capabilities`` extend (and may override) the reported ones."""
    thin = settings.thin_provisioning and stats.thin_provisioning
    return {
        "volume_backend_name": host,
        # the capabilities every Cinder driver reports, so types matching on them place
        "vendor_name": getattr(driver, "vendor_name", VENDOR_NAME),
        "driver_version": getattr(driver, "driver_version", DRIVER_VERSION),
        "storage_protocol": getattr(driver, "storage_protocol", STORAGE_PROTOCOL),
        "driver": driver.driver_name,
        "clone_mode": stats.clone_mode,
        "thin_provisioning": thin,
        "max_over_subscription_ratio": settings.max_over_subscription_ratio,
        "reserved_percentage": settings.reserved_percentage,
        "multiattach": True,  # every backend exports one volume to several attachments
        **stats.capabilities,
        **settings.capabilities,
    }


def limit_gb(settings: config.BackendSettings, stats: base.BackendStats) -> int:
    """GiB the scheduler may promise: capacity, times the over-subscription ratio on a
    thin backend, less the reserve."""
    total_gb = settings.capacity_gb or stats.total_bytes / base.GiB
    thin = settings.thin_provisioning and stats.thin_provisioning
    ratio = settings.max_over_subscription_ratio if thin else 1.0
    usable = 1 - settings.reserved_percentage / 100
    return int(total_gb * ratio * usable)
