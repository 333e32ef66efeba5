"""Properties of the request parsers, over random input (hypothesis): each returns a value
the database can hold or raises InvalidInput naming its field, never anything else.

The parsers: ``service.fields`` (integers, text, ids, metadata), ``api.documents`` (JSON
bodies and its depth count), ``api.listing`` (paging and the metadata filter) and
``api.versions`` (the microversion header).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hearth import errors
from hearth.api import documents, listing, versions
from hearth.db import rows
from hearth.service import fields

RANDOM = settings(
    max_examples=300,
    deadline=None,
    database=None,  # no example directory in the work tree; every run draws anew
    suppress_health_check=[HealthCheck.too_slow],
)
ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF)  # NUL and surrogates too
ANY_TEXT = st.text(ANY_CHARACTER, max_size=300)
# ASCII digits and every other script's (Nd) and superscripts (No): str.isdigit() takes them
DIGITS = st.sampled_from("0123456789") | st.characters(categories=["Nd", "No"])
NUMBER_TEXT = st.builds(
    lambda sign, digits, pad: f"{pad}{sign}{digits}{pad}",
    st.sampled_from(["", "-", "+", "--"]),
    st.text(DIGITS, min_size=0, max_size=40),
    st.sampled_from(["", " ", "\t", "\n", "\u3000"]),
)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
ANYTHING = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=20,
)


def outcome(parse: Callable[[], Any]) -> Any:
    """The parsed value, or the InvalidInput raised; anything else escapes and fails."""
    try:
        return parse()
    except errors.InvalidInput as refused:
        assert refused.status == 400
        return refused


def storable_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


@RANDOM
@given(st.integers() | NUMBER_TEXT | JSON_SCALARS | st.lists(st.integers(), max_size=2))
def test_an_integer_is_within_an_integer_column_or_refused(value: object) -> None:
    parsed = outcome(lambda: fields.integer("size", value))

    if isinstance(parsed, errors.InvalidInput):
        assert parsed.fields["field"] == "size"
    else:
        assert type(parsed) is int
        assert fields.INT_MIN <= parsed <= fields.INT_MAX


@RANDOM
@given(NUMBER_TEXT)
def test_only_ascii_digits_are_read_as_an_integer(text: str) -> None:
    parsed = outcome(lambda: fields.integer("limit", text))

    if not isinstance(parsed, errors.InvalidInput):
        assert text.strip(" \t").lstrip("-").isascii()
        assert parsed == int(text)


@RANDOM
@given(st.integers(), st.integers(), st.integers())
def test_an_integer_between_bounds_is_kept_and_one_outside_is_refused(
    value: int, low: int, high: int
) -> None:
    parsed = outcome(lambda: fields.integer("new_size", str(value), minimum=low, maximum=high))

    inside = max(low, fields.INT_MIN) <= value <= min(high, fields.INT_MAX)
    assert parsed == value if inside else isinstance(parsed, errors.InvalidInput)


@pytest.mark.parametrize("text", ["²", "١٢", "٣", "--1", "1e3", "0x10", "1_0", "+1", "", " "])
def test_number_look_alikes_are_refused(text: str) -> None:
    with pytest.raises(errors.InvalidInput, match="size"):
        fields.integer("size", text)


@RANDOM
@given(JSON_SCALARS | st.lists(ANY_TEXT, max_size=2))
def test_text_is_storable_and_bounded_or_refused(value: object) -> None:
    for check in (fields.text, fields.optional_text, fields.reference):
        parsed = outcome(lambda check=check: check("name", value))  # type: ignore[misc]

        if isinstance(parsed, errors.InvalidInput):
            assert parsed.fields["field"] == "name"
        elif parsed is not None:
            assert isinstance(parsed, str)
            assert storable_text(parsed)
            assert parsed == value


@RANDOM
@given(ANY_TEXT)
def test_text_with_nul_or_a_surrogate_is_refused_and_any_other_kept(text: str) -> None:
    parsed = outcome(lambda: fields.storable("description", text))

    assert (parsed == text) is storable_text(text)


@RANDOM
@given(st.dictionaries(ANY_TEXT, ANY_TEXT | st.integers(), max_size=5) | ANYTHING)
def test_metadata_is_an_object_of_storable_strings_or_refused(value: object) -> None:
    parsed = outcome(lambda: fields.metadata("metadata", value))

    if isinstance(parsed, errors.InvalidInput):
        assert parsed.fields["field"] == "metadata"
    else:
        assert isinstance(parsed, dict)
        for key, item in parsed.items():
            assert key and storable_text(key) and storable_text(item)
            assert len(key) <= fields.MAX_NAME_LENGTH >= len(item)


def depth_of(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(item) for item in value.values()), default=0)
    return 0


JSON_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(st.sampled_from('ab[]{}"\\:, \n')),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(st.sampled_from('k[]{}"\\'), max_size=3), children, max_size=3)
    ),
    max_leaves=60,
)


@RANDOM
@given(JSON_DOCUMENTS)
def test_the_depth_count_is_the_nesting_of_the_document_whatever_its_strings_hold(
    document: object,
) -> None:
    assert documents.depth(json.dumps(document), stop_above=1000) == depth_of(document)


@RANDOM
@given(st.integers(min_value=1, max_value=200), st.sampled_from(["[", '{"k": ']))
def test_a_body_nesting_up_to_the_limit_parses_and_deeper_is_refused(
    levels: int, opener: str
) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * levels + "0" + closer * levels

    parsed = outcome(lambda: documents.parse(text, "request body"))

    if levels > documents.MAX_DEPTH:
        assert isinstance(parsed, errors.InvalidInput)
        assert f"nests deeper than {documents.MAX_DEPTH} levels" in parsed.user_message
    else:
        assert depth_of(parsed) == levels


@RANDOM
@given(st.binary(max_size=400) | ANY_TEXT | st.builds(json.dumps, ANYTHING))
def test_a_body_parses_as_json_or_is_refused_naming_the_body(raw: bytes | str) -> None:
    parsed = outcome(lambda: documents.parse(raw, "request body"))

    if isinstance(parsed, errors.InvalidInput):
        assert parsed.fields["field"] == "request body"
    else:
        assert depth_of(parsed) <= documents.MAX_DEPTH


@RANDOM
@given(ANY_TEXT | st.builds(json.dumps, ANYTHING) | st.builds(repr, ANYTHING))
def test_the_metadata_filter_is_storable_strings_or_refused_naming_it(text: str) -> None:
    parsed = outcome(lambda: listing.metadata_filter(text))

    if isinstance(parsed, errors.InvalidInput):
        assert parsed.fields["field"] == "metadata"
    else:
        assert all(storable_text(key) and storable_text(item) for key, item in parsed.items())


QUERY_NAMES = st.sampled_from(["limit", "marker", "sort", "sort_key", "sort_dir"])


@RANDOM
@given(st.dictionaries(QUERY_NAMES, ANY_TEXT | NUMBER_TEXT, max_size=5))
def test_a_page_is_within_the_page_size_or_refused(query: dict[str, str]) -> None:
    parsed = outcome(lambda: listing.page(query, {"id", "name", "created_at"}, page_size=1000))

    if not isinstance(parsed, errors.InvalidInput):
        assert isinstance(parsed, rows.Page)
        assert 0 <= parsed.limit <= 1000


@RANDOM
@given(
    st.none()
    | ANY_TEXT.filter(lambda text: "\x00" not in text)
    | st.builds(lambda text: f"volume {text}", NUMBER_TEXT | ANY_TEXT)
    | st.builds(lambda a, b: f"volume {a}.{b}", st.integers(0, 10**60), st.integers(0, 10**60))
)
def test_a_microversion_is_served_or_refused_as_a_client_error(header: str | None) -> None:
    try:
        version = versions.negotiate(header)
    except (errors.InvalidInput, errors.VersionNotAcceptable) as refused:
        assert 400 <= refused.status < 500
    else:
        assert versions.MIN <= version <= versions.MAX
