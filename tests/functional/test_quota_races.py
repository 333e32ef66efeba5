"""Quota enforcement under concurrent transactions, on SQLite and PostgreSQL: the usage
upsert serializes a project's writers, so racing inserts never both fit under a limit, and
racing deletes never refund twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hearth import config, errors
from hearth.db import quota_usages, quotas, statuses, volume_types, volumes
from hearth.db.session import Database
from hearth.service import quotas as quota_rules

DEFAULTS = config.QuotaSettings()


def insert_one(database: Database, type_id: str) -> bool:
    try:
        with database.transaction() as session:
            volumes.create(
                session,
                project_id="p",
                user_id="u",
                size=1,
                status=statuses.VolumeStatus.AVAILABLE,
                availability_zone="nova",
                volume_type_id=type_id,
            )
            quota_rules.enforce(session, DEFAULTS, "p", {"volumes": 1, "gigabytes": 1})
    except errors.QuotaExceeded:
        return False
    return True


def test_forty_racing_inserts_against_a_limit_of_twenty_give_exactly_twenty(
    database: Database,
) -> None:
    with database.transaction() as session:
        quotas.set_project_limits(session, "p", {"volumes": 20})
        type_id = volume_types.get_default(session).id
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda _: insert_one(database, type_id), range(40)))
    assert outcomes.count(True) == 20
    with database.read() as session:
        assert quota_usages.find(session, "p")["volumes"] == (20, 0)
        assert quota_usages.differences(session) == []


def test_racing_deletes_of_one_volume_refund_it_once(database: Database) -> None:
    with database.transaction() as session:
        type_id = volume_types.get_default(session).id
    insert_one(database, type_id)
    with database.read() as session:
        [volume] = volumes.find_all(session)

    def delete() -> None:
        with database.transaction() as session:
            volumes.delete(session, volume.id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: delete(), range(8)))
    with database.read() as session:
        assert quota_usages.find(session, "p")["volumes"] == (0, 0)
        assert quota_usages.differences(session) == []
