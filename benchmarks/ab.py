"""Before/after in one run: a benchmark alternately on two checkouts' ``hearth``.

Runs ``benchmark`` (a script of this directory, with its arguments) ``--rounds`` times on
each of two source trees, alternating A, B, A, B... so both meet the same load on this
shared machine, then prints, for every output line both printed (numbers aside), the
min/median/max of each number, A against B.

    python benchmarks/ab.py --a /work/main --b . --rounds 3 -- flow_overhead.py -n 300

The script itself is always this checkout's (so a new benchmark can measure old code); the
``hearth`` package it imports, and that the processes it starts import, is the tree's.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")
"""A figure: not part of a word (p99), a version or a path."""
LABEL = re.compile(r"^\s*[\d,/ ]*\d(?= )")
"""Numbers that open a line (a row's label, e.g. its size) are part of its template."""
RUNNER = (
    "import sys, runpy; sys.path.insert(0, sys.argv[1]); import hearth; "
    "sys.argv = sys.argv[2:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def run_once(tree: Path, script: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", RUNNER, str(tree), str(HERE / script[0]), *script[1:]]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{script[0]} failed on {tree}")
    return done.stdout


def collect(outputs: list[str]) -> dict[str, list[list[float]]]:
    """Per line template (numbers replaced by {}), each number's values over the runs."""
    found: dict[str, list[list[float]]] = defaultdict(list)
    for output in outputs:
        for line in output.splitlines():
            label = LABEL.match(line)
            head, rest = (label.group(0), line[label.end() :]) if label else ("", line)
            numbers = [float(n) for n in NUMBER.findall(rest)]
            if not numbers:
                continue
            template = head.replace("{", "{{").replace("}", "}}") + NUMBER.sub("{}", rest)
            template = " ".join(template.split())  # column widths vary with the figures
            columns = found[template]
            while len(columns) < len(numbers):
                columns.append([])
            for column, value in zip(columns, numbers, strict=False):
                column.append(value)
    return found


def spread(values: list[float]) -> str:
    return f"{min(values):g}/{statistics.median(values):g}/{max(values):g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="the baseline tree")
    parser.add_argument("--b", type=Path, required=True, help="the candidate tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("script", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    script = [s for s in args.script if s != "--"]
    outputs: dict[str, list[str]] = {"A": [], "B": []}
    for round_number in range(args.rounds):
        for label, tree in (("A", args.a), ("B", args.b)):
            out = run_once(tree.resolve(), script)
            print(f"--- round {round_number + 1} {label} ({tree})\n{out}", flush=True)
            outputs[label].append(out)
    a, b = collect(outputs["A"]), collect(outputs["B"])
    print(f"=== min/median/max over {args.rounds} rounds: A={args.a}  B={args.b}")
    for template, columns in a.items():
        if template not in b:
            print(f"A only: {template.format(*(spread(c) for c in columns))}")
            continue
        print(f"A: {template.format(*(spread(c) for c in columns))}")
        print(f"B: {template.format(*(spread(c) for c in b[template]))}")
    for template, columns in b.items():
        if template not in a:
            print(f"B only: {template.format(*(spread(c) for c in columns))}")


if __name__ == "__main__":
    main()
