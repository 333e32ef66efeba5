"""Query parameters of list requests: sort, limit, marker and offset, metadata filters.

Cinder's forms: ``sort=key[:dir],key2`` or ``sort_key``/``sort_dir``; ``limit`` (at most
``[api] page_size``); ``marker`` (the id after which a page starts); ``offset`` (rows
skipped); sort key ``display_name`` is ``name``, as Cinder takes it; ``metadata`` as a
JSON object (parsed strictly: ``documents``) or as the Python-literal dict cinderclient
sends. Wrong values are refused naming the parameter.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from typing import Any

from hearth import errors
from hearth.api import documents
from hearth.db.rows import Page, SortKey
from hearth.service import fields


def page(query: Mapping[str, str], sort_keys: Collection[str], page_size: int) -> Page:
    """The page a list request asks for (at most ``page_size`` rows); newest first unless it
    sorts otherwise."""
    sort = tuple(_sort(query, sort_keys))
    limit = _limit(query.get("limit"), page_size)
    return Page(sort, limit, query.get("marker"), _offset(query.get("offset")))


def _offset(value: str | None) -> int:
    if value is None:
        return 0
    offset = fields.integer("offset", value)
    if offset < 0:
        raise errors.InvalidInput(field="offset", reason="must be zero or more")
    return offset


def _sort(query: Mapping[str, str], allowed: Collection[str]) -> list[SortKey]:
    if "sort" in query:
        pairs = [item.partition(":")[::2] for item in query["sort"].split(",") if item]
        field = "sort"
    else:
        keys = (query.get("sort_key") or "created_at").split(",")
        dirs = (query.get("sort_dir") or "desc").split(",")
        pairs = [(key, dirs[min(i, len(dirs) - 1)]) for i, key in enumerate(keys)]
        field = "sort_key"
    sort = []
    for key, direction in pairs:
        if key.strip() not in allowed and not _is_name_alias(key.strip(), allowed):
            raise errors.InvalidInput(
                field=field, reason=f"cannot sort by {key!r}; one of {sorted(allowed)}"
            )
        column = "name" if key.strip() == NAME_ALIAS else key.strip()
        sort.append((column, _descending(direction or "desc")))
    return sort or [("created_at", True)]


NAME_ALIAS = "display_name"
"""Cinder's column name for ``name``, which it takes as a sort key at every version."""


def _is_name_alias(key: str, allowed: Collection[str]) -> bool:
    return key == NAME_ALIAS and ("name" in allowed or NAME_ALIAS in allowed)


def _descending(direction: str) -> bool:
    if direction.strip().lower() not in {"asc", "desc"}:
        raise errors.InvalidInput(field="sort_dir", reason="must be 'asc' or 'desc'")
    return direction.strip().lower() == "desc"


def _limit(value: str | None, page_size: int) -> int:
    if value is None:
        return page_size
    limit = fields.integer("limit", value)
    if limit < 0:
        raise errors.InvalidInput(field="limit", reason="must be zero or more")
    return min(limit, page_size)


def metadata_filter(value: str | None) -> dict[str, str]:
    """The ``metadata`` filter: a JSON object, or the Python dict literal cinderclient sends."""
    if value is None:
        return {}
    parsed: Any
    try:
        parsed = documents.parse(value, "metadata")
    except errors.InvalidInput:
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            parsed = None
    return fields.metadata("metadata", parsed if isinstance(parsed, dict) else value)
