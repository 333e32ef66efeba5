"""API versions: the version documents and microversion negotiation.

A request names its microversion in ``OpenStack-API-Version: volume 3.x`` (no header means
3.0, ``latest`` the highest served); the answer repeats it. ``MAX`` is the highest
microversion whose behaviour Hearth honours for every route it serves: see
``docs/architecture.md`` for what each step up to it changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hearth import errors

HEADER = "OpenStack-API-Version"
SERVICE = "volume"
UPDATED = "2026-11-25T00:00:00Z"
_FORMAT = re.compile(r"([1-9][0-9]*)\.(0|[1-9][0-9]*)")  # ASCII digits: \d is any script's
_MAX_DIGITS = 9
"""Longer parts name no version Hearth serves (and ``int()`` refuses thousands of digits)."""


@dataclass(frozen=True, order=True)
class Version:
    """A microversion, ordered as numbers (3.10 > 3.9)."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """``3.14`` → Version(3, 14); raises InvalidInput for anything else."""
        match = _FORMAT.fullmatch(text.strip())
        if match is None:
            raise errors.InvalidInput(
                field=HEADER, reason=f"{text!r} is not a version like '3.0' or 'latest'"
            )
        if max(len(part) for part in match.groups()) > _MAX_DIGITS:
            shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:37] + "..."
            raise errors.VersionNotAcceptable(version=shown, minimum=str(MIN), maximum=str(MAX))
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


MIN = Version(3, 0)
MAX = Version(3, 47)

# Microversions that change what Hearth's routes do, named as Cinder names them.
MESSAGES = Version(3, 3)
MESSAGES_PAGINATION = Version(3, 5)
VOLUME_SUMMARY = Version(3, 12)
GROUP_VOLUME = Version(3, 13)
GROUP_SNAPSHOTS = Version(3, 14)
VOLUME_DETAIL_PROVIDER_ID = Version(3, 21)
SNAPSHOT_LIST_METADATA_FILTER = Version(3, 22)
SNAPSHOT_SORT_BY_NAME = Version(3, 30)
VOLUME_CREATE_FROM_BACKUP = Version(3, 47)
BACKUP_UPDATE = Version(3, 9)
BACKUP_PROJECT_ATTRIBUTE = Version(3, 18)
BACKUP_METADATA = Version(3, 43)
"""Above ``MAX`` for now: honoured once ``MAX`` reaches it (tests raise ``MAX``)."""
BACKUP_COUNT = Version(3, 45)
BACKUP_AVAILABILITY_ZONE = Version(3, 51)
BACKUP_USER_ID = Version(3, 56)
NEW_ATTACH = Version(3, 27)
"""The attachments API (``/attachments``); its ``os-complete`` (3.44 in Cinder) and
``mode`` (3.54) are served from 3.27 while ``MAX`` is below them."""


def negotiate(header: str | None) -> Version:
    """The microversion a request asks for; raises VersionNotAcceptable out of range."""
    wanted = _volume_entry(header)
    if wanted is None:
        return MIN
    if wanted.lower() == "latest":
        return MAX
    version = Version.parse(wanted)
    if not MIN <= version <= MAX:
        raise errors.VersionNotAcceptable(version=str(version), minimum=str(MIN), maximum=str(MAX))
    return version


def _volume_entry(header: str | None) -> str | None:
    """The volume service's entry of a header like ``volume 3.5, compute 2.1``."""
    for entry in (header or "").split(","):
        service, _, value = entry.strip().partition(" ")
        if service.lower() == SERVICE:
            return value.strip()
    return None


def document(base_url: str) -> dict[str, Any]:
    """The v3 version document."""
    return {
        "id": "v3.0",
        "status": "CURRENT",
        "version": str(MAX),
        "min_version": str(MIN),
        "updated": UPDATED,
        "links": [
            {
                "rel": "describedby",
                "type": "text/html",
                "href": "https://docs.openstack.org/api-ref/block-storage/v3/",
            },
            {"rel": "self", "href": f"{base_url}/v3/"},
        ],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}
        ],
    }


VOLUME_REVERT = Version(3, 40)
VOLUME_REIMAGE = Version(3, 68)
