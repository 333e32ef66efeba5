"""Image inspection: the first thing that reads an image's bytes, before any ``qemu-img``.

Runs at upload (``store``) and again at every create (``hearth.volume.flows.image_source``)
before ``qemu-img info`` or ``convert`` sees the file. It detects the real format with the
image format inspector of oslo.utils, refuses a format other than the declared one, and
runs the inspector's safety checks: no qcow2 backing file or external data file, no
unknown qcow2 features, no VMDK extent outside the file. ``qemu-img`` then always gets the
detected format with an explicit ``-f``, so it never probes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from oslo_utils.imageutils import format_inspector

from hearth import errors

DISK_FORMATS: dict[str, tuple[frozenset[str], str]] = {
    "raw": (frozenset({"raw", "gpt", "iso"}), "raw"),
    "qcow2": (frozenset({"qcow2"}), "qcow2"),
    "vmdk": (frozenset({"vmdk"}), "vmdk"),
    "vhd": (frozenset({"vhd"}), "vpc"),
    "vpc": (frozenset({"vhd"}), "vpc"),
    "vhdx": (frozenset({"vhdx"}), "vhdx"),
    "vdi": (frozenset({"vdi"}), "vdi"),
}
"""Declared disk format -> (inspector names that content may have, qemu-img's format name).
A raw disk may hold a partition table or an ISO file system: to qemu-img it is still raw."""

CONTAINER_FORMATS = frozenset({"bare"})

_REASONS = {
    "backing_file": "it has a backing file",
    "data_file": "it has an external data file",
    "unknown_features": "it uses qcow2 features this service does not know",
    "version": "its format version is not supported",
    "descriptor": "its VMDK descriptor is unsupported or refers to files outside the image",
    "footer": "its VMDK footer is invalid",
    "mbr": "its partition table is invalid",
    "inner_safety": "its inner image is unsafe",
    "passphrase": "it is encrypted",
    "extents": "its VMDK extents refer to data outside the image",
}


@dataclass(frozen=True)
class Inspection:
    """What inspection established about an image file."""

    format: str
    """The format to give ``qemu-img`` with ``-f``."""
    virtual_size: int
    """Bytes of the disk the image describes."""


def inspect(path: Path, declared: str, image_id: str) -> Inspection:
    """Detect and check the image at ``path``, declared as ``declared``.

    Raises ImageFormatMismatch, ImageUnsafe (with a reason a user can read, never a path),
    or ImageFetchFailed when the file cannot be read.
    """
    accepted, qemu_format = _declared(declared)
    inspector = _detect(path, image_id)
    detected = str(inspector)
    if detected not in accepted:
        raise errors.ImageFormatMismatch(image_id=image_id, declared=declared, detected=detected)
    _check_safety(inspector, image_id)
    size = _virtual_size(path, inspector, qemu_format, image_id)
    return Inspection(format=qemu_format, virtual_size=size)


def _declared(declared: str) -> tuple[frozenset[str], str]:
    try:
        return DISK_FORMATS[declared]
    except KeyError:
        raise errors.InvalidInput(
            field="disk_format", reason=f"must be one of {sorted(DISK_FORMATS)}"
        ) from None


def _detect(path: Path, image_id: str) -> format_inspector.FileInspector:
    try:
        inspector = format_inspector.detect_file_format(str(path))
    except format_inspector.ImageFormatError as exc:
        raise errors.ImageUnsafe(image_id=image_id, reason="its format is ambiguous") from exc
    except OSError as exc:
        raise errors.ImageFetchFailed(image_id=image_id, detail=str(exc)) from exc
    if inspector is None:  # the inspector never decided: treat as unreadable, not as raw
        raise errors.ImageUnsafe(image_id=image_id, reason="its format cannot be determined")
    return inspector


def _check_safety(inspector: format_inspector.FileInspector, image_id: str) -> None:
    try:
        inspector.safety_check()
    except format_inspector.SafetyCheckFailed as exc:
        names = sorted(exc.failures)
        reason = "; ".join(_REASONS.get(name, f"it failed the {name} check") for name in names)
        raise errors.ImageUnsafe(image_id=image_id, reason=reason, detail=str(exc)) from exc
    except format_inspector.ImageFormatError as exc:
        raise errors.ImageUnsafe(
            image_id=image_id, reason="it is truncated or malformed", detail=str(exc)
        ) from exc
    if str(inspector) == "vmdk" and not _only_sparse_extents(inspector):
        raise errors.ImageUnsafe(image_id=image_id, reason=_REASONS["extents"])


def _only_sparse_extents(inspector: format_inspector.FileInspector) -> bool:
    """A monolithic VMDK's descriptor lists its extents; only SPARSE ones live inside the
    file. The inspector refuses paths with '/'; this also refuses FLAT, VMFS and other
    extents naming a file beside the image (defence in depth)."""
    text: str = getattr(inspector, "desc_text", None) or ""
    extents = [
        words
        for words in (line.split() for line in text.split("\n"))
        if words and words[0] in ("rw", "rdonly", "noaccess")
    ]
    return all(len(words) > 2 and words[2] == "sparse" for words in extents)


def _virtual_size(
    path: Path, inspector: format_inspector.FileInspector, qemu_format: str, image_id: str
) -> int:
    if qemu_format == "raw":  # the raw inspector's size is what it read, not the file's
        try:
            return os.stat(path).st_size
        except OSError as exc:
            raise errors.ImageFetchFailed(image_id=image_id, detail=str(exc)) from exc
    size = int(inspector.virtual_size)
    if size <= 0:
        raise errors.ImageUnsafe(image_id=image_id, reason="its virtual size cannot be read")
    return size
