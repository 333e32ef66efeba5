"""Hostile values for the fuzzing of ``test_openapi.py``: what an OpenAPI description cannot
ask for, put into the cases schemathesis draws from it. A mutation puts one drawn value at
one drawn place of a case: a body's value or a new key of one of its objects, a query
parameter, a path parameter.

The values are the input classes the API must refuse without a server error: text no
database stores (NUL; lone surrogates, in bodies only, since a URL cannot carry one),
integers beyond an ``Integer`` column, digit strings of other scripts, JSON nested past
``documents.MAX_DEPTH``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import schemathesis
from hypothesis import strategies as st

UNSTORABLE = st.sampled_from(["\x00", "\ud800", "\udfff", "\udbff\x00"])
TEXT = st.builds(
    lambda before, bad, after: before + bad + after,
    st.text(max_size=4),
    UNSTORABLE,
    st.text(max_size=4),
)
BEYOND_COLUMNS = st.sampled_from([2**31, 2**63, -(2**31) - 1, 10**30]) | st.integers(
    min_value=2**31, max_value=10**60
)
LOOKALIKES = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=4)
NESTED = st.integers(
    min_value=33, max_value=300
)  # the client's json.dumps recurses.map(lambda levels: _nested(levels))
VALUES = st.one_of(TEXT, BEYOND_COLUMNS, BEYOND_COLUMNS.map(str), LOOKALIKES, NESTED)


@dataclass(frozen=True)
class Mutation:
    """One hostile value and where (an index into the places a case has) it goes."""

    place: int
    value: Any

    def apply(self, case: schemathesis.Case) -> None:
        """Put the value at its place in ``case`` (nothing when the case has no place)."""
        places = _places(case)
        if places:
            places[self.place % len(places)](self.value)


MUTATIONS = st.none() | st.builds(Mutation, st.integers(min_value=0, max_value=10**6), VALUES)
"""Half the cases as drawn, half with one hostile value."""


def _places(case: schemathesis.Case) -> list[Any]:
    """Setters, one per place of ``case`` a value can go."""
    places: list[Any] = []
    if isinstance(case.body, (dict, list)):
        places += _in_document(case.body)
    for container in (case.query, case.path_parameters):
        if container:
            places += [_url_setter(container, name) for name in sorted(container)]
    return places


def _in_document(document: dict[str, Any] | list[Any]) -> list[Any]:
    places: list[Any] = []
    items = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in list(items):
        places.append(_setter(document, key))
        if isinstance(value, (dict, list)):
            places += _in_document(value)
    if isinstance(document, dict):
        places.append(lambda value: document.__setitem__(_as_key(value), "v"))
    return places


def _setter(container: Any, key: Any) -> Any:
    return lambda value: container.__setitem__(key, value)


def _url_setter(container: dict[str, Any], name: str) -> Any:
    """A URL carries text without surrogates: a value goes as its text, NUL for them."""

    def put(value: Any) -> None:
        text = value if isinstance(value, str) else _json_text(value)
        container[name] = "".join("\x00" if "\ud800" <= c <= "\udfff" else c for c in text)

    return put


def _as_key(value: Any) -> str:
    return value if isinstance(value, str) else _json_text(value)[:300]


def _json_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" * _depth(value) + "]" * _depth(value)
    return str(value)


def _depth(value: Any) -> int:
    levels = 0
    while isinstance(value, list) and value:
        value, levels = value[0], levels + 1
    return levels + (1 if isinstance(value, list) else 0)


def _nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value
