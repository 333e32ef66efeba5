"""Scheduler filters: which backends may take a volume, and why none may.

Each filter keeps the backends that pass it; the first filter that leaves none names the
reason a user reads ("no backend in availability zone 'az9'"). Order: fresh reports,
enabled and not frozen (``os-services``), the source's backend (copies stay with their
source), not tried yet, availability zone, capabilities against the volume type's extra
specs, capacity.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hearth import errors


@dataclass(frozen=True)
class BackendState:
    """A backend as the scheduler sees it (from its last report and its claims)."""

    name: str
    availability_zone: str
    capabilities: Mapping[str, Any]
    capacity_limit_gb: int
    allocated_capacity_gb: int
    free_bytes: int
    reported_at: datetime | None
    disabled: bool = False
    """An operator disabled its volume service (``os-services/disable``)."""
    frozen: bool = False
    """An operator froze it (``os-services/freeze``)."""

    @property
    def free_capacity_gb(self) -> int:
        """GiB that may still be claimed here."""
        return self.capacity_limit_gb - self.allocated_capacity_gb


@dataclass(frozen=True)
class PlacementRequest:
    """What a volume needs of its backend."""

    size_gb: int
    availability_zone: str | None
    extra_specs: Mapping[str, str]
    volume_type: str | None
    tried: frozenset[str]
    source_host: str | None
    now: datetime
    down_after: timedelta
    last_failure: str | None = None
    """Why the previous attempt failed, if this is a retry."""


Filter = Callable[[BackendState, PlacementRequest], bool]


def is_fresh(backend: BackendState, request: PlacementRequest) -> bool:
    """Its manager reported lately (a silent manager may be dead)."""
    reported = backend.reported_at
    return reported is not None and request.now - reported <= request.down_after


def is_enabled(backend: BackendState, request: PlacementRequest) -> bool:
    """Its volume service is neither disabled nor frozen."""
    return not (backend.disabled or backend.frozen)


def holds_the_source(backend: BackendState, request: PlacementRequest) -> bool:
    """A copy of a snapshot or volume is made where the source lives."""
    return request.source_host is None or backend.name == request.source_host


def not_tried(backend: BackendState, request: PlacementRequest) -> bool:
    """An earlier attempt of this create did not fail there."""
    return backend.name not in request.tried


def in_zone(backend: BackendState, request: PlacementRequest) -> bool:
    """It is in the requested availability zone (any zone if none was asked for)."""
    return request.availability_zone in (None, backend.availability_zone)


def has_capabilities(backend: BackendState, request: PlacementRequest) -> bool:
    """Its capabilities satisfy every capability extra spec of the volume type."""
    for key, spec in request.extra_specs.items():
        scope, _, name = key.rpartition(":")
        if scope not in ("", "capabilities"):
            continue  # other scopes (qos:, hw:) are for drivers, not placement
        if name not in backend.capabilities or not spec_matches(spec, backend.capabilities[name]):
            return False
    return True


def has_room(backend: BackendState, request: PlacementRequest) -> bool:
    """Its claims leave room for the volume (the claim itself re-checks atomically)."""
    return backend.free_capacity_gb >= request.size_gb and backend.free_bytes > 0


FILTERS: Sequence[tuple[Filter, Callable[[PlacementRequest], str]]] = (
    (is_fresh, lambda r: f"no backend has reported in the last {r.down_after.seconds} s"),
    (is_enabled, lambda r: "every backend that reported is disabled or frozen"),
    (holds_the_source, lambda r: f"the source's backend {r.source_host} is not available"),
    (not_tried, lambda r: f"every backend that could take it failed ({_names(r.tried)}){_last(r)}"),
    (in_zone, lambda r: f"no backend in availability zone {r.availability_zone!r}"),
    (has_capabilities, lambda r: f"no backend matches volume type {r.volume_type!r}"),
    (has_room, lambda r: f"no backend has room for {r.size_gb} GiB"),
)


def select(backends: Sequence[BackendState], request: PlacementRequest) -> list[BackendState]:
    """The backends that pass every filter; raises NoValidBackend naming the first filter
    that left none."""
    candidates = list(backends)
    for keep, reason in FILTERS:
        candidates = [backend for backend in candidates if keep(backend, request)]
        if not candidates:
            raise errors.NoValidBackend(reason=reason(request))
    return candidates


_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def spec_matches(spec: str, value: Any) -> bool:
    """Whether a capability value satisfies an extra spec, with Cinder's operators:
    ``<is> True``, ``<in> word``, ``<or> a <or> b``, ``>= 10`` (and <=, ==, !=), or equality."""
    words = spec.split()
    if len(words) == 2 and words[0] == "<is>":
        return str(value).lower() == words[1].lower()
    if len(words) == 2 and words[0] == "<in>":
        return words[1] in str(value)
    if words and words[0] == "<or>":
        return str(value) in [word.strip() for word in spec.split("<or>") if word.strip()]
    if len(words) == 2 and words[0] in _COMPARISONS:
        try:
            return _COMPARISONS[words[0]](float(value), float(words[1]))
        except (TypeError, ValueError):
            return False
    return str(value) == spec


def _names(names: frozenset[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _last(request: PlacementRequest) -> str:
    return f"; the last failure: {request.last_failure}" if request.last_failure else ""
