"""Quotas: which limits apply to a project, their enforcement, and the quota-set documents.

A limit is the project's own (``os-quota-sets`` update), else the ``default`` quota
class's (``os-quota-class-sets``), else ``[quotas]`` of the settings; per-type resources
(``volumes_<type>``, ``snapshots_<type>``, ``gigabytes_<type>``) default to unlimited.
The request layer charges a new row's usage with the row (``hearth.db.quota_usages``) and
then calls :func:`enforce` in the same transaction: over a limit, QuotaExceeded (413)
names the resource and the transaction rolls back, row and usage together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hearth import config, errors
from hearth.context import RequestContext
from hearth.db import quota_usages, quotas, volume_types
from hearth.service import fields

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

BASE_RESOURCES = (
    "volumes",
    "snapshots",
    "gigabytes",
    "backups",
    "backup_gigabytes",
    "groups",
    "per_volume_gigabytes",
)
PER_TYPE = ("volumes", "snapshots", "gigabytes")
NOT_COUNTED = frozenset({"per_volume_gigabytes"})
"""A limit on each request, not on a sum: it has no usage."""
DEFAULT_CLASS = "default"
IGNORED_KEYS = frozenset({"id", "tenant_id", "skip_validation", "class_name"})
"""Keys of an update body that are not resources (as Cinder's)."""


def resources(session: Session) -> list[str]:
    """Every quota resource: the base ones and three per volume type."""
    names = list(BASE_RESOURCES)
    for kind in volume_types.find_all(session):
        names += [f"{resource}_{kind.name}" for resource in PER_TYPE]
    return names


def defaults(session: Session, settings: config.QuotaSettings) -> dict[str, int]:
    """The default limits of every resource: the ``default`` class over the settings."""
    configured = settings.model_dump()
    chosen = {name: int(configured.get(name, -1)) for name in resources(session)}
    chosen |= {
        name: value
        for name, value in quotas.class_limits(session, DEFAULT_CLASS).items()
        if name in chosen
    }
    return chosen


def limits(session: Session, settings: config.QuotaSettings, project_id: str) -> dict[str, int]:
    """The limits that apply to the project."""
    chosen = defaults(session, settings)
    chosen |= {
        name: value
        for name, value in quotas.project_limits(session, project_id).items()
        if name in chosen
    }
    return chosen


def limit_of(
    session: Session, settings: config.QuotaSettings, project_id: str, resource: str
) -> int:
    """One resource's limit for the project (-1: unlimited)."""
    own = quotas.project_limits(session, project_id)
    if resource in own:
        return own[resource]
    default = quotas.class_limits(session, DEFAULT_CLASS)
    if resource in default:
        return default[resource]
    return int(settings.model_dump().get(resource, -1))


def enforce(
    session: Session, settings: config.QuotaSettings, project_id: str, deltas: Mapping[str, int]
) -> None:
    """Refuse (QuotaExceeded) if the project's usage, already charged with ``deltas`` in
    this transaction, is over a limit of a resource that grew."""
    grown = [name for name, delta in deltas.items() if delta > 0]
    if not grown:
        return
    own = quotas.project_limits(session, project_id)
    default = quotas.class_limits(session, DEFAULT_CLASS)
    configured = settings.model_dump()
    usage = quota_usages.find(session, project_id)
    for name in sorted(grown):
        limit = own.get(name, default.get(name, int(configured.get(name, -1))))
        in_use, reserved = usage.get(name, (0, 0))
        if limit >= 0 and in_use + reserved > limit:
            raise errors.QuotaExceeded(
                resource=name,
                requested=deltas[name],
                used=in_use + reserved - deltas[name],
                limit=limit,
                project_id=project_id,
            )


def check_volume_size(
    session: Session, settings: config.QuotaSettings, project_id: str, size: int
) -> None:
    """Refuse a volume larger than the project's ``per_volume_gigabytes``."""
    limit = limit_of(session, settings, project_id, "per_volume_gigabytes")
    if limit >= 0 and size > limit:
        raise errors.QuotaExceeded(
            resource="per_volume_gigabytes",
            requested=size,
            used=0,
            limit=limit,
            project_id=project_id,
        )


def show(
    session: Session,
    settings: config.QuotaSettings,
    context: RequestContext,
    project_id: str,
    *,
    usage: bool = False,
) -> dict[str, Any]:
    """A project's quota set (its own project for members, any for admins): limits, or
    with ``usage`` each as ``{limit, in_use, reserved, allocated}``."""
    if not context.is_admin and project_id != context.project_id:
        raise errors.Forbidden(action="see another project's quotas")
    chosen = limits(session, settings, project_id)
    if not usage:
        return dict(chosen)
    used = quota_usages.find(session, project_id)
    return {
        name: {
            "limit": limit,
            "in_use": used.get(name, (0, 0))[0],
            "reserved": used.get(name, (0, 0))[1],
            "allocated": 0,  # nested (hierarchical) quotas: Hearth's projects are flat
        }
        for name, limit in chosen.items()
    }


def update(
    session: Session,
    settings: config.QuotaSettings,
    context: RequestContext,
    project_id: str,
    changes: Mapping[str, Any],
) -> dict[str, int]:
    """Set some of a project's limits (admins); returns its limits afterwards. With
    ``skip_validation: false``, a limit below what the project uses is refused."""
    _require_admin(context, "change quotas")
    chosen = _checked(session, changes)
    if not _flag(changes.get("skip_validation", True)):
        used = quota_usages.find(session, project_id)
        for name, limit in chosen.items():
            in_use, reserved = used.get(name, (0, 0))
            if 0 <= limit < in_use + reserved and name not in NOT_COUNTED:
                raise errors.InvalidInput(
                    field=name,
                    reason=f"must be at least the {in_use + reserved} in use or reserved",
                )
    quotas.set_project_limits(session, project_id, chosen)
    return limits(session, settings, project_id)


def reset(session: Session, context: RequestContext, project_id: str) -> None:
    """Remove a project's own limits: the defaults apply again (admins)."""
    _require_admin(context, "change quotas")
    quotas.delete_project_limits(session, project_id)


def class_set(
    session: Session, settings: config.QuotaSettings, context: RequestContext, class_name: str
) -> dict[str, int]:
    """A quota class's limits (admins); ``default`` is every project's defaults."""
    _require_admin(context, "see quota classes")
    fields.text("class_name", class_name)
    if class_name == DEFAULT_CLASS:
        return defaults(session, settings)
    base = {name: int(value) for name, value in settings.model_dump().items()}
    chosen = {name: base.get(name, -1) for name in resources(session)}
    return chosen | quotas.class_limits(session, class_name)


def update_class(
    session: Session,
    settings: config.QuotaSettings,
    context: RequestContext,
    class_name: str,
    changes: Mapping[str, Any],
) -> dict[str, int]:
    """Set some of a quota class's limits (admins); returns the class's limits."""
    _require_admin(context, "change quota classes")
    fields.text("class_name", class_name)
    quotas.set_class_limits(session, class_name, _checked(session, changes))
    return class_set(session, settings, context, class_name)


def _checked(session: Session, changes: Mapping[str, Any]) -> dict[str, int]:
    known = resources(session)
    chosen: dict[str, int] = {}
    for name, value in changes.items():
        if name in IGNORED_KEYS:
            continue
        if name not in known:
            raise errors.InvalidInput(
                field=name, reason=f"is not a quota resource; known: {', '.join(known)}"
            )
        chosen[name] = fields.integer(name, value, minimum=-1)
    return chosen


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise errors.InvalidInput(field="skip_validation", reason="must be true or false")


def _require_admin(context: RequestContext, action: str) -> None:
    if not context.is_admin:
        raise errors.Forbidden(action=action)
