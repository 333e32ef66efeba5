"""QoS specs rows and their associations with volume types (a type has at most one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hearth import errors
from hearth.db import models

QosSpecs = models.QosSpecs
Association = models.QosAssociation


def create(session: Session, *, name: str, consumer: str, specs: Mapping[str, str]) -> QosSpecs:
    """Insert QoS specs; DuplicateName when the name is taken."""
    if session.scalar(sa.select(QosSpecs.id).where(QosSpecs.name == name)) is not None:
        raise errors.DuplicateName(kind="QoS specs", name=name)
    row = QosSpecs(name=name, consumer=consumer, specs=dict(specs))
    session.add(row)
    session.flush()
    return row


def get(session: Session, qos_id: str, *, for_update: bool = False) -> QosSpecs:
    """The QoS specs; raises NotFound."""
    query = sa.select(QosSpecs).where(QosSpecs.id == qos_id)
    row = session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if row is None:
        raise errors.NotFound(kind="QoS specs", resource_id=qos_id)
    return row


def find_all(session: Session) -> Sequence[QosSpecs]:
    """Every QoS specs, by name."""
    return session.scalars(sa.select(QosSpecs).order_by(QosSpecs.name, QosSpecs.id)).all()


def update(session: Session, qos_id: str, **fields: Any) -> None:
    """Change the row's fields (``specs`` replaced whole)."""
    session.execute(
        sa.update(QosSpecs)
        .where(QosSpecs.id == qos_id)
        .values(updated_at=models.utcnow(), **fields)
        .execution_options(synchronize_session="evaluate")
    )


def delete(session: Session, qos_id: str) -> None:
    """Remove the QoS specs and their associations."""
    disassociate_all(session, qos_id)
    session.execute(sa.delete(QosSpecs).where(QosSpecs.id == qos_id))


def associated_types(session: Session, qos_id: str) -> Sequence[models.VolumeType]:
    """The volume types that use the QoS specs."""
    query = (
        sa.select(models.VolumeType)
        .join(Association, Association.volume_type_id == models.VolumeType.id)
        .where(Association.qos_specs_id == qos_id)
        .order_by(models.VolumeType.name)
    )
    return session.scalars(query).all()


def of_type(session: Session, volume_type_id: str) -> str | None:
    """The id of a volume type's QoS specs, or None."""
    return session.scalar(
        sa.select(Association.qos_specs_id).where(Association.volume_type_id == volume_type_id)
    )


def associate(session: Session, qos_id: str, volume_type_id: str) -> None:
    """Give the type these QoS specs (the caller checked it had none)."""
    session.add(Association(volume_type_id=volume_type_id, qos_specs_id=qos_id))
    session.flush()


def disassociate(session: Session, qos_id: str, volume_type_id: str) -> bool:
    """Take the QoS specs from the type; False when it did not have them."""
    result = session.execute(
        sa.delete(Association).where(
            Association.qos_specs_id == qos_id, Association.volume_type_id == volume_type_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def disassociate_all(session: Session, qos_id: str) -> None:
    """Take the QoS specs from every type."""
    session.execute(sa.delete(Association).where(Association.qos_specs_id == qos_id))
