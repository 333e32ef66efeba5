"""Query parameters of list requests: sort, limit and marker, metadata filters.

Cinder's forms: ``sort=key[:dir],key2`` or ``sort_key``/``sort_dir``; ``limit`` (at most
``[api] page_size``); ``marker`` (the id after which a page starts); ``metadata`` as a
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
    return Page(sort, _limit(query.get("limit"), page_size), query.get("marker"))


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
        if key.strip() not in allowed:
            raise errors.InvalidInput(
                field=field, reason=f"cannot sort by {key!r}; one of {sorted(allowed)}"
            )
        sort.append((key.strip(), _descending(direction or "desc")))
    return sort or [("created_at", True)]


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
