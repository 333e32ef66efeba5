"""Metrics, scraped from a live API: creates of every source type, a failure, a reschedule and
a cache hit, then ``GET /metrics`` parsed with ``prometheus_client.parser``.

Two backends: ``files`` (the real file driver, its image-volume cache on) and ``flaky`` (the
fake driver, told to fail). The fake driver reports far more free space, so a create without
a type lands on ``flaky`` first; the other creates ask for the type ``on-files``. Counters and
histograms are the process's, so every assertion is on the difference between a scrape
before and one after.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hearth import errors
from hearth.api import server
from hearth.metrics import state
from hearth.service.facade import Hearth
from tests.conftest import make_settings, open_hearth
from tests.fakes import FakeDriver
from tests.functional.api.conftest import Api
from tests.images import known_raw, made_as
from tests.waiting import wait_until

GiB = 1 << 30
IMAGES = "/image/v2/images"
Samples = Counter[tuple[str, frozenset[tuple[str, str]]]]


def scrape(url: str) -> Samples:
    """Every sample of ``GET /metrics``, by name and labels."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found: Samples = Counter()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] += sample.value
    return found


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset(labels.items()))


def phases(source: str, **counts: int) -> dict[tuple[str, frozenset[tuple[str, str]]], int]:
    return {
        key("hearth_create_phase_seconds_count", phase=phase, source=source): count
        for phase, count in counts.items()
    }


@pytest.fixture
def flaky() -> FakeDriver:
    return FakeDriver()


@pytest.fixture
def live(tmp_path: Path, flaky: FakeDriver) -> Iterator[Api]:
    settings = make_settings(
        tmp_path / "data", api={"port": 0}, backends={"files": {}, "flaky": {}}
    )
    hearth = open_hearth(settings, {"flaky": flaky})
    hearth.create_volume_type("on-files", extra_specs={"volume_backend_name": "files"})
    try:
        with server.Background(hearth) as running:
            yield Api(hearth, running.url)
    finally:
        hearth.close()


@pytest.fixture
def alice(live: Api) -> Iterator[httpx.Client]:
    with live.client("project-a", "alice") as client:
        yield client


def created(api: Api, client: httpx.Client, outcome: str = "available", **fields: Any) -> str:
    response = client.post("/v3/volumes", json={"volume": {"size": 1, **fields}})
    assert response.status_code == 202, response.text
    volume_id: str = response.json()["volume"]["id"]
    api.wait_for(lambda: api.volume_status(client, volume_id) not in {"creating", "downloading"})
    assert api.volume_status(client, volume_id) == outcome
    return volume_id


def uploaded_image(client: httpx.Client, tmp_path: Path) -> tuple[str, int]:
    qcow2 = made_as(known_raw(tmp_path / "d.raw", size=4 << 20), "qcow2", tmp_path / "d.qcow2")
    body = {"name": "img", "disk_format": "qcow2", "container_format": "bare"}
    image = client.post(IMAGES, json=body).json()
    data = qcow2.read_bytes()
    octets = {"Content-Type": "application/octet-stream"}
    response = client.put(f"{IMAGES}/{image['id']}/file", content=data, headers=octets)
    assert response.status_code == 204, response.text
    return str(image["id"]), len(data)


def snapshot_of(api: Api, client: httpx.Client, volume_id: str) -> str:
    response = client.post("/v3/snapshots", json={"snapshot": {"volume_id": volume_id}})
    assert response.status_code == 202, response.text
    snapshot_id: str = response.json()["snapshot"]["id"]
    shown = f"/v3/snapshots/{snapshot_id}"
    api.wait_for(lambda: client.get(shown).json()["snapshot"]["status"] == "available")
    return snapshot_id


def settled(url: str, before: Samples, expected: dict[Any, int]) -> dict[Any, float]:
    """The differences of the expected samples, once they stopped moving towards them (a
    create's last observations land just after its status does)."""

    def differences() -> dict[Any, float]:
        now = scrape(url)
        return {k: now[k] - before[k] for k in expected}

    wait_until(lambda: differences() == expected, timeout=10)
    return differences()


def test_every_source_a_failure_a_reschedule_and_a_cache_hit_are_counted_exactly(
    live: Api, alice: httpx.Client, flaky: FakeDriver, tmp_path: Path
) -> None:
    image_id, image_bytes = uploaded_image(alice, tmp_path)
    memory = live.hearth.services.memory_notifications
    assert memory is not None
    delivered_before = len(memory.received())
    before = scrape(live.url)

    raw = created(live, alice, volume_type="on-files")
    created(live, alice, snapshot_id=snapshot_of(live, alice, raw))
    from_volume = created(live, alice, source_volid=raw)
    created(live, alice, imageRef=image_id, volume_type="on-files")  # cache miss: filled
    created(live, alice, imageRef=image_id, volume_type="on-files")  # cache hit
    flaky.fail("create_volume", errors.Invalid(reason="refused by the test"))
    created(live, alice, outcome="error")  # on flaky, terminal
    flaky.fail("create_volume", errors.BackendError(action="create the volume"))
    created(live, alice)  # on flaky, then rescheduled to files
    assert alice.delete(f"/v3/volumes/{from_volume}").status_code == 202
    live.wait_for(lambda: live.volume_status(alice, from_volume) is None)

    ops = "hearth_operations_total"
    expected = {
        # raw: the plain one, the failure, the reschedule (placed once, two attempts)
        **phases("raw", scheduling=3, queue_wait=4, extract=4, copy=4, finish=2),
        **phases("snap", scheduling=1, queue_wait=1, extract=1, copy=1, finish=1),
        **phases("source_vol", scheduling=1, queue_wait=1, extract=1, copy=1, finish=1),
        **phases(
            "image",
            scheduling=2,
            queue_wait=2,
            extract=2,
            fetch=1,
            inspect=1,
            convert=1,
            cache_fill=1,
            copy=2,  # the clones from the cache entry
            finish=2,
        ),
        key(ops, operation="volume_create", outcome="success", code=""): 6,
        key(ops, operation="volume_create", outcome="error", code="invalid"): 1,
        key(ops, operation="snapshot_create", outcome="success", code=""): 1,
        key(ops, operation="volume_delete", outcome="success", code=""): 1,
        key("hearth_create_seconds_count", source="raw", outcome="success"): 2,
        key("hearth_create_seconds_count", source="raw", outcome="error"): 1,
        key("hearth_create_seconds_count", source="image", outcome="success"): 2,
        key("hearth_reschedules_total", cause="backend_error"): 1,
        key("hearth_image_cache_events_total", backend="files", event="miss"): 1,
        key("hearth_image_cache_events_total", backend="files", event="hit"): 1,
        key("hearth_data_bytes_total", kind="fetched"): image_bytes,
        key("hearth_data_bytes_total", kind="converted"): 4 << 20,
        key("hearth_data_bytes_total", kind="copied"): 4 * GiB,  # snap, volume, 2 clones
    }
    assert settled(live.url, before, expected) == expected
    delay = key("hearth_notification_delivery_delay_seconds_count")
    delivered = len(memory.received()) - delivered_before
    assert delivered > 0
    assert settled(live.url, before, {delay: delivered}) == {delay: delivered}


def test_capacity_gauges_are_what_the_backend_list_reports(live: Api, alice: httpx.Client) -> None:
    created(live, alice, volume_type="on-files")
    created(live, alice)

    capacity = "hearth_backend_capacity_bytes"

    def gauges_and_rows() -> tuple[dict[Any, float], dict[Any, float]]:
        rows: dict[Any, float] = {}
        for b in live.hearth.list_backends():  # what `hearth backend list` shows
            rows[key(capacity, backend=b.name, kind="total")] = b.total_bytes
            rows[key(capacity, backend=b.name, kind="free")] = b.free_bytes
            rows[key(capacity, backend=b.name, kind="provisioned")] = b.provisioned_bytes
            rows[key(capacity, backend=b.name, kind="claimed")] = b.allocated_capacity_gb * GiB
        gauges = {k: v for k, v in scrape(live.url).items() if k[0] == capacity}
        return gauges, rows

    def agree() -> bool:  # a capacity report may land between the two reads: read again
        gauges, rows = gauges_and_rows()
        return gauges == rows

    wait_until(agree, timeout=10)
    gauges, rows = gauges_and_rows()
    assert gauges == rows
    assert len(rows) == 8  # two backends, four kinds
    assert gauges[key(capacity, backend="files", kind="claimed")] == 1 * GiB
    assert gauges[key(capacity, backend="flaky", kind="claimed")] == 1 * GiB
    found = scrape(live.url)
    assert found[key("hearth_service_up", service="volume", host="files")] == 1
    assert found[key("hearth_service_up", service="volume", host="flaky")] == 1
    assert found[key("hearth_bus_consumers")] == 4  # scheduler, two backends, backup service
    assert found[key("hearth_outbox_oldest_age_seconds")] >= 0
    in_flight = {
        dict(k[1])["phase"]: v for k, v in found.items() if k[0] == "hearth_creates_in_flight"
    }
    assert in_flight == dict.fromkeys(state.IN_FLIGHT_PHASES, 0)  # every create has ended


def test_api_latency_is_labelled_by_route_template_never_by_id(
    live: Api, alice: httpx.Client
) -> None:
    before = scrape(live.url)
    volume_id = created(live, alice, volume_type="on-files")
    assert alice.get(f"/v3/volumes/{volume_id}").status_code == 200
    assert httpx.get(f"{live.url}/v3/volumes").status_code == 401  # no caller: before routing
    assert alice.get("/v3/no-such-thing").status_code == 404
    after = scrape(live.url)

    seconds = "hearth_api_request_seconds_count"
    posted = key(seconds, method="POST", route="/v3/volumes", status="202")
    refused = key(seconds, method="GET", route="/v3/volumes", status="401")
    unmatched = key(seconds, method="GET", route="unmatched", status="404")
    shown = key(seconds, method="GET", route="/v3/volumes/{volume_id}", status="200")
    assert after[posted] - before[posted] == 1
    assert after[refused] - before[refused] == 1
    assert after[unmatched] - before[unmatched] == 1
    assert after[shown] - before[shown] >= 2  # created() polled it, then the GET above
    routes = {dict(labels).get("route", "") for name, labels in after if name == seconds}
    assert not any(volume_id in route for route in routes)
    assert "/metrics" not in routes


def test_metrics_switched_off_serve_nothing_and_time_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", api={"port": 0}, metrics={"enabled": False})
    hearth: Hearth = open_hearth(settings, {"local": FakeDriver()})
    try:
        assert hearth.services.metrics_registry is None
        assert not any(m.timed for m in hearth.services.managers.values())
        with server.Background(hearth) as running:
            answer = httpx.get(f"{running.url}/metrics", headers={"X-Auth-Token": "u:p"})
            assert answer.status_code == 404
    finally:
        hearth.close()
