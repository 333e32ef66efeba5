"""JSON documents a request carries: its body (read by ``calls.json_body``) and the
``metadata`` filter of list queries (``listing.metadata_filter``), parsed strictly.

Strict means what a database or a later ``json.dumps`` could choke on is refused here as
badRequest naming the document: nesting deeper than :data:`MAX_DEPTH` (checked before
parsing, so the parser never recurses that deep), integers longer than
:data:`MAX_DIGITS` digits (``int()`` refuses thousands), ``NaN`` and ``Infinity`` (not
JSON), and bytes that are not UTF-8. The values inside are checked by the request layer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hearth import errors

MAX_DEPTH = 32
"""The deepest nesting of arrays and objects accepted (Hearth's bodies nest 3 deep)."""
MAX_DIGITS = 64
"""The longest integer accepted, in digits (far beyond any column)."""

_SPECIAL = re.compile(r'["\\\[\]{}]')


def parse(raw: bytes | str, field: str) -> Any:
    """The JSON value of ``raw``; InvalidInput naming ``field`` when it is not strict JSON."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise errors.InvalidInput(field=field, reason=f"is not UTF-8: {exc.reason}") from None
    opened = text.count("[") + text.count("{")  # fewer brackets than the limit: no scan
    if opened > MAX_DEPTH and depth(text) > MAX_DEPTH:
        raise errors.InvalidInput(field=field, reason=f"nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_int=_integer, parse_constant=_constant)
    except ValueError as exc:  # JSONDecodeError, and what _integer and _constant raise
        raise errors.InvalidInput(field=field, reason=f"is not valid JSON: {exc}") from None


def depth(text: str, stop_above: int = MAX_DEPTH) -> int:
    """How deep arrays and objects nest in JSON ``text`` (brackets inside strings do not
    count), in one pass over its quotes, backslashes and brackets; counting stops once it
    is above ``stop_above``."""
    deepest = level = 0
    in_string = False
    skip_to = 0  # a backslash in a string escapes the next character, whatever it is
    for special in _SPECIAL.finditer(text):
        at, char = special.start(), special.group()
        if at < skip_to:
            continue
        if in_string:
            if char == "\\":
                skip_to = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
            if deepest > stop_above:
                break
        else:
            level -= 1
    return deepest


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer has more than {MAX_DIGITS} digits")
    return int(digits)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
