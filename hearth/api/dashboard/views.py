"""The JSON document of ``GET /dashboard/state``: a ``service.overview.Overview`` with
times as ISO 8601 strings, ages in seconds and each create's progress as a percent.

    {"taken_at": "...", "backends": [...], "creates": [...], "failures": [...],
     "image_cache": [...]}
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from hearth.service import overview


def state(seen: overview.Overview) -> dict[str, Any]:
    """The document for one overview."""
    return {
        "taken_at": _time(seen.taken_at),
        "backends": [dataclasses.asdict(backend) for backend in seen.backends],
        "creates": [_create(create) for create in seen.creates],
        "failures": [_with_times(failure) for failure in seen.failures],
        "image_cache": [_with_times(entry) for entry in seen.image_cache],
    }


def _create(create: overview.CreateState) -> dict[str, Any]:
    document = dataclasses.asdict(create)
    document["percent"] = percent(create.progress)
    return document


def percent(progress: dict[str, Any] | None) -> float | None:
    """How far a create's current phase is (0 to 100), or None without progress."""
    if not progress:
        return None
    total = int(progress.get("total") or 0)
    if total <= 0:
        return None
    return round(min(100.0, 100.0 * int(progress.get("done") or 0) / total), 1)


def _with_times(item: Any) -> dict[str, Any]:
    return {
        key: _time(value) if isinstance(value, datetime) else value
        for key, value in dataclasses.asdict(item).items()
    }


def _time(value: datetime) -> str:
    return value.isoformat()
