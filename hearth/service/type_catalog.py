"""Changes to volume types as Cinder's types API has them: update (name, description,
``is_public``), one extra spec at a time, project access to private types
(``os-volume-type-access``), encryption types and per-project default types (3.62).

All of them are for admins. Each check runs before anything is written, in the transaction
that then writes, so a refused request changes nothing. ``TypeCatalog`` is the facade's
part (``Hearth`` inherits it); the checks below it take a session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import encryption_types, models, type_access, volume_types
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hearth.service.wiring import Services

CONTROL_LOCATIONS = ("front-end", "back-end")
ENCRYPTION_FIELDS = ("provider", "cipher", "key_size", "control_location")


class TypeCatalog:
    """The facade's volume type changes (``services`` and ``context`` come from Hearth)."""

    services: Services
    context: RequestContext

    def update_volume_type(
        self, name_or_id: str, changes: Mapping[str, Any], *, context: RequestContext | None = None
    ) -> models.VolumeType:
        """Change a type's name, description or ``is_public`` (admins only)."""
        with self.services.db.transaction() as session:
            return update_type(session, context or self.context, name_or_id, changes)

    def set_extra_spec(
        self, name_or_id: str, key: str, body: Any, *, context: RequestContext | None = None
    ) -> dict[str, str]:
        """Set one extra spec from a ``{key: value}`` body (admins only); returns it."""
        with self.services.db.transaction() as session:
            return set_one_extra_spec(session, context or self.context, name_or_id, key, body)

    def type_access(
        self, name_or_id: str, *, context: RequestContext | None = None
    ) -> tuple[models.VolumeType, Sequence[str]]:
        """A private type and the projects that may use it (admins only)."""
        with self.services.db.read() as session:
            found = _private_type(session, context or self.context, name_or_id, listing=True)
            return found, type_access.projects(session, found.id)

    def change_type_access(
        self, name_or_id: str, project: Any, *, grant: bool, context: RequestContext | None = None
    ) -> None:
        """Give (``grant``) or take a project's access to a private type (admins only)."""
        with self.services.db.transaction() as session:
            found = _private_type(session, context or self.context, name_or_id, listing=False)
            project_id = fields.reference("project", project, reason="must be a project id")
            change = type_access.add if grant else type_access.remove
            change(session, found.id, project_id)

    def encryption(
        self, name_or_id: str, *, context: RequestContext | None = None
    ) -> tuple[models.VolumeType, models.EncryptionType | None]:
        """A type and its encryption, if it has one (admins only)."""
        with self.services.db.read() as session:
            found = _admin_type(session, context or self.context, name_or_id, "see encryption")
            return found, encryption_types.find(session, found.id)

    def set_encryption(
        self,
        name_or_id: str,
        body: Mapping[str, Any],
        *,
        encryption_id: str | None = None,
        context: RequestContext | None = None,
    ) -> models.EncryptionType:
        """Create (no ``encryption_id``) or update a type's encryption (admins only)."""
        with self.services.db.transaction() as session:
            return set_encryption(session, context or self.context, name_or_id, body, encryption_id)

    def delete_encryption(
        self, name_or_id: str, encryption_id: str, *, context: RequestContext | None = None
    ) -> None:
        """Remove a type's encryption while no volume uses the type (admins only)."""
        with self.services.db.transaction() as session:
            found = _admin_type(session, context or self.context, name_or_id, "change encryption")
            _unused(session, found, "its encryption cannot be removed")
            encryption_types.delete(session, found.id, encryption_id)


def update_type(
    session: Session, context: RequestContext, name_or_id: str, changes: Mapping[str, Any]
) -> models.VolumeType:
    """Check and apply a type update; answers the updated row."""
    found = _admin_type(session, context, name_or_id, "change volume types")
    known = {key: changes[key] for key in ("name", "description", "is_public") if key in changes}
    if not any(value is not None for value in known.values()):
        raise errors.InvalidInput(
            field="volume_type", reason="give a name, a description or is_public (or several)"
        )
    changed: dict[str, Any] = {}
    if known.get("name") is not None:
        name = fields.text("name", known["name"].strip() if isinstance(known["name"], str) else 0)
        other = volume_types.find(session, name)
        if other is not None and other.id != found.id:
            raise errors.DuplicateName(kind="A volume type", name=name)
        changed["name"] = name
    if known.get("description") is not None:
        changed["description"] = fields.optional_text("description", known["description"])
    if known.get("is_public") is not None:
        changed["is_public"] = boolean("is_public", known["is_public"])
    volume_types.update(session, found.id, **changed)
    return volume_types.get(session, found.id)


def set_one_extra_spec(
    session: Session, context: RequestContext, name_or_id: str, key: str, body: Any
) -> dict[str, str]:
    """Check a ``{key: value}`` body against the key in the path and store it."""
    found = _admin_type(session, context, name_or_id, "change volume types")
    if not isinstance(body, dict) or key not in body:
        raise errors.InvalidInput(field=key, reason="the body must be {key: value} for the key")
    if len(body) > 1:
        raise errors.InvalidInput(field="extra_specs", reason="the body must hold one item only")
    given = fields.metadata("extra_specs", body)
    volume_types.update(session, found.id, extra_specs={**found.extra_specs, **given})
    return given


def set_encryption(
    session: Session,
    context: RequestContext,
    name_or_id: str,
    body: Mapping[str, Any],
    encryption_id: str | None,
) -> models.EncryptionType:
    """Check and store an encryption create (``encryption_id`` None) or update."""
    found = _admin_type(session, context, name_or_id, "change encryption")
    _unused(session, found, "its encryption cannot change")
    unknown = sorted(set(body) - set(ENCRYPTION_FIELDS))
    if unknown:
        raise errors.InvalidInput(field=unknown[0], reason="is not an encryption field")
    checked = _encryption_fields(body, creating=encryption_id is None)
    if encryption_id is None:
        return encryption_types.create(session, found.id, **checked)
    encryption_types.update(session, found.id, encryption_id, **checked)
    return encryption_types.get(session, found.id, encryption_id)


def _encryption_fields(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    if creating or "provider" in body:
        checked["provider"] = fields.text("provider", body.get("provider"))
    if "cipher" in body:
        checked["cipher"] = fields.optional_text("cipher", body["cipher"])
    if "key_size" in body:
        size = body["key_size"]
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise errors.InvalidInput(field="key_size", reason="must be a positive integer")
        checked["key_size"] = size
    if creating or "control_location" in body:
        location = body.get("control_location", "front-end")
        if location not in CONTROL_LOCATIONS:
            raise errors.InvalidInput(
                field="control_location", reason=f"must be one of {list(CONTROL_LOCATIONS)}"
            )
        checked["control_location"] = location
    return checked


def boolean(field: str, value: Any) -> bool:
    """A flag as Cinder takes it: a JSON boolean or the strings true/false (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise errors.InvalidInput(field=field, reason="must be true or false")


def _admin_type(
    session: Session, context: RequestContext, name_or_id: str, action: str
) -> models.VolumeType:
    if not context.is_admin:
        raise errors.Forbidden(action=action)
    return volume_types.get(session, name_or_id)


def _private_type(
    session: Session, context: RequestContext, name_or_id: str, *, listing: bool
) -> models.VolumeType:
    found = _admin_type(session, context, name_or_id, "manage volume type access")
    if found.is_public and listing:
        raise errors.NotFound(kind="Access list of public volume type", resource_id=found.id)
    if found.is_public:
        raise errors.InvalidInput(
            field="volume_type", reason="access applies to private volume types only"
        )
    return found


def _unused(session: Session, volume_type: models.VolumeType, consequence: str) -> None:
    if volume_types.count_volumes(session, volume_type.id):
        raise errors.InvalidInput(
            field="volume_type", reason=f"{volume_type.name} is used by volumes: {consequence}"
        )
