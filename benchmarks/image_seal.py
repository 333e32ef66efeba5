"""Cold creates from a stored image with and without re-hashing it, interleaved in one run.

A create that misses the image-volume cache fetches the stored image and, unless its file
still shows the seal of an earlier verification (``hearth.image.fetch.Seal``), hashes it
while ``qemu-img convert`` runs. This runs cold creates (image cache off, straight into the
volume) from one 2 GiB qcow2 (``--data-percent`` data) alternately with the fetcher's seals
kept (the default: no re-hash) and dropped before each create (every create hashes, as
before the seal), after one discarded warm-up of each, and prints min/median/max seconds.

    python benchmarks/image_seal.py [--dir PATH] [--repeat 5] [--data-percent 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.image import cold_create, make_qcow2
from hearth import config
from hearth.image import fetch
from hearth.service.facade import Hearth


def spread(samples: list[float]) -> str:
    return f"{min(samples):.3f}/{statistics.median(samples):.3f}/{max(samples):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-percent", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        source = make_qcow2(work, args.data_percent)
        source_mib = source.stat().st_size >> 20
        settings = config.load(
            data_dir=work / "data",
            environ={},
            overrides={
                "notifications": {"drivers": []},
                "backends": {"local": {"image_cache": {"enabled": False}}},
            },
        )
        with Hearth.open(settings=settings) as hearth:
            image = hearth.create_image("bench", disk_format="qcow2", file=source)
            fetcher: Any = hearth.services.managers["local"].image_tools.fetcher
            fetch.SETTLED_NS = 0  # the upload just happened: seal at the first create
            samples: dict[str, list[float]] = {"sealed": [], "re-hashed": []}
            for turn in range(args.repeat + 1):
                for mode in ("sealed", "re-hashed") if turn % 2 else ("re-hashed", "sealed"):
                    if mode == "re-hashed":
                        fetcher._seals.clear()
                    seconds = cold_create(hearth, image.id)
                    if turn:  # the first turn warms the page cache
                        samples[mode].append(seconds)
    print(f"cold create from a 2 GiB qcow2 ({source_mib} MiB), cache off")
    for mode, values in samples.items():
        print(f"{mode:<10} {spread(values)} s (min/median/max of {len(values)})")
    saved = 1 - statistics.median(samples["sealed"]) / statistics.median(samples["re-hashed"])
    print(f"time saved by not re-hashing: {saved:.0%} of a cold create")


if __name__ == "__main__":
    main()
