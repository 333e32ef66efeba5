"""Log lines: ``[logging]`` settings, the ids every line carries, the request line of the API
and the line of every status change."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hearth import config, errors, logs
from hearth.api import server
from hearth.context import RequestContext
from hearth.service.facade import Hearth


@contextlib.contextmanager
def captured(name: str, fmt: str = "json", level: int = logging.DEBUG) -> Iterator[io.StringIO]:
    """Lines of logger ``name`` (and its children) in ``fmt``, through Hearth's handler."""
    stream = io.StringIO()
    handler = logs.handler(config.LoggingSettings(format=fmt), stream)  # type: ignore[arg-type]
    logger = logging.getLogger(name)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_carries_the_bound_request_id_the_noted_volume_id_and_extra_fields() -> None:
    with captured("hearth.test") as stream, logs.bound(request_id="req-1"):
        logs.note(volume_id="vol-1")
        logging.getLogger("hearth.test.child").info("made %s", "it", extra={"size": 3})

    (line,) = json_lines(stream)
    assert line["message"] == "made it"
    assert line["level"] == "INFO"
    assert line["logger"] == "hearth.test.child"
    assert (line["request_id"], line["volume_id"], line["size"]) == ("req-1", "vol-1", 3)
    assert line["time"].endswith("+00:00")


def test_a_text_line_shows_its_ids_after_the_message_and_a_traceback_below_them() -> None:
    with (
        captured("hearth.test", fmt="text") as stream,
        logs.bound(request_id="req-2", volume_id="vol-2"),
    ):
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("hearth.test").exception("failed")

    first, *trace = stream.getvalue().splitlines()
    assert first.endswith("ERROR hearth.test: failed [request_id=req-2 volume_id=vol-2]")
    assert trace[0] == "Traceback (most recent call last):"
    assert trace[-1] == "ValueError: boom"


def test_bound_fields_nest_and_end_with_their_block_and_note_outside_one_does_nothing() -> None:
    logs.note(volume_id="ignored")
    assert logs.current() == {}
    with logs.bound(request_id="req-3"):
        with logs.bound(snapshot_id="snap-3"):
            assert logs.current() == {"request_id": "req-3", "snapshot_id": "snap-3"}
        logs.note(volume_id="vol-3")
        logs.note(volume_id="vol-other")  # the first id noted stays
        assert logs.current() == {"request_id": "req-3", "volume_id": "vol-3"}
    assert logs.current() == {}


def test_the_logging_section_rejects_an_unknown_format_level_or_key_naming_it() -> None:
    for section, key in (
        ({"format": "xml"}, "logging.format"),
        ({"level": "LOUD"}, "logging.level"),
        ({"levels": {"hearth.api": "CHATTY"}}, "logging.levels.hearth.api"),
        ({"colour": True}, "logging.colour: unknown key"),
    ):
        with pytest.raises(errors.ConfigError) as refused:
            config.load(data_dir="/nonexistent", overrides={"logging": section}, environ={})
        assert key in refused.value.user_message


def test_levels_of_named_loggers_are_set_and_alembic_stays_quiet_unless_named() -> None:
    names = ("hearth.test.levels", "alembic")
    before = {name: logging.getLogger(name).level for name in names}
    try:
        logs.apply_levels(config.LoggingSettings(levels={"hearth.test.levels": "DEBUG"}))
        assert logging.getLogger("hearth.test.levels").level == logging.DEBUG
        assert logging.getLogger("alembic").level == logging.WARNING

        logs.apply_levels(config.LoggingSettings(levels={"alembic": "INFO"}))
        assert logging.getLogger("alembic").level == logging.INFO
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without the test runner's handlers (restored afterwards; pytest
    puts its own back at each phase of a test, so this runs inside the test)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    for handler in saved[0]:
        root.removeHandler(handler)
    try:
        yield root
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def test_configure_installs_one_handler_replacing_its_own_and_verbose_logs_info() -> None:
    with bare_root() as root:
        logs.configure(config.LoggingSettings(format="text"))
        logs.configure(config.LoggingSettings(format="json", level="ERROR"), verbose=True)

        (installed,) = root.handlers
        assert isinstance(installed.formatter, logs.JsonFormatter)
        assert root.level == logging.INFO  # -v: INFO at least

        logs.configure(config.LoggingSettings(level="DEBUG"), verbose=True)
        assert root.level == logging.DEBUG  # a configured DEBUG is not raised by -v


def test_configure_leaves_a_root_someone_else_set_up_alone() -> None:
    with bare_root() as root:
        theirs = logging.StreamHandler(io.StringIO())
        root.addHandler(theirs)
        root.setLevel(logging.ERROR)

        logs.configure(config.LoggingSettings(format="json", level="DEBUG"))

        assert root.handlers == [theirs]
        assert root.level == logging.ERROR


def test_each_status_change_is_one_line_with_its_ids_from_and_to(hearth: Hearth) -> None:
    context = RequestContext(user_id="u", project_id="p", request_id="req-status")

    with captured("hearth.db") as stream:
        volume = hearth.create_volume(size=1, context=context)
        hearth.delete_volume(volume.id, context=context)

    changes = [
        (line["from"], line["to"])
        for line in json_lines(stream)
        if line.get("volume_id") == volume.id and line.get("resource") == "volume"
    ]
    assert changes == [
        ("new", "creating"),
        ("creating|downloading", "available"),
        ("*", "deleting"),  # the delete checked the status under a row lock itself
        ("*", "deleted"),
    ]
    # lines of the scheduler's and the manager's workers carry the request's id (a library
    # caller's own thread binds none; the API binds it for the whole request)
    workers = [line for line in json_lines(stream) if line["thread"].startswith("hearth-")]
    assert len(workers) >= 2
    assert {line["request_id"] for line in workers} == {"req-status"}


def test_the_request_line_names_method_route_status_duration_and_the_volume_it_created(
    hearth: Hearth,
) -> None:
    with (
        captured("hearth.api") as stream,  # the line follows the answer: capture until the end
        server.Background(hearth, config.ApiSettings(port=0)) as api,
        httpx.Client(base_url=api.url, headers={"X-Auth-Token": "u:p"}) as client,
    ):
        created = client.post("/v3/volumes", json={"volume": {"size": 1}})
        shown = client.get(f"/v3/p/volumes/{created.json()['volume']['id']}")
        client.get("/healthz")

    volume_id = created.json()["volume"]["id"]
    post, get, probe = json_lines(stream)
    assert post["request_id"] == created.headers["x-openstack-request-id"]
    assert (post["method"], post["route"], post["status"], post["volume_id"]) == (
        "POST",
        "/v3/volumes",
        202,
        volume_id,
    )
    assert post["duration_ms"] >= 0 and post["level"] == "INFO"
    assert get["request_id"] == shown.headers["x-openstack-request-id"]
    assert (get["route"], get["volume_id"]) == ("/v3/{project_id}/volumes/{volume_id}", volume_id)
    assert (probe["path"], probe["status"], probe["level"]) == ("/healthz", 200, "DEBUG")
