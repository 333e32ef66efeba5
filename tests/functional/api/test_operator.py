"""The operator's resources over HTTP: services (heartbeats, disable, freeze, log levels),
pools, capabilities, hosts, zones, extensions and QoS specs."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from tests.functional.api.conftest import Api


def services(admin: httpx.Client, **query: str) -> list[dict[str, Any]]:
    answer = admin.get("/v3/os-services", params=query)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["services"]
    return found


def test_services_are_listed_up_and_enabled_from_their_heartbeats(
    admin: httpx.Client, alice: httpx.Client
) -> None:
    listed = services(admin)
    assert {s["binary"] for s in listed} == {"cinder-scheduler", "cinder-volume", "cinder-backup"}
    backup = services(admin, binary="cinder-backup")
    assert [s["host"] for s in backup] == ["backup"] and backup[0]["state"] == "up"
    volume = services(admin, binary="cinder-volume")
    assert [s["host"] for s in volume] == ["local"]
    assert volume[0]["state"] == "up" and volume[0]["status"] == "enabled"
    assert volume[0]["zone"] == "nova" and volume[0]["frozen"] is False
    assert alice.get("/v3/os-services").status_code == 403


def test_a_disabled_backend_gets_no_new_volumes_until_enabled(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    body = {"host": "local", "binary": "cinder-volume", "disabled_reason": "maintenance"}
    answer = admin.put("/v3/os-services/disable-log-reason", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "disabled"
    shown = services(admin, binary="cinder-volume")[0]
    assert shown["status"] == "disabled" and shown["disabled_reason"] == "maintenance"
    created = alice.post("/v3/volumes", json={"volume": {"size": 1}}).json()["volume"]
    api.wait_for(lambda: api.volume_status(alice, created["id"]) == "error")
    messages = alice.get("/v3/messages", headers={"OpenStack-API-Version": "volume 3.3"})
    assert "disabled or frozen" in messages.text
    enabled = admin.put("/v3/os-services/enable", json={"host": "local", "binary": "cinder-volume"})
    assert enabled.json()["status"] == "enabled"
    api.created(alice)


def test_a_frozen_backend_refuses_management_and_is_not_scheduled(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    volume = api.created(alice)
    assert admin.put("/v3/os-services/freeze", json={"host": "local"}).status_code == 200
    assert services(admin, binary="cinder-volume")[0]["frozen"] is True
    refused = alice.delete(f"/v3/volumes/{volume['id']}")
    assert refused.status_code == 409 and "frozen" in refused.text
    extend = {"os-extend": {"new_size": 2}}
    assert alice.post(f"/v3/volumes/{volume['id']}/action", json=extend).status_code == 409
    snap = alice.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    assert snap.status_code == 409
    assert api.volume_status(alice, volume["id"]) == "available"
    created = alice.post("/v3/volumes", json={"volume": {"size": 1}}).json()["volume"]
    api.wait_for(lambda: api.volume_status(alice, created["id"]) == "error")
    again = admin.put("/v3/os-services/freeze", json={"host": "local"})
    assert again.status_code == 409
    assert admin.put("/v3/os-services/thaw", json={"host": "local"}).status_code == 200
    assert alice.delete(f"/v3/volumes/{volume['id']}").status_code == 202


def test_service_actions_refuse_bad_input_naming_it(admin: httpx.Client) -> None:
    for action, body, status, named in (
        ("disable", {"host": "local"}, 400, "binary"),
        ("disable", {"host": "nowhere", "binary": "cinder-volume"}, 404, "nowhere"),
        ("disable-log-reason", {"host": "local", "binary": "cinder-volume"}, 400, "reason"),
        ("freeze", {}, 400, "host"),
        ("set-log", {"level": "LOUD"}, 400, "level"),
        ("set-log", {"level": "INFO", "binary": "cinder-api"}, 400, "binary"),
        ("explode", {}, 404, "explode"),
    ):
        answer = admin.put(f"/v3/os-services/{action}", json=body)
        assert answer.status_code == status and named in answer.text, (action, answer.text)
    assert services(admin, binary="cinder-volume")[0]["status"] == "enabled"


def test_set_log_changes_the_level_of_the_served_roles_and_get_log_reads_it(
    admin: httpx.Client,
) -> None:
    body = {"binary": "cinder-volume", "prefix": "hearth.volume", "level": "DEBUG"}
    try:
        assert admin.put("/v3/os-services/set-log", json=body).status_code == 202
        assert logging.getLogger("hearth.volume").level == logging.DEBUG
        answer = admin.put("/v3/os-services/get-log", json={"binary": "cinder-volume"})
        [levels] = answer.json()["log_levels"]
        assert levels["host"] == "local" and levels["levels"]["hearth.volume"] == "DEBUG"
    finally:
        logging.getLogger("hearth.volume").setLevel(logging.NOTSET)


def test_pools_capabilities_hosts_zones_and_extensions(
    api: Api, admin: httpx.Client, alice: httpx.Client
) -> None:
    api.created(alice, size=2)
    assert admin.get("/v3/scheduler-stats/get_pools").json() == {"pools": [{"name": "local"}]}
    [pool] = admin.get("/v3/scheduler-stats/get_pools", params={"detail": "True"}).json()["pools"]
    capabilities = pool["capabilities"]
    assert capabilities["allocated_capacity_gb"] == 2 and capabilities["total_capacity_gb"] > 0
    assert capabilities["volume_backend_name"] == "local"
    shown = admin.get("/v3/capabilities/local").json()
    assert shown["volume_backend_name"] == "local" and "clone_mode" in shown["properties"]
    assert admin.get("/v3/capabilities/elsewhere").status_code == 404
    hosts = admin.get("/v3/os-hosts").json()["hosts"]
    assert {h["service"] for h in hosts} == {"cinder-scheduler", "cinder-volume", "cinder-backup"}
    [total, project] = admin.get("/v3/os-hosts/local").json()["host"]
    assert total["resource"]["project"] == "(total)" and total["resource"]["volume_count"] == "1"
    assert project["resource"]["project"] == "project-a"
    assert project["resource"]["total_volume_gb"] == "2"
    zones = alice.get("/v3/os-availability-zone").json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}}]
    aliases = {e["alias"] for e in alice.get("/v3/extensions").json()["extensions"]}
    assert {"os-quota-sets", "os-services", "qos-specs", "scheduler-stats"} <= aliases
    assert alice.get("/v3/scheduler-stats/get_pools").status_code == 403


def test_qos_specs_live_and_die_with_their_associations(
    admin: httpx.Client, alice: httpx.Client
) -> None:
    body = {"qos_specs": {"name": "fast", "consumer": "front-end", "read_iops_sec": "2000"}}
    created = admin.post("/v3/qos-specs", json=body)
    assert created.status_code == 200, created.text
    qos = created.json()["qos_specs"]
    assert qos["specs"] == {"read_iops_sec": "2000"} and qos["consumer"] == "front-end"
    assert admin.post("/v3/qos-specs", json=body).status_code == 409
    changed = admin.put(f"/v3/qos-specs/{qos['id']}", json={"qos_specs": {"write_iops_sec": 500}})
    assert changed.json() == {"qos_specs": {"write_iops_sec": "500"}}
    kind = admin.post("/v3/types", json={"volume_type": {"name": "gold"}}).json()["volume_type"]
    associate = f"/v3/qos-specs/{qos['id']}/associate"
    assert admin.get(associate, params={"vol_type_id": kind["id"]}).status_code == 202
    listed = admin.get(f"/v3/qos-specs/{qos['id']}/associations").json()["qos_associations"]
    assert listed == [{"association_type": "volume_type", "name": "gold", "id": kind["id"]}]
    assert admin.get(f"/v3/types/{kind['id']}").json()["volume_type"]["qos_specs_id"] == qos["id"]
    refused = admin.delete(f"/v3/qos-specs/{qos['id']}")
    assert refused.status_code == 400 and "gold" in refused.text
    unset = admin.put(f"/v3/qos-specs/{qos['id']}/delete_keys", json={"keys": ["read_iops_sec"]})
    assert unset.status_code == 202
    missing = admin.put(f"/v3/qos-specs/{qos['id']}/delete_keys", json={"keys": ["nope"]})
    assert missing.status_code == 404
    shown = admin.get(f"/v3/qos-specs/{qos['id']}").json()["qos_specs"]
    assert shown["specs"] == {"write_iops_sec": "500"}
    assert admin.delete(f"/v3/qos-specs/{qos['id']}", params={"force": "True"}).status_code == 202
    assert admin.get(f"/v3/types/{kind['id']}").json()["volume_type"]["qos_specs_id"] is None
    assert admin.get("/v3/qos-specs").json() == {"qos_specs": []}
    assert alice.get("/v3/qos-specs").status_code == 403


def test_back_end_qos_specs_are_refused_at_association_as_the_file_backend_cannot_enforce_them(
    admin: httpx.Client,
) -> None:
    body = {"qos_specs": {"name": "slow", "consumer": "back-end", "total_bytes_sec": "1000"}}
    qos = admin.post("/v3/qos-specs", json=body).json()["qos_specs"]
    kind = admin.post("/v3/types", json={"volume_type": {"name": "iron"}}).json()["volume_type"]
    refused = admin.get(f"/v3/qos-specs/{qos['id']}/associate", params={"vol_type_id": kind["id"]})
    assert refused.status_code == 400 and "total_bytes_sec" in refused.text
    assert admin.get(f"/v3/qos-specs/{qos['id']}/associations").json()["qos_associations"] == []
    front = {"qos_specs": {"name": "ok", "consumer": "front-end"}}
    ok = admin.post("/v3/qos-specs", json=front).json()["qos_specs"]
    assert (
        admin.get(
            f"/v3/qos-specs/{ok['id']}/associate", params={"vol_type_id": kind["id"]}
        ).status_code
        == 202
    )
    to_back = admin.put(
        f"/v3/qos-specs/{ok['id']}", json={"qos_specs": {"consumer": "both", "x": "1"}}
    )
    assert to_back.status_code == 400
    for bad, named in (
        ({"name": "b", "consumer": "sideways"}, "consumer"),
        ({"consumer": "both"}, "name"),
    ):
        answer = admin.post("/v3/qos-specs", json={"qos_specs": bad})
        assert answer.status_code == 400 and named in answer.text
    answer = admin.get(f"/v3/qos-specs/{ok['id']}/associate", params={"vol_type_id": "nope"})
    assert answer.status_code == 404
