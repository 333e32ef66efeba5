"""The backup engine's pure parts: extent-map comparison, manifests, chunk keys and codecs."""

from __future__ import annotations

import pytest

from hearth import errors
from hearth.backup import chunks, manifest
from hearth.backup.extents import Mapping, shared_windows

MiB = 1 << 20
CHUNK = 4 * MiB


def mapped(*extents: tuple[int, int, int], flags: int = 0) -> list[Mapping]:
    return [Mapping(logical, physical, length, flags) for logical, physical, length in extents]


def test_windows_mapped_to_the_same_blocks_are_shared_even_when_split_differently() -> None:
    old = mapped((0, 100 * MiB, 12 * MiB))
    new = mapped((0, 100 * MiB, 5 * MiB), (5 * MiB, 105 * MiB, 7 * MiB))
    assert shared_windows(new, old, [0, CHUNK, 2 * CHUNK], CHUNK, 12 * MiB) == {
        0,
        CHUNK,
        2 * CHUNK,
    }


def test_a_window_with_one_rewritten_block_is_not_shared() -> None:
    old = mapped((0, 100 * MiB, 8 * MiB))
    new = mapped(
        (0, 100 * MiB, 6 * MiB), (6 * MiB, 900 * MiB, 4096), (6 * MiB + 4096, 106 * MiB + 4096, MiB)
    )
    assert shared_windows(new, old, [0, CHUNK], CHUNK, 8 * MiB) == {0}


def test_a_window_that_gained_data_or_has_untrusted_extents_is_not_shared() -> None:
    old = mapped((0, 100 * MiB, 2 * MiB))
    gained = mapped((0, 100 * MiB, 2 * MiB), (3 * MiB, 200 * MiB, MiB))
    delayed = mapped((0, 100 * MiB, 2 * MiB), flags=0x4)
    assert shared_windows(gained, old, [0], CHUNK, CHUNK) == set()
    assert shared_windows(delayed, delayed, [0], CHUNK, CHUNK) == set()


def sample() -> manifest.Manifest:
    return manifest.Manifest(
        backup_id="b",
        parent_id=None,
        volume_size=3 * CHUNK + 5,
        chunk_size=CHUNK,
        compression="zstd",
        extents=(
            manifest.Extent(0, CHUNK, "a" * 64),
            manifest.Extent(CHUNK, CHUNK, None),
            manifest.Extent(2 * CHUNK, CHUNK + 5, "b" * 64),
        ),
        created_at="2025-01-01T00:00:00+00:00",
    )


def test_a_manifest_survives_encoding_and_decoding() -> None:
    original = sample()
    assert manifest.decode("b", manifest.encode(original)) == original
    assert original.chunk_keys() == {"a" * 64, "b" * 64}
    assert original.data_bytes() == 2 * CHUNK + 5


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[:-3],
        lambda text: text.replace('"format":1', '"format":9'),
        lambda text: text.replace(f"[{CHUNK},{CHUNK},null]", f"[{CHUNK},{CHUNK - 1},null]"),
        lambda text: text.replace('"volume_size":', '"volume_size":1'),
    ],
    ids=["truncated", "unknown format", "a gap between extents", "extents short of the size"],
)
def test_a_damaged_manifest_is_refused_as_corrupt(damage: object) -> None:
    text = manifest.encode(sample()).decode()
    with pytest.raises(errors.BackupCorrupt, match="Backup b is corrupt"):
        manifest.decode("b", damage(text).encode())  # type: ignore[operator]


def test_a_chunk_key_depends_on_its_codec_and_checks_what_it_decodes() -> None:
    data = b"hearth" * 1000
    key = chunks.key_of("zstd", data)
    assert key != chunks.key_of("none", data)
    stored = chunks.codec("zstd").encode(data, 3)
    assert chunks.unpack("b", "zstd", key, stored) == data
    with pytest.raises(errors.BackupCorrupt, match="does not match its hash"):
        chunks.unpack("b", "zstd", chunks.key_of("zstd", b"other"), stored)
    with pytest.raises(errors.InvalidInput, match="compression"):
        chunks.codec("lz4")
