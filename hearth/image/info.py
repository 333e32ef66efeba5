"""What the create path knows of an image: a frozen value read from its row.

``ExtractVolumeSpecTask`` reads the image row into an :class:`ImageInfo` and puts it in the
volume spec; the fetcher, the inspector, the converter and the cache work from that value,
never from a database row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hearth.db import models

GiB = 1 << 30
RESERVED_PROPERTIES = frozenset(
    {
        "id",
        "name",
        "status",
        "visibility",
        "protected",
        "os_hidden",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "size",
        "virtual_size",
        "disk_format",
        "container_format",
        "min_disk",
        "min_ram",
        "owner",
        "tags",
        "created_at",
        "updated_at",
        "deleted",
        "deleted_at",
        "locations",
        "direct_url",
        "self",
        "file",
        "schema",
    }
)
"""Names of an image's own attributes (Glance's core properties): an extra property of one
of these names never reaches a volume's image metadata."""


@dataclass(frozen=True)
class ImageInfo:
    """An active image, as recorded when it was stored."""

    id: str
    name: str | None
    disk_format: str
    container_format: str
    size: int
    """Bytes of the stored file."""
    virtual_size: int
    """Bytes of the disk it describes."""
    checksum: str
    """MD5 of the stored file, hex."""
    os_hash_algo: str | None
    os_hash_value: str | None
    min_disk: int
    min_ram: int
    updated_at: datetime
    properties: Mapping[str, str] = field(default_factory=dict, hash=False)
    """The image's extra properties (``os_distro``, ``hw_disk_bus``, ...)."""

    @property
    def virtual_size_gb(self) -> int:
        """The smallest number of whole GiB that holds the image's disk."""
        return max(math.ceil(self.virtual_size / GiB), 1)

    @property
    def min_volume_gb(self) -> int:
        """The smallest volume a create from the image may ask for (at least min_disk)."""
        return max(self.virtual_size_gb, self.min_disk)

    @property
    def fingerprint(self) -> str:
        """The strongest recorded hash of its bytes (what a cache entry was made from)."""
        return self.os_hash_value or self.checksum

    def volume_metadata(self) -> dict[str, Any]:
        """The image metadata a volume made from it records (Cinder's
        ``volume_glance_metadata``): its extra properties but the reserved ones, under the
        image's own attributes (which a property never replaces)."""
        extra = {
            key: value
            for key, value in self.properties.items()
            if key not in RESERVED_PROPERTIES and value is not None
        }
        return extra | {
            "image_id": self.id,
            "image_name": self.name,
            "checksum": self.checksum,
            "container_format": self.container_format,
            "disk_format": self.disk_format,
            "min_disk": self.min_disk,
            "min_ram": self.min_ram,
            "size": self.size,
        }


def from_row(row: models.Image) -> ImageInfo:
    """The value of an active image row (its size, hashes and virtual size are set)."""
    assert row.size is not None and row.virtual_size is not None and row.checksum is not None
    return ImageInfo(
        id=row.id,
        name=row.name,
        disk_format=row.disk_format,
        container_format=row.container_format,
        size=row.size,
        virtual_size=row.virtual_size,
        checksum=row.checksum,
        os_hash_algo=row.os_hash_algo,
        os_hash_value=row.os_hash_value,
        min_disk=row.min_disk,
        min_ram=row.min_ram,
        updated_at=row.updated_at or row.created_at,
        properties=dict(row.properties or {}),
    )
