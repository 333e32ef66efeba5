"""Requests that address a volume or snapshot with an empty id (``/volumes/``): 404, as
Cinder answers them, instead of a redirect to the list."""

from __future__ import annotations

from fastapi import APIRouter

from hearth import errors

router = APIRouter(include_in_schema=False)


@router.api_route("/volumes/", methods=["GET", "PUT", "DELETE"])
def volume_without_id() -> None:
    """No volume has the empty id."""
    raise errors.VolumeNotFound(volume_id="''")


@router.api_route("/snapshots/", methods=["GET", "PUT", "DELETE"])
def snapshot_without_id() -> None:
    """No snapshot has the empty id."""
    raise errors.SnapshotNotFound(snapshot_id="''")
