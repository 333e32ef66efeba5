"""Image rows: the image store's metadata. A project sees its own images and public ones."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models, rows
from hearth.db.statuses import CREATE_IN_PROGRESS

Image = models.Image
PUBLIC = "public"
PRIVATE = "private"


def create(session: Session, **fields: Any) -> Image:
    """Insert an image row and return it (its id is filled in)."""
    return rows.insert(session, Image, fields)


def find(session: Session, image_id: str, *, project_id: str | None = None) -> Image | None:
    """The image, or None. With ``project_id``, only an image that project may see."""
    image = session.get(Image, image_id)
    if image is None or not _visible(image, project_id):
        return None
    return image


def get(session: Session, image_id: str, *, project_id: str | None = None) -> Image:
    """The image; raises ImageNotFound (also for another project's private image)."""
    image = find(session, image_id, project_id=project_id)
    if image is None:
        raise errors.ImageNotFound(image_id=image_id)
    return image


def get_for_update(session: Session, image_id: str, *, project_id: str | None = None) -> Image:
    """The image, row-locked until the transaction ends: a delete and a create from the
    image take this lock, so they cannot pass each other's checks."""
    query = sa.select(Image).where(Image.id == image_id).with_for_update()
    image = session.scalars(query).one_or_none()
    if image is None or not _visible(image, project_id):
        raise errors.ImageNotFound(image_id=image_id)
    return image


def find_all(
    session: Session,
    *,
    project_id: str | None = None,
    name: str | None = None,
    statuses: Collection[str] | None = None,
) -> Sequence[Image]:
    """Images matching every given filter, oldest first; with ``project_id``, only those
    that project may see (its own and public ones)."""
    query = sa.select(Image).order_by(Image.created_at, Image.id)
    if project_id is not None:
        query = query.where(sa.or_(Image.owner == project_id, Image.visibility == PUBLIC))
    if name is not None:
        query = query.where(Image.name == name)
    if statuses is not None:
        query = query.where(Image.status.in_(list(statuses)))
    return session.scalars(query).all()


def count_creating_volumes(session: Session, image_id: str) -> int:
    """How many volumes are being created from the image right now."""
    query = (
        sa.select(sa.func.count())
        .select_from(models.Volume)
        .where(models.Volume.image_id == image_id, models.Volume.status.in_(CREATE_IN_PROGRESS))
    )
    return int(session.scalar(query) or 0)


def update(session: Session, image_id: str, **fields: Any) -> None:
    """Change fields of an image (and ``updated_at``); raises ImageNotFound when gone."""
    if not rows.update_by_id(session, Image, image_id, fields):
        raise errors.ImageNotFound(image_id=image_id)


def set_status(
    session: Session,
    image_id: str,
    status: str,
    *,
    expected: Collection[str] | None = None,
    **fields: Any,
) -> bool:
    """Compare-and-set the status (and other fields); False when gone or not ``expected``."""
    return rows.compare_and_set_status(session, Image, image_id, status, expected, fields)


def delete(session: Session, image_id: str) -> None:
    """Remove the row (a no-op when it is already gone)."""
    rows.delete(session, Image, image_id)


def _visible(image: Image, project_id: str | None) -> bool:
    return project_id is None or image.owner == project_id or image.visibility == PUBLIC
