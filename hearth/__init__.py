"""Hearth: a block-storage volume service.

The library entry point is :class:`hearth.Hearth` (``hearth.service.facade.Hearth``)::

    import hearth
    with hearth.Hearth.open("./hearth-data") as service:
        volume = service.create_volume(size=1)
"""

from __future__ import annotations

from typing import Any

__all__ = ["Hearth"]


def __getattr__(name: str) -> Any:
    # Imported lazily: ``import hearth.errors`` must not load the whole service.
    if name == "Hearth":
        from hearth.service.facade import Hearth

        return Hearth
    raise AttributeError(name)
