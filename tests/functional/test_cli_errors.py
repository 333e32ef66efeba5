"""Errors a person can act on, from the shell, against real services: a PostgreSQL database
that does not exist or a port nobody listens on, a broker port nobody listens on, image URLs
that answer 404, refuse the connection or name a host that does not resolve. Each prints
one line on stderr (no traceback, no password) and exits 1."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from psycopg import sql

from hearth import cli
from tests import db_backends
from tests.cli_runner import as_json, runner_for
from tests.conftest import require
from tests.images import http_files

__all__ = ["http_files"]  # a fixture, imported for pytest


def free_port() -> int:
    """A local TCP port nobody listens on (bound once and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_line(result: Result) -> str:
    """The single line a failed command printed on stderr (asserting it is one line)."""
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr.rstrip("\n")


def hearth(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    data_dir.mkdir(exist_ok=True)
    return CliRunner().invoke(cli.cli, ["--data-dir", str(data_dir), *args], env=env)


# the database


@pytest.fixture
def postgres() -> sa.URL:
    reason = db_backends.postgres_unreachable_reason()
    require(reason is None, reason or "")
    return db_backends.ADMIN_URL


@pytest.fixture
def missing_name(postgres: sa.URL) -> Iterator[str]:
    """A database name the server does not have (dropped after the test if it was made)."""
    name = f"hearth_missing_{uuid.uuid4().hex[:10]}"
    yield name
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    _admin(postgres, statement)


def _admin(url: sa.URL, statement: sql.Composed) -> None:
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(statement)


def url_of(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.mark.postgres
def test_a_database_that_does_not_exist_says_how_to_create_it(
    tmp_path: Path, postgres: sa.URL, missing_name: str
) -> None:
    env = {"HEARTH_DATABASE_URL": url_of(postgres.set(database=missing_name))}

    line = one_line(hearth(tmp_path / "data", "volume", "list", env=env))

    server = f"{postgres.host}:{postgres.port or 5432}"
    assert line == (
        f"Error: The database {missing_name!r} does not exist at {server}. Run `hearth db "
        "upgrade` to create it and its schema, or create it yourself: `createdb -h "
        f"{postgres.host} -p {postgres.port or 5432} -U {postgres.username} {missing_name}`."
    )


@pytest.mark.postgres
def test_db_upgrade_creates_a_database_that_does_not_exist(
    tmp_path: Path, postgres: sa.URL, missing_name: str
) -> None:
    url = postgres.set(database=missing_name)
    env = {"HEARTH_DATABASE_URL": url_of(url)}

    upgraded = hearth(tmp_path / "data", "db", "upgrade", env=env)

    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stderr == f"created the database {missing_name!r}\n"
    assert upgraded.stdout == f"database at {url.render_as_string()} is current\n"
    assert as_json(hearth(tmp_path / "data", "volume", "list", "-f", "json", env=env)) == []


@pytest.fixture
def plain_user(postgres: sa.URL) -> Iterator[str]:
    """A PostgreSQL role that may log in but not create databases."""
    role = f"hearth_plain_{uuid.uuid4().hex[:10]}"
    _admin(postgres, sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB").format(sql.Identifier(role)))
    yield role
    _admin(postgres, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.mark.postgres
def test_db_upgrade_by_a_user_who_may_not_create_it_prints_what_to_run(
    tmp_path: Path, postgres: sa.URL, missing_name: str, plain_user: str
) -> None:
    url = postgres.set(username=plain_user, password=None, database=missing_name)

    result = hearth(tmp_path / "data", "db", "upgrade", env={"HEARTH_DATABASE_URL": url_of(url)})

    port = postgres.port or 5432
    assert one_line(result) == (
        f"Error: The database {missing_name!r} does not exist at {postgres.host}:{port}. "
        f"User {plain_user!r} may not create databases: as a PostgreSQL superuser run "
        f"`createdb -h {postgres.host} -p {port} -O {plain_user} {missing_name}` (or CREATE "
        "DATABASE), then `hearth db upgrade` again."
    )


@pytest.mark.postgres
def test_a_database_port_nobody_listens_on_is_named_without_the_password(
    tmp_path: Path, postgres: sa.URL
) -> None:
    port = free_port()
    url = postgres.set(password="s3cret", port=port, database="hearth")

    for command in (["volume", "list"], ["db", "upgrade"]):
        env = {"HEARTH_DATABASE_URL": url_of(url)}
        line = one_line(hearth(tmp_path / "data", *command, env=env))

        assert line == (
            f"Error: Cannot connect to the database 'hearth' at {postgres.host}:{port}: "
            "Connection refused. Is the server running there, and is [database] url "
            "(or $HEARTH_DATABASE_URL) right?"
        )


# the broker


@pytest.mark.parametrize(
    ("scheme", "shown"),
    [("amqp://guest:s3cret@{}//", "amqp://guest:***@{}//"), ("redis://:s3cret@{}/0", None)],
)
def test_a_broker_nobody_listens_on_is_named_with_its_password_masked(
    tmp_path: Path, scheme: str, shown: str | None
) -> None:
    where = f"127.0.0.1:{free_port()}"
    settings = tmp_path / "hearth.toml"
    settings.write_text(f'[bus]\nurl = "{scheme.format(where)}"\n')

    line = one_line(
        hearth(tmp_path / "data", "--config", str(settings), "volume", "create", "--size", "1")
    )

    masked = (shown or "redis://:***@{}/0").format(where)
    assert line.startswith(f"Error: Cannot reach the message broker at {masked}: ")
    assert "Connection refused" in line or "connection refused" in line
    assert line.endswith(". Is it running, and is [bus] url right?")
    assert "s3cret" not in line


# image URLs


@pytest.fixture
def run(tmp_path: Path) -> Any:
    return runner_for(tmp_path / "data")


def create_from_url(run: Any, url: str) -> Result:
    result: Result = run("image", "create", "--url", url, "--disk-format", "qcow2", "web")
    return result


def test_an_image_url_answering_404_is_named_with_the_status(
    run: Any, http_files: tuple[Path, str]
) -> None:
    url = f"{http_files[1]}/missing.qcow2"

    line = one_line(create_from_url(run, url))

    assert (
        line
        == f"Error: Invalid value for '--url': the server answered 404 File not found for {url}"
    )
    assert as_json(run("image", "list", "-f", "json")) == []


def test_an_image_url_whose_connection_is_refused_says_so(run: Any) -> None:
    where = f"127.0.0.1:{free_port()}"

    line = one_line(create_from_url(run, f"http://{where}/disk.qcow2"))

    assert re.fullmatch(
        rf"Error: Could not download image [0-9a-f-]{{36}} from http://{where}/disk\.qcow2: "
        r"the connection was refused; try again later\.",
        line,
    ), line
    assert as_json(run("image", "list", "-f", "json")) == []


def test_an_image_url_whose_host_does_not_resolve_says_so(run: Any) -> None:
    line = one_line(create_from_url(run, "http://nonexistent.invalid/disk.qcow2"))

    assert re.fullmatch(
        r"Error: Could not download image [0-9a-f-]{36} from http://nonexistent\.invalid/"
        r"disk\.qcow2: its host name could not be resolved \(DNS: .+\); try again later\.",
        line,
    ), line


def test_an_image_url_with_a_password_is_refused_without_showing_it(run: Any) -> None:
    line = one_line(create_from_url(run, "http://me:s3cret@127.0.0.1:1/disk.qcow2"))

    assert line == (
        "Error: Invalid value for '--url': credentials in a URL are not supported: "
        "http://me:***@127.0.0.1:1/disk.qcow2"
    )
