"""The metrics' own pieces: the image path's phase clock, the in-flight phase of a row, and
``/metrics`` on ``[metrics] port`` for a process without the API."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hearth import metrics
from hearth.image import progress
from hearth.metrics import phases, state
from tests.conftest import make_settings, open_hearth
from tests.fakes import FakeDriver

SAMPLES = metrics.registry()


def count(phase: str, source: str = "image") -> float:
    labels = {"phase": phase, "source": source}
    return SAMPLES.get_sample_value("hearth_create_phase_seconds_count", labels) or 0.0


def data_bytes(kind: str) -> float:
    return SAMPLES.get_sample_value("hearth_data_bytes_total", {"kind": kind}) or 0.0


def test_the_clock_observes_each_download_phase_once_and_counts_its_bytes() -> None:
    before = {p: count(p, "test") for p in ("fetch", "inspect", "convert")}
    fetched, converted = data_bytes("fetched"), data_bytes("converted")
    clock = phases.PhaseClock("test")
    steps = [
        (progress.Phase.FETCH, 0, 100),
        (progress.Phase.INSPECT, 0, 100),
        (progress.Phase.INSPECT, 100, 100),
        (progress.Phase.CONVERT, 10, 400),
        (progress.Phase.CONVERT, 400, 400),
        (progress.Phase.CONVERT, 400, 400),  # after the verify: the same phase, not again
        (progress.Phase.CLONE, 0, 400),  # timed by a span, not by steps
    ]
    for phase, done, total in steps:
        clock.step(progress.Step(phase, done, total))
    clock.end()

    assert {p: count(p, "test") - before[p] for p in before} == {
        "fetch": 1,
        "inspect": 1,
        "convert": 1,
    }
    assert data_bytes("fetched") - fetched == 100
    assert data_bytes("converted") - converted == 400


def test_a_fetch_that_fails_before_the_file_opens_counts_its_time_but_no_bytes() -> None:
    before, fetched = count("fetch", "test"), data_bytes("fetched")
    clock = phases.PhaseClock("test")
    clock.step(progress.Step(progress.Phase.FETCH, 0, 100))
    clock.end()
    assert count("fetch", "test") - before == 1
    assert data_bytes("fetched") == fetched


def test_a_span_is_observed_however_it_ends_and_counts_copied_bytes_only_on_success() -> None:
    before, copied = count("cache_fill", "test"), data_bytes("copied")
    clock = phases.PhaseClock("test")
    try:
        with clock.span("cache_fill", copied=5):
            raise RuntimeError("fill failed")
    except RuntimeError:
        pass
    with clock.span("cache_fill", copied=7):
        pass
    assert count("cache_fill", "test") - before == 2
    assert data_bytes("copied") - copied == 7


def test_an_unfinished_create_is_in_the_phase_its_row_shows() -> None:
    phase_of = state._phase_of
    assert phase_of(None, None, "creating", None) == "scheduling"
    assert phase_of("a", "scheduled", "creating", None) == "queue_wait"
    assert phase_of("a", "started", "creating", None) == "copy"
    assert phase_of("a", "started", "downloading", None) == "fetch"
    assert phase_of("a", "started", "downloading", {"phase": "convert"}) == "convert"
    assert phase_of("a", "started", "creating", {"phase": "clone"}) == "copy"
    assert phase_of("a", "made", "creating", None) == "finish"


def test_a_process_without_the_api_serves_metrics_on_its_own_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = make_settings(tmp_path / "data", metrics={"port": port})
    hearth = open_hearth(settings, {"local": FakeDriver()})
    try:
        assert hearth.services.serve_metrics() == port
        hearth.create_volume(size=1)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        hearth.close()
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"hearth_operations", "hearth_backend_capacity_bytes", "hearth_bus_consumers"} <= names
    assert "hearth_create_phase_seconds" in names


def test_with_the_port_at_zero_nothing_is_served(tmp_path: Path) -> None:
    hearth = open_hearth(make_settings(tmp_path / "data"), {"local": FakeDriver()})
    try:
        assert hearth.services.serve_metrics() is None
    finally:
        hearth.close()
