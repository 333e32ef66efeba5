"""Alembic migrations against the models, on every database Hearth supports."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from hearth.db import models, volume_types
from hearth.db import session as db_session
from hearth.db.session import Database


def downgrade_to_base(database: Database) -> None:
    """Undo every migration, handing Alembic the connection as Database.upgrade() does."""
    config = Config()
    config.set_main_option("script_location", str(db_session.MIGRATIONS))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


def schema_differences(database: Database) -> list[Any]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, models.Base.metadata))


def table_names(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def test_an_empty_database_is_not_current(empty_database: Database) -> None:
    assert empty_database.is_current() is False


def test_an_upgraded_database_is_current(empty_database: Database) -> None:
    empty_database.upgrade()

    assert empty_database.is_current() is True


def test_the_upgraded_schema_matches_the_models(database: Database) -> None:
    assert schema_differences(database) == []
    assert table_names(database) == set(models.Base.metadata.tables) | {"alembic_version"}


def test_upgrading_a_current_database_changes_nothing(database: Database) -> None:
    database.upgrade()

    assert database.is_current() is True
    assert schema_differences(database) == []
    with database.transaction() as session:
        assert [t.name for t in volume_types.find_all(session)] == ["__DEFAULT__"]


def test_downgrade_to_base_removes_every_table(database: Database) -> None:
    downgrade_to_base(database)

    assert database.is_current() is False
    assert table_names(database) <= {"alembic_version"}


def test_upgrade_after_a_downgrade_to_base_rebuilds_the_schema(database: Database) -> None:
    downgrade_to_base(database)

    database.upgrade()

    assert database.is_current() is True
    assert schema_differences(database) == []
    with database.transaction() as session:
        assert volume_types.get_default(session).name == "__DEFAULT__"
