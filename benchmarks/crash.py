"""Fault injection at full size: a volume manager SIGKILLed 200 times while it creates.

Runs the crash harness (``tests/crash/harness.py``): this process is the user and the
scheduler, the volume manager of two file backends (one with the image-volume cache, one
without) is a subprocess on the same SQLite database (or ``--database``) and broker. Each
round arms one kill point -- a task boundary of the create flow, a point inside the sparse
copy of a clone or a snapshot copy, ``qemu-img convert`` at some percent, a filled cache
entry not yet marked ready, or a random delay -- asks for one create (raw, clone, from a
snapshot, from a qcow2 image with or without the cache), restarts the manager once it
died and checks, within 30 s: every volume ``available`` with the right bytes or ``error``
with a user message; no backend file without a row; no ``available`` row without its
complete file; claims equal to the recount; no temporary file; a clean audit; no
``qemu-img`` of the dead manager still running.

Prints the counts (kills, recovered-to-available, recovered-to-error, stuck, orphans) and
every invariant violation, and exits 1 on a violation. Needs ``qemu-img`` and a broker
(RabbitMQ by default). A failure names its seed: ``--seed`` replays it.

    python benchmarks/crash.py [--kills 200] [--seed N] [--bus URL] [--database URL]
                               [--data-mib 96] [--image-mib 256] [--keep]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.brokers import broker_problem
from tests.crash import harness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="kills to make [200]")
    parser.add_argument("--seed", type=int, default=None, help="replay a run [random]")
    parser.add_argument("--bus", default=harness.DEFAULT_BUS, help="broker URL [RabbitMQ]")
    parser.add_argument("--database", default=None, help="database URL [SQLite in the run]")
    parser.add_argument("--data-mib", type=int, default=96, help="MiB of data in volumes")
    parser.add_argument("--image-mib", type=int, default=256, help="MiB of data in the image")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    problem = broker_problem(args.bus)
    if problem is not None:
        sys.exit(problem)
    work = Path(tempfile.mkdtemp(prefix="hearth-crash-"))
    run = harness.Harness(
        work,
        seed=seed,
        bus_url=args.bus,
        database_url=args.database,
        data_mib=args.data_mib,
        image_mib=args.image_mib,
        log=lambda line: print(line, flush=True),
    )
    started = time.monotonic()
    try:
        run.open()
        report = run.run(args.kills)
    finally:
        run.close()
    print("\n".join(report.lines()))
    print(f"{time.monotonic() - started:.0f} s")
    if report.violations:
        print(f"FAILED: replay with --seed {seed} (run and manager.log kept in {work})")
        sys.exit(1)
    if args.keep:
        print(f"run and manager.log kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
