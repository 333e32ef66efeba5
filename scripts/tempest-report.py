"""Summarises a Tempest run for scripts/tempest, from its subunit stream.

Usage: tempest-report.py RUN.subunit OUTDIR

Prints (to stderr) passed/failed/skipped overall and for the admin and non-admin tests,
counted as stestr counts them (a class whose setup failed or skipped is one record),
and writes OUTDIR/failing.txt (one failing test id a line) and OUTDIR/skipped.txt (id and
reason). Prints (to stdout) the pass rate of what ran, in percent with one decimal, which
scripts/tempest compares with scripts/tempest-floor. Runs in Tempest's virtualenv (it has
python-subunit and testtools).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import subunit
import testtools

_ATTRIBUTES = re.compile(r"\[.*\]$")


def outcomes(stream_path: Path) -> dict[str, tuple[str, str]]:
    """Test id -> (status, skip reason or ''), for every test the stream ran."""
    found: dict[str, tuple[str, str]] = {}

    def on_test(test: dict[str, object]) -> None:
        test_id = _ATTRIBUTES.sub("", str(test["id"]))
        status = str(test["status"])
        if status not in {"success", "fail", "skip"}:  # e.g. "xfail", "uxsuccess"
            status = "fail" if status != "success" else status
        details = test.get("details") or {}
        reason = ""
        if status == "skip" and isinstance(details, dict) and "reason" in details:
            reason = details["reason"].as_text()
        found[test_id] = (status, reason)

    with stream_path.open("rb") as stream:
        case = subunit.ByteStreamToStreamResult(stream, non_subunit_name="stdout")
        result = testtools.StreamToDict(on_test)
        result.startTestRun()
        case.run(result)
        result.stopTestRun()
    return found


def main(stream_path: str, outdir: str) -> None:
    found = outcomes(Path(stream_path))
    counts: Counter[tuple[str, str]] = Counter()
    for test_id, (status, _) in found.items():
        group = "admin" if ".admin." in test_id else "non-admin"
        counts[(group, status)] += 1
        counts[("all", status)] += 1
    for group in ("all", "admin", "non-admin"):
        passed, failed = counts[(group, "success")], counts[(group, "fail")]
        ran = passed + failed
        rate = 100.0 * passed / ran if ran else 0.0
        print(
            f"tempest {group}: passed {passed}, failed {failed}, "
            f"skipped {counts[(group, 'skip')]}; pass rate of what ran {rate:.1f}%",
            file=sys.stderr,
        )
    out = Path(outdir)
    failing = sorted(test_id for test_id, (status, _) in found.items() if status == "fail")
    (out / "failing.txt").write_text("".join(f"{test_id}\n" for test_id in failing))
    skipped = sorted(
        f"{test_id}  {reason}" for test_id, (status, reason) in found.items() if status == "skip"
    )
    (out / "skipped.txt").write_text("".join(f"{line}\n" for line in skipped))
    passed, failed = counts[("all", "success")], counts[("all", "fail")]
    print(f"{100.0 * passed / (passed + failed) if passed + failed else 0.0:.1f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
