"""Scheduler weighers: in which order the backends that passed the filters are tried.

Chosen by name in the settings (``[scheduler] weigher``). A weigher maps a backend to a
number; higher goes first, ties go to the name so placement is repeatable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hearth.scheduler.filters import BackendState

Weigher = Callable[[BackendState], float]

WEIGHERS: dict[str, Weigher] = {
    "capacity": lambda backend: backend.free_capacity_gb,
    "allocated": lambda backend: -backend.allocated_capacity_gb,
}


def order(candidates: Sequence[BackendState], weigher: str) -> list[BackendState]:
    """The candidates, best first."""
    weigh = WEIGHERS[weigher]
    return sorted(candidates, key=lambda backend: (-weigh(backend), backend.name))
