"""Conversion: an inspected image becomes raw volume data, through ``qemu-img``.

Called by the create path (``hearth.volume.flows.image_source``) only after
``inspect.inspect`` passed: ``info`` reads the image's facts under resource limits and
checks them against the inspection; ``to_raw`` writes the raw disk into a file the driver
made (``-n``: qemu-img never creates files, so XFS gets no extent-size hint from it; the
file reads as zeros, so ``--target-is-zero`` lets qemu-img leave holes for zeros) and then
fsyncs it (qemu-img itself never flushes). A :class:`Target` that is no local file (an RBD
image, ``rbd:POOL/IMAGE``) is written through qemu-img's own block driver with the
``writeback`` cache, so qemu-img flushes it before it exits, under the address-space limit
the target asks for (librbd's threads need more than 1 GiB). At most ``concurrency``
conversions run at once in a process; the others wait their turn.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth import errors
from hearth.image import qemu

LOG = logging.getLogger(__name__)
UNLIMITED_CPU = 1 << 31
"""prlimit's CPU seconds for a conversion, which takes as long as the image is big."""
_PERCENT = re.compile(r"\(\s*([0-9.]+)/100%\)")


@dataclass(frozen=True)
class Facts:
    """What ``qemu-img info`` says of an image."""

    format: str
    virtual_size: int


@dataclass(frozen=True)
class Target:
    """What a conversion writes into: a new volume's data, before the volume is visible."""

    qemu_name: str
    """``qemu-img convert -n``'s output as qemu names it: a file path, or a block driver's
    name such as ``rbd:POOL/IMAGE:id=USER:conf=FILE``."""
    name: str
    """The backend's own name of the data being written (a file name, an RBD image)."""
    local_path: Path | None = None
    """The file itself, for backends that keep volumes as local files; None otherwise."""
    address_space_bytes: int | None = None
    """The address space qemu-img may map while writing it (None: no limit)."""

    @classmethod
    def file(cls, path: Path) -> Target:
        """A local file as a target."""
        return cls(qemu_name=str(path), name=path.name, local_path=path)


class Converter:
    """Runs ``qemu-img info`` and ``convert`` for the create path, a few at a time."""

    def __init__(self, *, concurrency: int, info_limits: qemu.Limits) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)
        self._info_limits = info_limits

    def info(self, path: Path, fmt: str, image_id: str) -> Facts:
        """``qemu-img info -f FMT`` under limits; refuses what inspection should have."""
        output = qemu.run(
            ["info", "-f", fmt, "--output=json", str(path)],
            image_id=image_id,
            limits=self._info_limits,
        )
        try:
            data: dict[str, Any] = json.loads(output)
            facts = Facts(format=str(data["format"]), virtual_size=int(data["virtual-size"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.ImageConversionFailed(
                image_id=image_id, reason="the image tool could not read it", detail=output[:200]
            ) from exc
        _refuse_references(data, image_id)
        if facts.format != fmt:
            raise errors.ImageFormatMismatch(image_id=image_id, declared=fmt, detected=facts.format)
        return facts

    def to_raw(
        self,
        source: Path,
        fmt: str,
        target: Target,
        *,
        image_id: str,
        virtual_size: int,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        """Write the raw disk of ``source`` (format ``fmt``) into the existing, all-zero
        ``target``, which is at least ``virtual_size`` bytes. ``on_progress`` gets the
        bytes converted so far."""
        local = target.local_path
        options = ["-p", "-n", "--target-is-zero", "-f", fmt, "-O", "raw"]
        if local is None:
            options += ["-t", "writeback"]  # flushed through librbd before qemu-img exits
        limits = None
        if target.address_space_bytes is not None:
            limits = qemu.Limits(
                cpu_seconds=UNLIMITED_CPU, address_space_bytes=target.address_space_bytes
            )
        with self._slots:
            if local is not None:
                _check_space(local.parent, virtual_size, image_id)
            qemu.run(
                ["convert", *options, str(source), target.qemu_name],
                image_id=image_id,
                limits=limits,
                on_output=_progress_parser(virtual_size, on_progress),
            )
        if local is not None:
            _flush(local)

    def from_raw(self, source: Path, fmt: str, target: Path, *, image_id: str) -> None:
        """Write the raw disk ``source`` as a new image file ``target`` in qemu-img's
        format ``fmt`` (a volume uploaded to an image), then fsync it."""
        with self._slots:
            qemu.run(
                ["convert", "-f", "raw", "-O", fmt, str(source), str(target)], image_id=image_id
            )
        _flush(target)


def _flush(target: Path) -> None:
    """qemu-img leaves its writes in the page cache (cache mode "unsafe"): make them
    durable here, while the image's hash is still being verified in its own thread."""
    try:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise errors.BackendError(action="write the converted image", detail=str(exc)) from exc


def _refuse_references(data: dict[str, Any], image_id: str) -> None:
    """Defence in depth behind inspection: qemu-img must see no other file."""
    specific = (data.get("format-specific") or {}).get("data") or {}
    if data.get("backing-filename") or data.get("full-backing-filename"):
        raise errors.ImageUnsafe(image_id=image_id, reason="it has a backing file")
    if specific.get("data-file"):
        raise errors.ImageUnsafe(image_id=image_id, reason="it has an external data file")


def _check_space(directory: Path, needed: int, image_id: str) -> None:
    """The conversion may write the whole virtual disk: refuse to start without room."""
    try:
        stats = os.statvfs(directory)
    except OSError as exc:
        raise errors.BackendError(action="convert the image", detail=str(exc)) from exc
    free = stats.f_bavail * stats.f_frsize
    if free < needed:
        raise errors.BackendFull(
            action="convert the image",
            detail=f"image {image_id} needs {needed} bytes, {free} are free",
        )


def _progress_parser(
    total: int, on_progress: Callable[[int], None] | None
) -> Callable[[str], None] | None:
    if on_progress is None:
        return None
    report = on_progress

    def parse(text: str) -> None:
        match = _PERCENT.search(text)
        if match:
            report(int(float(match.group(1)) / 100 * total))

    return parse
