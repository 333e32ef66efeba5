"""Reused tasks of the create flow: ``get_flow`` takes the tasks that hold nothing of one
request from here and gives them back when its engine is done.

TaskFlow inspects signatures as it builds a task: building these five costs 0.55-0.7 ms.
Measured with ``benchmarks/flow_overhead.py`` (fake driver, SQLite, pool on and off in
alternating rounds of one session) the pool saves about 10% of a raw create: 7.6/9.1/10.3 ms
a create (min/median/max of six rounds) with it, 9.0/10.1/11.3 ms without.

A set serves one running flow at a time: TaskFlow tells every engine running a task instance
about that task's progress, so two flows never share one. Sets are kept per owner (a volume
manager, held weakly) and per the collaborators they were built with.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

Tasks = tuple[Any, ...]


class TaskPool:
    """Free sets of tasks, per owner and per the collaborators they were built with."""

    def __init__(self) -> None:
        self._free: weakref.WeakKeyDictionary[Any, dict[Hashable, list[Tasks]]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def take(self, owner: Any, collaborators: tuple[Any, ...], build: Callable[[], Tasks]) -> Tasks:
        """A free set built with ``collaborators``, or a new one from ``build``. An owner
        of None gets a new set each time."""
        if owner is not None:
            with self._lock:
                free = self._free.get(owner, {}).get(_key(collaborators))
                if free:
                    return free.pop()
        return build()

    def give_back(self, owner: Any, collaborators: tuple[Any, ...], tasks: Tasks) -> None:
        """Keep ``tasks``, built with ``collaborators``, for the owner's next flow."""
        if owner is None:
            return
        with self._lock:
            self._free.setdefault(owner, {}).setdefault(_key(collaborators), []).append(tasks)


def _key(collaborators: tuple[Any, ...]) -> Hashable:
    # identities: the pooled tasks keep those objects alive, so an id is never reused
    return tuple(c if isinstance(c, str) else id(c) for c in collaborators)


POOL = TaskPool()
"""The process's pool (its sets die with their owner)."""
