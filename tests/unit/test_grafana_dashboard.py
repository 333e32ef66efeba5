"""The Grafana dashboard and the Prometheus scrape example in ``docs/``: they parse, and every
query uses only Hearth's metric names with their own labels."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

DOCS = Path(__file__).parents[2] / "docs"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

# The fixed metric names (the integrator's METRICS.md): name -> (type, labels)
METRICS: dict[str, tuple[str, frozenset[str]]] = {
    "hearth_create_phase_seconds": ("histogram", frozenset({"phase", "source"})),
    "hearth_create_seconds": ("histogram", frozenset({"source", "outcome"})),
    "hearth_api_request_seconds": ("histogram", frozenset({"method", "route", "status"})),
    "hearth_notification_delivery_delay_seconds": ("histogram", frozenset()),
    "hearth_operations_total": ("counter", frozenset({"operation", "outcome", "code"})),
    "hearth_reschedules_total": ("counter", frozenset({"cause"})),
    "hearth_image_cache_events_total": ("counter", frozenset({"backend", "event"})),
    "hearth_data_bytes_total": ("counter", frozenset({"kind"})),
    "hearth_backend_capacity_bytes": ("gauge", frozenset({"backend", "kind"})),
    "hearth_creates_in_flight": ("gauge", frozenset({"phase"})),
    "hearth_outbox_backlog": ("gauge", frozenset()),
    "hearth_outbox_oldest_age_seconds": ("gauge", frozenset()),
    "hearth_bus_consumers": ("gauge", frozenset()),
    "hearth_service_up": ("gauge", frozenset({"service", "host"})),
}
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
TARGET_LABELS = frozenset({"job", "instance", "role"})
"""Labels Prometheus adds from the scrape configuration."""


def _series_names() -> dict[str, str]:
    """Every series name a query may use, with the metric it belongs to."""
    names = {}
    for metric, (kind, _) in METRICS.items():
        for suffix in HISTOGRAM_SERIES if kind == "histogram" else ("",):
            names[metric + suffix] = metric
    return names


def _dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DOCS / "grafana-dashboard.json").read_text())
    return document


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _queries() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in _panels(_dashboard()["panels"])
        for target in panel.get("targets", [])
    ]


def test_the_dashboard_takes_its_prometheus_from_the_ds_prometheus_variable() -> None:
    dashboard = _dashboard()

    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "DS_PROMETHEUS",
        "datasource",
        "prometheus",
    )
    for panel in _panels(dashboard["panels"]):
        if panel["type"] != "row":
            assert panel["datasource"] == DATASOURCE, panel["title"]
            assert all(t["datasource"] == DATASOURCE for t in panel["targets"]), panel["title"]


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    panels = list(_panels(_dashboard()["panels"]))

    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]


def test_every_query_uses_only_hearths_metric_names() -> None:
    known = _series_names()
    used: set[str] = set()

    for title, expr in _queries():
        names = set(re.findall(r"\bhearth_[a-z_]+\b", expr))
        assert names, f"{title}: no Hearth metric in {expr}"
        unknown = names - known.keys()
        assert not unknown, f"{title}: {sorted(unknown)} are not Hearth metric names"
        used |= {known[name] for name in names}

    assert used == set(METRICS), f"no panel shows {sorted(set(METRICS) - used)}"


def test_every_query_groups_and_filters_by_its_metrics_own_labels() -> None:
    known = _series_names()
    for title, expr in _queries():
        metrics = {known[name] for name in re.findall(r"\bhearth_[a-z_]+\b", expr)}
        allowed = frozenset().union(*(METRICS[m][1] for m in metrics)) | TARGET_LABELS
        if any(METRICS[m][0] == "histogram" for m in metrics):
            allowed |= {"le"}
        grouped = {
            label.strip()
            for clause in re.findall(r"\b(?:by|without|ignoring|on)\s*\(([^)]*)\)", expr)
            for label in clause.split(",")
            if label.strip()
        }
        matched = set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)\s*\"", expr))
        assert grouped | matched <= allowed, f"{title}: {sorted((grouped | matched) - allowed)}"


def test_the_prometheus_example_scrapes_the_api_and_the_metrics_ports() -> None:
    config = yaml.safe_load((DOCS / "prometheus.yml").read_text())

    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"hearth-api", "hearth-workers"}
    assert all(job["metrics_path"] == "/metrics" for job in jobs.values())
    api_targets = [t for group in jobs["hearth-api"]["static_configs"] for t in group["targets"]]
    assert api_targets == ["127.0.0.1:8776"]  # [api] port's default
    assert jobs["hearth-workers"]["static_configs"]
