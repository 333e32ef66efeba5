"""QoS specs: checks and changes of ``qos-specs`` (admins), and the rule of enforcement.

Specs are key/value strings with a consumer: ``front-end`` (the host that attaches the
volume enforces them: they are handed over in ``connection_info.qos_specs``, see
:func:`front_end_specs`), ``back-end`` (the backend enforces them) or ``both``.

The file backend enforces no back-end key: its bytes are read and written by whoever
attaches the volume (the local path, tgtd's iSCSI target), never through the backend, so
it has nowhere to throttle. Hence :data:`BACKEND_ENFORCED` is empty and specs whose
consumer is ``back-end`` or ``both`` are refused when associated with a volume type, and
such keys are refused on specs already associated: no type promises a limit nobody
enforces. A backend that can enforce keys (RBD's ``rbd_qos_*``) would list them there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import models, qos_specs, volume_types
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CONSUMERS = ("front-end", "back-end", "both")
DEFAULT_CONSUMER = "back-end"
BACKEND_ENFORCED: frozenset[str] = frozenset()
"""Back-end keys some served backend enforces (none: see the module's docstring)."""


def create(session: Session, context: RequestContext, body: Mapping[str, Any]) -> models.QosSpecs:
    """New QoS specs from ``{"name", "consumer", key: value...}``."""
    _require_admin(context)
    name = fields.text("name", body.get("name"))
    consumer = _consumer(body.get("consumer", DEFAULT_CONSUMER))
    specs = _specs({k: v for k, v in body.items() if k not in ("name", "consumer")})
    return qos_specs.create(session, name=name, consumer=consumer, specs=specs)


def set_keys(
    session: Session, context: RequestContext, qos_id: str, body: Mapping[str, Any]
) -> dict[str, str]:
    """Add or change keys (``consumer`` changes the consumer); returns what was given."""
    _require_admin(context)
    row = qos_specs.get(session, qos_id, for_update=True)
    consumer = _consumer(body["consumer"]) if "consumer" in body else row.consumer
    given = _specs({k: v for k, v in body.items() if k != "consumer"})
    specs = {**row.specs, **given}
    if qos_specs.associated_types(session, qos_id):
        _refuse_unenforced(consumer, specs)
    qos_specs.update(session, qos_id, consumer=consumer, specs=specs)
    return {**given, **({"consumer": consumer} if "consumer" in body else {})}


def unset_keys(session: Session, context: RequestContext, qos_id: str, keys: Any) -> None:
    """Remove keys; a key the specs lack is NotFound, and nothing changes."""
    _require_admin(context)
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise errors.InvalidInput(field="keys", reason="must be a list of key names")
    row = qos_specs.get(session, qos_id, for_update=True)
    missing = [key for key in keys if key not in row.specs]
    if missing:
        raise errors.MetadataKeyNotFound(kind="QoS specs", resource_id=qos_id, key=missing[0])
    specs = {k: v for k, v in row.specs.items() if k not in keys}
    qos_specs.update(session, qos_id, specs=specs)


def delete(session: Session, context: RequestContext, qos_id: str, *, force: bool) -> None:
    """Delete QoS specs; refused while a type uses them unless ``force`` (which also
    takes them from those types)."""
    _require_admin(context)
    qos_specs.get(session, qos_id, for_update=True)
    users = qos_specs.associated_types(session, qos_id)
    if users and not force:
        raise errors.Invalid(
            reason=f"QoS specs {qos_id} are associated with volume type(s) "
            f"{', '.join(t.name for t in users)}; disassociate them or delete with force"
        )
    qos_specs.delete(session, qos_id)


def associate(session: Session, context: RequestContext, qos_id: str, type_id: Any) -> None:
    """Give a volume type these QoS specs (it may have no other)."""
    _require_admin(context)
    row = qos_specs.get(session, qos_id, for_update=True)
    kind = _volume_type(session, type_id)
    current = qos_specs.of_type(session, kind.id)
    if current == qos_id:
        return
    if current is not None:
        raise errors.Invalid(
            reason=f"volume type {kind.id} already has QoS specs {current}; disassociate first"
        )
    _refuse_unenforced(row.consumer, row.specs)
    qos_specs.associate(session, qos_id, kind.id)


def disassociate(session: Session, context: RequestContext, qos_id: str, type_id: Any) -> None:
    """Take these QoS specs from a volume type."""
    _require_admin(context)
    qos_specs.get(session, qos_id)
    kind = _volume_type(session, type_id)
    if not qos_specs.disassociate(session, qos_id, kind.id):
        raise errors.NotFound(
            kind="Association of QoS specs", resource_id=f"{qos_id} with volume type {kind.id}"
        )


def front_end_specs(session: Session, volume_type_id: str | None) -> dict[str, str] | None:
    """The specs an attaching host enforces for a volume of this type (for
    ``connection_info.qos_specs``), or None."""
    qos_id = qos_specs.of_type(session, volume_type_id) if volume_type_id else None
    if qos_id is None:
        return None
    row = qos_specs.get(session, qos_id)
    return dict(row.specs) if row.consumer in ("front-end", "both") else None


def _refuse_unenforced(consumer: str, specs: Mapping[str, str]) -> None:
    if consumer == "front-end":
        return
    unenforced = sorted(set(specs) - BACKEND_ENFORCED)
    if unenforced:
        raise errors.InvalidInput(
            field="consumer",
            reason=f"{consumer!r} specs {', '.join(unenforced)} cannot be enforced: the file "
            "backend enforces no back-end QoS key; use consumer 'front-end'",
        )


def _volume_type(session: Session, type_id: Any) -> models.VolumeType:
    value = fields.reference("vol_type_id", type_id, reason="a volume type id is required")
    kind = volume_types.find(session, value)
    if kind is None:
        raise errors.VolumeTypeNotFound(volume_type=value)
    return kind


def _consumer(value: Any) -> str:
    if value not in CONSUMERS:
        raise errors.InvalidInput(field="consumer", reason=f"must be one of {', '.join(CONSUMERS)}")
    return str(value)


def _specs(given: Mapping[str, Any]) -> dict[str, str]:
    specs = {}
    for key, value in given.items():
        fields.text("key", key)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise errors.InvalidInput(field=key, reason="must be a string or a number")
        specs[key] = fields.text(key, str(value))
    return specs


def associations(session: Session, context: RequestContext, qos_id: str) -> Sequence[Any]:
    """The volume types that use the QoS specs (admins)."""
    _require_admin(context)
    qos_specs.get(session, qos_id)
    return qos_specs.associated_types(session, qos_id)


def _require_admin(context: RequestContext) -> None:
    if not context.is_admin:
        raise errors.Forbidden(action="manage QoS specs")
