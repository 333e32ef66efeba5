"""Log lines: the ids they carry, their two formats, and the one place logging is set up.

Below every stage of the data path (only settings and the error tree are lower), so that any
layer can attach what it knows to the lines logged while it works. The API middleware binds
the request id for the whole request (:func:`bound`); the bus binds the request id of the
message and the ids in its arguments for the call a worker makes; a repository that creates
a volume or snapshot adds its id to the bound fields (:func:`note`), so the request's one
line names the volume a create made. :class:`ContextFilter` copies those fields onto every
record, and the formatters print them: as ``[request_id=... volume_id=...]`` after a text
line, or as keys of a JSON line, beside any ``extra`` fields of the call.

:func:`configure` is called by the ``hearth`` command (for ``hearth serve`` too) with the
``[logging]`` settings.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from hearth import config

FIELDS = ("request_id", "volume_id", "snapshot_id")
"""The ids a line carries when they are known, in the order text lines show them."""
TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS: Mapping[str, str] = {"alembic": "WARNING"}
"""Loggers held at a level unless ``[logging] levels`` names them."""

_bound: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "hearth_log_fields", default=None
)
# what LogRecord itself holds: anything else on a record came from ``extra``
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's message with terminal colours
}


@contextlib.contextmanager
def bound(**fields: str | None) -> Iterator[dict[str, str]]:
    """Bind fields (e.g. ``request_id``) to every line logged inside the block, in this
    thread and in what it hands to worker threads with its context; yields the bound
    fields, which :func:`note` may add to before the block ends."""
    given = {key: value for key, value in fields.items() if value}
    token = _bound.set({**(_bound.get() or {}), **given})
    try:
        yield _bound.get() or {}
    finally:
        _bound.reset(token)


def note(**fields: str | None) -> None:
    """Add ids to the fields of the enclosing :func:`bound` block (its later lines, and a
    line its owner logs at the end, carry them); a field already bound is kept. Outside
    any block, nothing happens."""
    current = _bound.get()
    if current is not None:
        for key, value in fields.items():
            if value:
                current.setdefault(key, value)


def current() -> dict[str, str]:
    """The fields bound here now (a copy)."""
    return dict(_bound.get() or {})


def resource_ids(arguments: Mapping[str, Any]) -> dict[str, str]:
    """The ``volume_id``/``snapshot_id`` among a call's arguments, to bind to its lines."""
    return {key: arguments[key] for key in FIELDS[1:] if isinstance(arguments.get(key), str)}


class ContextFilter(logging.Filter):
    """Puts the bound fields on each record (a field the call passed in ``extra`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_bound.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The record's fields beyond LogRecord's own: the ids first, then ``extra`` ones."""
    found = {key: getattr(record, key) for key in FIELDS if getattr(record, key, None)}
    for key, value in vars(record).items():
        if key not in _RECORD_ATTRIBUTES and key not in found and not key.startswith("_"):
            found[key] = value
    return found


class TextFormatter(logging.Formatter):
    """``time pid LEVEL logger: message [key=value ...]``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = extras(record)
        if not fields:
            return line
        suffix = " ".join(f"{key}={value}" for key, value in fields.items())
        head, newline, trace = line.partition("\n")  # a traceback stays below the fields
        return f"{head} [{suffix}]{newline}{trace}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, process,
    thread, the ids, the call's ``extra`` fields, and ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
            **extras(record),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            document["exception"] = record.exc_text
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is emitted (a test runner that
    swaps stderr per command never gets a line on a closed stream)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def handler(settings: config.LoggingSettings, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing ``settings.format`` lines, with the bound fields, to ``stream``
    (default: stderr, as it is at each line)."""
    chosen: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    chosen.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    chosen.addFilter(ContextFilter())
    return chosen


def apply_levels(settings: config.LoggingSettings) -> None:
    """Set the levels of the loggers ``[logging] levels`` names (and the quiet ones)."""
    for name, level in {**QUIET_LOGGERS, **settings.levels}.items():
        logging.getLogger(name).setLevel(level)


def configure(settings: config.LoggingSettings, *, verbose: bool = False) -> None:
    """Set up this process's logging from ``[logging]``; ``verbose`` (``-v``) logs INFO at
    least. Called again, it replaces what it set up before.

    Like ``logging.basicConfig``, it leaves the root logger alone (level and handlers)
    when something else put a handler there (an application embedding Hearth, a test
    runner); the levels of named loggers are set in any case.
    """
    root = logging.getLogger()
    apply_levels(settings)
    foreign = [h for h in root.handlers if not getattr(h, "_hearth", False)]
    if foreign:
        return
    for old in list(root.handlers):
        root.removeHandler(old)
    installed = handler(settings)
    installed._hearth = True  # type: ignore[attr-defined]
    root.addHandler(installed)
    level = logging.getLevelName(settings.level)
    root.setLevel(min(level, logging.INFO) if verbose else level)


def status_change(
    logger: logging.Logger, resource: str, row_id: str, was: str | Collection[str], status: str
) -> None:
    """One line per status change of a volume or snapshot row: ``from`` is ``new`` for an
    insert, else the statuses the change required (``*``: any; reading the old one would
    cost a query). Logged when the statement runs, inside the caller's transaction."""
    if not logger.isEnabledFor(logging.INFO):
        return
    if not isinstance(was, str):
        was = "|".join(sorted(was))
    logger.info(
        "%s %s %s -> %s",
        resource,
        row_id,
        was,
        status,
        extra={"resource": resource, f"{resource}_id": row_id, "from": was, "to": status},
    )
