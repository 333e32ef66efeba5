"""Progress reports of a create from an image: every phase shows, the end of a phase
shows, and in between the volume row is written at most once per interval."""

from __future__ import annotations

from hearth.image import progress

Phase = progress.Phase


def written(interval: float, reports: list[tuple[Phase, int, int]]) -> list[tuple[str, int]]:
    steps: list[progress.Step] = []
    throttle = progress.Throttle(steps.append, interval=interval)
    for phase, done, total in reports:
        throttle.report(phase, done, total)
    return [(str(s.phase), s.done) for s in steps]


def test_within_a_long_interval_only_phase_changes_and_ends_are_written() -> None:
    reports = [(Phase.FETCH, 0, 10), (Phase.CONVERT, 0, 100)]
    reports += [(Phase.CONVERT, done, 100) for done in range(10, 101, 10)]
    reports += [(Phase.CLONE, 0, 5)]

    assert written(3600, reports) == [
        ("fetch", 0),
        ("convert", 0),
        ("convert", 100),
        ("clone", 0),
    ]


def test_with_no_interval_every_new_value_is_written_once() -> None:
    reports = [(Phase.CONVERT, 0, 100), (Phase.CONVERT, 0, 100), (Phase.CONVERT, 50, 100)]

    assert written(0, reports) == [("convert", 0), ("convert", 50)]


def test_a_step_is_stored_as_plain_json() -> None:
    step = progress.Step(Phase.CONVERT, 5, 10)

    assert step.as_dict() == {"phase": "convert", "done": 5, "total": 10}
