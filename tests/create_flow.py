"""Running the create-volume flow directly on a volume row, as a backend's manager would.

Used by the flow tests (``tests/unit/test_create_flow.py``), the task tests and the
image-create tests: a ``creating`` row placed on ``local`` with its size claimed, the flow
built and run for it through the real engine, a stand-in for the scheduler's rpcapi that
records the casts a reschedule makes, and the user messages a failure left.

The scheduler's retry record and the flow's ``filter_properties`` are spelled only in
:func:`retry_record` and :func:`filter_properties`.
"""

from __future__ import annotations

from typing import Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import backends, models, statuses, user_messages, volumes
from hearth.service.facade import Hearth
from hearth.volume import scheduling
from hearth.volume.flows import create_volume

ADMIN = RequestContext(user_id="admin", project_id="admin", is_admin=True)


class RecordingScheduler:
    """Stands in for the scheduler's rpcapi: records each cast attempted. With ``fail``,
    each cast is refused after it is recorded, as an unreachable broker refuses it."""

    def __init__(self, fail: bool = False) -> None:
        self.casts: list[dict[str, Any]] = []
        self.fail = fail

    def create_volume(
        self,
        context: RequestContext,
        volume_id: str,
        request_spec: scheduling.RequestSpec,
        filter_properties: scheduling.FilterProperties,
    ) -> None:
        self.casts.append(  # as the bus would carry it
            {
                "volume_id": volume_id,
                "spec": request_spec.to_json(),
                "filters": filter_properties.to_json(),
            }
        )
        if self.fail:
            raise errors.BusUnavailable(detail="broker unreachable")


def retry_record(num_attempts: int = 1, backends: tuple[str, ...] = ()) -> dict[str, Any]:
    """The retry record of a create on its ``num_attempts``-th attempt (as the bus carries
    it), whose earlier attempts failed on ``backends``."""
    return {"num_attempts": num_attempts, "backends": list(backends)}


def filter_properties(retry: dict[str, Any] | None) -> scheduling.FilterProperties:
    """The flow's ``filter_properties``: with a retry record the flow may reschedule."""
    return scheduling.FilterProperties.from_json({"retry": retry} if retry is not None else {})


def creating_volume(hearth: Hearth, **fields: Any) -> models.Volume:
    """A volume row as the scheduler leaves it: ``creating``, placed on ``local`` (when no
    other host is given) with its size claimed there."""
    values: dict[str, Any] = {
        "project_id": "admin",
        "user_id": "admin",
        "size": 1,
        "status": statuses.VolumeStatus.CREATING,
        "host": "local",
        "availability_zone": "nova",
        **fields,
    }
    with hearth.services.db.transaction() as session:
        if values["host"] == "local":
            assert backends.claim(session, "local", values["size"])
        return volumes.create(session, **values)


def run_flow(
    hearth: Hearth,
    volume: models.Volume,
    *,
    scheduler: RecordingScheduler | None = None,
    allow_reschedule: bool = True,
    retry: dict[str, Any] | None = None,
) -> None:
    """Run the create flow for ``volume`` on ``local``; it raises what made it revert."""
    manager = hearth.services.managers["local"]
    engine = create_volume.get_flow(
        ADMIN,
        manager,
        hearth.services.db,
        manager.driver,
        scheduler,
        "local",
        volume,
        allow_reschedule,
        ADMIN,
        scheduling.RequestSpec(volume.id, volume.size),
        filter_properties(retry),
    )
    engine.run()


def messages_for(hearth: Hearth, resource_id: str) -> list[models.UserMessage]:
    """The user messages recorded for a resource."""
    with hearth.services.db.transaction() as session:
        return list(user_messages.find_all(session, resource_uuid=resource_id))
