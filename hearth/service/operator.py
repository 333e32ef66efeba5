"""The operator's part of the library facade: quotas, services, pools and hosts, zones, QoS.

``Hearth`` (``facade``) inherits these operations, as it inherits ``catalog``'s: each reads
or writes rows through a service module in one transaction (``quotas``, ``service_rows``,
``qos``) and casts nothing. The checks (admins only, names, values) live in those modules,
so the CLI and the HTTP API refuse the same input with the same message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import backends, models, qos_specs, quota_usages, services, snapshots, volumes
from hearth.db import transfers as db_transfers
from hearth.service import heartbeats, qos, quotas, service_rows, transfers, wiring


@dataclass(frozen=True)
class ServiceState:
    """A service row and whether its heartbeat is fresh."""

    row: models.ServiceRow
    up: bool


@dataclass(frozen=True)
class HostUsage:
    """What one project (or ``(total)``) holds on a backend."""

    project: str
    volume_count: int
    total_volume_gb: int
    snapshot_count: int
    total_snapshot_gb: int


class Operator:
    """Hearth's operator operations."""

    services: wiring.Services
    context: RequestContext

    # quotas

    def quota_set(
        self, project_id: str, *, usage: bool = False, context: RequestContext | None = None
    ) -> dict[str, Any]:
        """A project's limits (with ``usage``: limit, in_use, reserved, allocated each)."""
        with self.services.db.read() as session:
            return quotas.show(
                session, self._quota_settings, context or self.context, project_id, usage=usage
            )

    def quota_defaults(self) -> dict[str, int]:
        """The limits a project without its own has."""
        with self.services.db.read() as session:
            return quotas.defaults(session, self._quota_settings)

    def update_quota_set(
        self, project_id: str, changes: Mapping[str, Any], *, context: RequestContext | None = None
    ) -> dict[str, int]:
        """Set some of a project's limits (admins); returns all of them."""
        with self.services.db.transaction() as session:
            return quotas.update(
                session, self._quota_settings, context or self.context, project_id, changes
            )

    def reset_quota_set(self, project_id: str, *, context: RequestContext | None = None) -> None:
        """Give a project the default limits again (admins)."""
        with self.services.db.transaction() as session:
            quotas.reset(session, context or self.context, project_id)

    def quota_class_set(
        self, class_name: str, *, context: RequestContext | None = None
    ) -> dict[str, int]:
        """A quota class's limits (admins)."""
        with self.services.db.read() as session:
            return quotas.class_set(
                session, self._quota_settings, context or self.context, class_name
            )

    def update_quota_class_set(
        self, class_name: str, changes: Mapping[str, Any], *, context: RequestContext | None = None
    ) -> dict[str, int]:
        """Set some of a quota class's limits (admins; ``default``: everyone's defaults)."""
        with self.services.db.transaction() as session:
            return quotas.update_class(
                session, self._quota_settings, context or self.context, class_name, changes
            )

    def check_quotas(
        self, *, sync: bool = False, project_id: str | None = None
    ) -> list[quota_usages.Difference]:
        """Usage counters that differ from a recount of the rows (none, unless something
        bypassed Hearth); with ``sync``, set them to the recount."""
        if sync:
            with self.services.db.transaction() as session:
                return quota_usages.sync(session, project_id)
        with self.services.db.read() as session:
            return quota_usages.differences(session, project_id)

    def absolute_limits(
        self, *, context: RequestContext | None = None
    ) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
        """The caller's project's limits and usage (resource -> (in_use, reserved))."""
        project = (context or self.context).project_id
        with self.services.db.read() as session:
            limits = quotas.limits(session, self._quota_settings, project)
            return limits, quota_usages.find(session, project)

    @property
    def _quota_settings(self) -> Any:
        return self.services.settings.quotas

    # services

    def list_services(
        self, *, binary: Any = None, host: Any = None, context: RequestContext | None = None
    ) -> list[ServiceState]:
        """Every service (admins), with whether it is up."""
        with self.services.db.read() as session:
            rows = service_rows.find(session, context or self.context, binary=binary, host=host)
        return [ServiceState(row, self._is_up(row.reported_at)) for row in rows]

    def set_service_enabled(
        self,
        body: Mapping[str, Any],
        *,
        enabled: bool,
        with_reason: bool = False,
        context: RequestContext | None = None,
    ) -> models.ServiceRow:
        """Enable or disable the service ``body`` names by ``host`` and ``binary``."""
        with self.services.db.transaction() as session:
            return service_rows.set_enabled(
                session, context or self.context, body, enabled=enabled, with_reason=with_reason
            )

    def set_backend_frozen(
        self, body: Mapping[str, Any], *, frozen: bool, context: RequestContext | None = None
    ) -> models.ServiceRow:
        """Freeze or thaw the backend ``body["host"]``."""
        with self.services.db.transaction() as session:
            return service_rows.set_frozen(session, context or self.context, body, frozen=frozen)

    def set_log_levels(
        self, body: Mapping[str, Any], *, context: RequestContext | None = None
    ) -> None:
        """Set a logger prefix's level on the matching services (applied here at once,
        by other processes at their next heartbeat)."""
        with self.services.db.transaction() as session:
            rows = service_rows.set_log(session, context or self.context, body)
        mine = {(binary, host) for binary, host, _ in _roles(self.services)}
        for row in rows:
            if (row.binary, row.host) in mine:
                service_rows.apply_levels({**row.log_levels, _prefix(body): body["level"].upper()})

    def get_log_levels(
        self, body: Mapping[str, Any], *, context: RequestContext | None = None
    ) -> list[dict[str, Any]]:
        """The log levels of the matching services."""
        with self.services.db.read() as session:
            return service_rows.get_log(session, context or self.context, body)

    def _is_up(self, reported_at: Any) -> bool:
        if reported_at is None:
            return False
        age = (models.utcnow() - reported_at).total_seconds()
        return bool(age <= self.services.settings.scheduler.backend_down_after)

    # pools, hosts, zones

    def list_pools(self, *, context: RequestContext | None = None) -> Sequence[models.Backend]:
        """Every backend's last report (admins): Hearth's pools are its backends."""
        _require_admin(context or self.context, "see pools")
        with self.services.db.read() as session:
            return backends.find_all(session)

    def backend_report(self, host: str, *, context: RequestContext | None = None) -> models.Backend:
        """One backend's last report (admins); NotFound when it never reported."""
        _require_admin(context or self.context, "see capabilities")
        with self.services.db.read() as session:
            row = session.get(models.Backend, host)
        if row is None:
            raise errors.NotFound(kind="Host", resource_id=host)
        return row

    def host_usage(self, host: str, *, context: RequestContext | None = None) -> list[HostUsage]:
        """What each project holds on a volume host, the total first (admins)."""
        _require_admin(context or self.context, "see hosts")
        with self.services.db.read() as session:
            services.get(session, services.VOLUME, host)
            held = volumes.find_all(session, host=host)
            snaps = [s for v in held for s in _snapshots(session, v.id)]
        projects = sorted({v.project_id for v in held})
        return [_usage("(total)", held, snaps)] + [
            _usage(
                project,
                [v for v in held if v.project_id == project],
                [s for s in snaps if s.project_id == project],
            )
            for project in projects
        ]

    def availability_zones(self) -> list[tuple[str, bool]]:
        """Each zone of a volume service, and whether one enabled service there is up."""
        with self.services.db.read() as session:
            rows = services.find_all(session, binary=services.VOLUME)
        zones: dict[str, bool] = {}
        for row in rows:
            alive = self._is_up(row.reported_at) and not row.disabled
            zones[row.availability_zone] = zones.get(row.availability_zone, False) or alive
        return sorted(zones.items())

    # QoS specs

    def create_qos_specs(
        self, body: Mapping[str, Any], *, context: RequestContext | None = None
    ) -> models.QosSpecs:
        """New QoS specs (admins)."""
        with self.services.db.transaction() as session:
            return qos.create(session, context or self.context, body)

    def list_qos_specs(self, *, context: RequestContext | None = None) -> Sequence[models.QosSpecs]:
        """Every QoS specs (admins)."""
        _require_admin(context or self.context, "manage QoS specs")
        with self.services.db.read() as session:
            return qos_specs.find_all(session)

    def get_qos_specs(
        self, qos_id: str, *, context: RequestContext | None = None
    ) -> models.QosSpecs:
        """One QoS specs (admins)."""
        _require_admin(context or self.context, "manage QoS specs")
        with self.services.db.read() as session:
            return qos_specs.get(session, qos_id)

    def set_qos_keys(
        self, qos_id: str, body: Mapping[str, Any], *, context: RequestContext | None = None
    ) -> dict[str, str]:
        """Add or change keys of QoS specs (admins); returns the given ones."""
        with self.services.db.transaction() as session:
            return qos.set_keys(session, context or self.context, qos_id, body)

    def unset_qos_keys(
        self, qos_id: str, keys: Any, *, context: RequestContext | None = None
    ) -> None:
        """Remove keys of QoS specs (admins)."""
        with self.services.db.transaction() as session:
            qos.unset_keys(session, context or self.context, qos_id, keys)

    def delete_qos_specs(
        self, qos_id: str, *, force: bool = False, context: RequestContext | None = None
    ) -> None:
        """Delete QoS specs no type uses, or with ``force`` (admins)."""
        with self.services.db.transaction() as session:
            qos.delete(session, context or self.context, qos_id, force=force)

    def associate_qos_specs(
        self, qos_id: str, type_id: Any, *, context: RequestContext | None = None
    ) -> None:
        """Give a volume type these QoS specs (admins)."""
        with self.services.db.transaction() as session:
            qos.associate(session, context or self.context, qos_id, type_id)

    def disassociate_qos_specs(
        self, qos_id: str, type_id: Any | None = None, *, context: RequestContext | None = None
    ) -> None:
        """Take QoS specs from one volume type, or from every type with no type (admins)."""
        with self.services.db.transaction() as session:
            if type_id is None:
                _require_admin(context or self.context, "manage QoS specs")
                qos_specs.get(session, qos_id)
                qos_specs.disassociate_all(session, qos_id)
            else:
                qos.disassociate(session, context or self.context, qos_id, type_id)

    def qos_associations(
        self, qos_id: str, *, context: RequestContext | None = None
    ) -> Sequence[models.VolumeType]:
        """The volume types that use QoS specs (admins)."""
        with self.services.db.read() as session:
            return qos.associations(session, context or self.context, qos_id)

    def qos_specs_id_of_type(self, volume_type_id: str) -> str | None:
        """The id of a volume type's QoS specs, or None."""
        with self.services.db.read() as session:
            return qos_specs.of_type(session, volume_type_id)

    # volume transfers

    def create_transfer(
        self, volume_id: Any, name: Any = None, *, context: RequestContext | None = None
    ) -> tuple[models.VolumeTransfer, str]:
        """Offer a volume to another project; returns the transfer and its key (shown
        only now)."""
        with self.services.db.transaction() as session:
            return transfers.create(session, context or self.context, volume_id, name)

    def accept_transfer(
        self, transfer_id: str, auth_key: Any, *, context: RequestContext | None = None
    ) -> models.VolumeTransfer:
        """Take a transfer's volume (and its snapshots, and their quota) into the
        caller's project."""
        with self.services.db.transaction() as session:
            return transfers.accept(
                session, context or self.context, transfer_id, auth_key, self._quota_settings
            )

    def delete_transfer(self, transfer_id: str, *, context: RequestContext | None = None) -> None:
        """Withdraw a transfer; its volume is available to its project again."""
        with self.services.db.transaction() as session:
            transfers.withdraw(session, context or self.context, transfer_id)

    def list_transfers(
        self, *, context: RequestContext | None = None
    ) -> Sequence[models.VolumeTransfer]:
        """The caller's project's transfers."""
        with self.services.db.read() as session:
            return transfers.find(session, context or self.context)

    def get_transfer(
        self, transfer_id: str, *, context: RequestContext | None = None
    ) -> models.VolumeTransfer:
        """One transfer of the caller's project."""
        ctx = context or self.context
        with self.services.db.read() as session:
            return db_transfers.get(session, transfer_id, project_id=ctx.visible_project)


def _roles(served: wiring.Services) -> list[tuple[str, str, str]]:
    return heartbeats.roles(served)


def _prefix(body: Mapping[str, Any]) -> str:
    return str(body.get("prefix") or service_rows.ROOT_LOGGER)


def _snapshots(session: Any, volume_id: str) -> Sequence[models.Snapshot]:
    return snapshots.find_all(session, volume_id=volume_id)


def _usage(
    project: str, held: Sequence[models.Volume], snaps: Sequence[models.Snapshot]
) -> HostUsage:
    return HostUsage(
        project, len(held), sum(v.size for v in held), len(snaps), sum(s.volume_size for s in snaps)
    )


def _require_admin(context: RequestContext, action: str) -> None:
    if not context.is_admin:
        raise errors.Forbidden(action=action)
