"""Field checks of the request layer: text the database can store, integers its columns can
hold, metadata objects. ``requests``, ``updates``, ``image_requests``, ``type_requests``
and the API's query parsing (``hearth.api.listing``) check every value a caller gives
through these before any row is read or written, so a value SQLite or PostgreSQL would
refuse (a NUL character, a lone surrogate, an integer beyond the column) is an
``InvalidInput`` naming the field, never a database error.

Each function returns the checked value or raises ``InvalidInput``; nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hearth import errors

MAX_NAME_LENGTH = 255
"""Names, descriptions, metadata keys and values: the columns are ``String(255)``."""
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
"""What an ``Integer`` column holds on every database (PostgreSQL's ``integer``)."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# ASCII digits only: str.isdigit() also accepts '²' and '١٢', which int() refuses or reads
_INTEGER = re.compile(r"[ \t]*(-?)([0-9]+)[ \t]*")
_MAX_DIGITS = len(str(INT_MAX))


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can. PostgreSQL refuses NUL
    in text; neither database stores a lone surrogate (not a Unicode scalar value)."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not hold NUL characters"
    return "must be valid Unicode text (it holds a lone surrogate)"


def storable(field: str, value: str) -> str:
    """``value`` unchanged, when the database can store it as text."""
    problem = text_problem(value)
    if problem is not None:
        raise errors.InvalidInput(field=field, reason=problem)
    return value


def text(field: str, value: Any, max_length: int = MAX_NAME_LENGTH) -> str:
    """A required name: a non-empty storable string of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise errors.InvalidInput(field=field, reason=f"must be 1 to {max_length} characters")
    return storable(field, value)


def optional_text(field: str, value: Any, max_length: int = MAX_NAME_LENGTH) -> str | None:
    """A name or description: absent, or a storable string of bounded length."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise errors.InvalidInput(
            field=field, reason=f"must be a string of at most {max_length} characters"
        )
    return storable(field, value)


def reference(field: str, value: Any, reason: str = "must be a non-empty id string") -> str:
    """An id (or name) that is looked up: a non-empty storable string."""
    if not isinstance(value, str) or not value:
        raise errors.InvalidInput(field=field, reason=reason)
    return storable(field, value)


def integer(
    field: str, value: Any, minimum: int = INT_MIN, maximum: int = INT_MAX, unit: str = ""
) -> int:
    """An integer given as an int or a string of ASCII digits (as Block Storage clients
    send), between ``minimum`` and ``maximum`` and always within an ``Integer`` column."""
    number = _number(field, value)
    low, high = max(minimum, INT_MIN), min(maximum, INT_MAX)
    if number is None or not low <= number <= high:
        shown = _shown(value if number is None else number)
        raise errors.InvalidInput(
            field=field, reason=f"must be between {low} and {high}{unit}, got {shown}"
        )
    return number


def _number(field: str, value: Any) -> int | None:
    """The integer ``value`` holds (None: too long to be in range), or InvalidInput."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    matched = _INTEGER.fullmatch(value) if isinstance(value, str) else None
    if matched is None:
        raise errors.InvalidInput(field=field, reason=f"must be an integer, got {_shown(value)}")
    sign, digits = matched.groups()
    if len(digits.lstrip("0")) > _MAX_DIGITS:  # int() of thousands of digits is refused
        return None
    return int(sign + digits)


def _shown(value: Any, limit: int = 40) -> str:
    """A value as an error message quotes it: its repr, cut to ``limit`` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return "an integer of more than 38 digits"  # str() of a huge int is refused, too
    shown = str(value) if isinstance(value, int) else repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def metadata(field: str, value: Any) -> dict[str, str]:
    """Metadata as a request gave it, checked: non-empty string keys and string values,
    storable and at most ``MAX_NAME_LENGTH`` long."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise errors.InvalidInput(field=field, reason="must be an object of strings")
    for key, item in value.items():
        if not (isinstance(key, str) and isinstance(item, str)) or not key:
            raise errors.InvalidInput(field=field, reason="keys and values must be strings")
        if len(key) > MAX_NAME_LENGTH or len(item) > MAX_NAME_LENGTH:
            raise errors.InvalidInput(
                field=field, reason=f"keys and values are at most {MAX_NAME_LENGTH} long"
            )
        problem = text_problem(key)
        if problem is not None:
            raise errors.InvalidInput(field=field, reason=f"a key {problem}")
        problem = text_problem(item)
        if problem is not None:
            raise errors.InvalidInput(field=field, reason=f"the value of {key!r} {problem}")
    return dict(value)
