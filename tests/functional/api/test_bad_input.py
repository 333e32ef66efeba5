"""Bad input: each answered 400 (415: a body of another media type) with a message naming
the field, and nothing created. The classes no database can store (NUL, lone surrogates,
integers beyond a column) run on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hearth.api import documents
from tests.functional.api import refusals
from tests.functional.api.conftest import Api


@pytest.fixture
def nothing_created(api: Api, alice: httpx.Client) -> Iterator[None]:
    """Fails the test if a volume row or a backend file appeared."""
    backend = api.hearth.services.settings.backend_directory("local") / "volumes"
    before = set(backend.glob("*")) if backend.exists() else set()
    yield
    assert api.hearth.list_volumes() == []
    after = set(backend.glob("*")) if backend.exists() else set()
    assert after == before


def refused(client: httpx.Client, body: object, field: str, **kwargs: object) -> None:
    response = client.post("/v3/volumes", json=body, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 400, response.text
    message = response.json()["badRequest"]["message"]
    assert field in message, message


@pytest.mark.parametrize("size", ["one", 1.5, True, [1], {"gb": 1}])
def test_a_size_that_is_not_an_integer_is_refused(
    alice: httpx.Client, nothing_created: None, size: object
) -> None:
    refused(alice, {"volume": {"size": size}}, "size")


@pytest.mark.parametrize("size", [0, -1, 10**9])
def test_a_size_not_above_zero_or_too_big_is_refused(
    alice: httpx.Client, nothing_created: None, size: int
) -> None:
    refused(alice, {"volume": {"size": size}}, "size")


def not_found(client: httpx.Client, body: object, named: str) -> None:
    """A create naming something that does not exist: 404 naming it, as Cinder answers."""
    response = client.post("/v3/volumes", json=body)
    assert response.status_code == 404, response.text
    assert named in response.json()["itemNotFound"]["message"]


def test_an_unknown_volume_type_is_not_found(alice: httpx.Client, nothing_created: None) -> None:
    not_found(alice, {"volume": {"size": 1, "volume_type": "platinum"}}, "platinum")


def test_two_sources_are_refused(api: Api, alice: httpx.Client) -> None:
    source = api.created(alice)
    snapshot = alice.post("/v3/snapshots", json={"snapshot": {"volume_id": source["id"]}})
    body = {
        "volume": {
            "size": 1,
            "source_volid": source["id"],
            "snapshot_id": snapshot.json()["snapshot"]["id"],
        }
    }

    refused(alice, body, "snapshot_id")

    assert len(api.hearth.list_volumes()) == 1


def test_a_missing_source_is_not_found(alice: httpx.Client, nothing_created: None) -> None:
    not_found(alice, {"volume": {"size": 1, "source_volid": "no-such-volume"}}, "no-such-volume")
    not_found(alice, {"volume": {"size": 1, "snapshot_id": "no-such-snap"}}, "no-such-snap")


def test_malformed_json_is_refused_naming_the_body(
    alice: httpx.Client, nothing_created: None
) -> None:
    response = alice.post(
        "/v3/volumes",
        content=b'{"volume": {"size": 1',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    assert "request body" in response.json()["badRequest"]["message"]


@pytest.mark.parametrize("body", [[1, 2], "volume", 3, None])
def test_a_body_that_is_not_an_object_is_refused(
    alice: httpx.Client, nothing_created: None, body: object
) -> None:
    refused(alice, body, "request body")


def test_a_body_without_its_volume_object_is_refused_naming_it(
    alice: httpx.Client, nothing_created: None
) -> None:
    refused(alice, {"size": 1}, "volume")


def test_an_oversized_body_is_refused(alice: httpx.Client, nothing_created: None) -> None:
    big = {"volume": {"size": 1, "description": "x" * (200 * 1024)}}

    refused(alice, big, "request body")


def test_an_oversized_body_sent_in_chunks_is_refused(
    alice: httpx.Client, nothing_created: None
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"volume": {"size": 1, "description": "'
        for _ in range(200):
            yield b"x" * 1024
        yield b'"}}'

    response = alice.post("/v3/volumes", content=chunks())

    assert response.status_code == 400
    assert "request body" in response.json()["badRequest"]["message"]


def test_an_unsupported_field_is_refused_by_name(
    alice: httpx.Client, nothing_created: None
) -> None:
    refused(alice, {"volume": {"size": 1, "multiattach": True}}, "multiattach")
    refused(alice, {"volume": {"size": 1, "consistencygroup_id": "cg"}}, "consistencygroup_id")


def test_a_query_parameter_of_the_wrong_type_is_a_bad_request_not_a_422(
    alice: httpx.Client,
) -> None:
    response = alice.get("/v3/volumes", params={"limit": "many"})

    assert response.status_code == 400
    assert "limit" in response.json()["badRequest"]["message"]


# Input no database may store, and input the parsers must refuse before anything is read:
# each refused with 400 (415: a body of another media type) naming the field, on SQLite and
# on PostgreSQL, with every row count and every file as they were.

NUL, SURROGATE = "a\x00b", "\ud800"
UNSTORABLE = [pytest.param(NUL, id="nul"), pytest.param(SURROGATE, id="surrogate")]
Body = Callable[[str, "Resources"], object]


@dataclass(frozen=True)
class Resources:
    """What the refused requests name: an available volume, its snapshot, a volume type."""

    volume: str
    snapshot: str
    volume_type: str


@dataclass
class Live:
    api: Api
    member: httpx.Client
    admin: httpx.Client
    resources: Resources


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """One live API per database for every test below, with a volume, a snapshot and a type
    the requests can name."""
    with (
        refusals.api_on(request.param, tmp_path_factory.mktemp("bad-input")) as api,
        api.client("project-a", "alice") as member,
        api.client("admin", "root") as admin,
    ):
        volume = api.created(member)
        snapshot = member.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
        assert snapshot.status_code == 202, snapshot.text
        volume_type = admin.post("/v3/types", json={"volume_type": {"name": "gold"}})
        assert volume_type.status_code == 200, volume_type.text
        refusals.settle(api)
        ids = Resources(
            volume["id"], snapshot.json()["snapshot"]["id"], volume_type.json()["volume_type"]["id"]
        )
        yield Live(api, member, admin, ids)


def refused_as(
    live: Live,
    method: str,
    path: str,
    field: str,
    *,
    body: object = None,
    status: int = 400,
    admin: bool = False,
    **kwargs: Any,
) -> None:
    """Send a request (a body as JSON text: it may hold escaped surrogates) and expect it
    refused with ``status``, its message naming ``field``, and the world unchanged."""
    client = live.admin if admin else live.member
    if body is not None:
        kwargs.setdefault("content", json.dumps(body))
        kwargs.setdefault("headers", {"Content-Type": "application/json"})
    before = refusals.world(live.api)
    response = client.request(method, path.format(**vars(live.resources)), **kwargs)
    assert response.status_code == status, response.text
    [(_, fault)] = response.json().items()
    assert field in fault["message"], fault["message"]
    assert refusals.world(live.api) == before


TEXT_FIELDS: list[tuple[str, str, Body, str]] = [
    ("POST", "/v3/volumes", lambda s, r: {"volume": {"size": 1, "name": s}}, "name"),
    ("POST", "/v3/volumes", lambda s, r: {"volume": {"size": 1, "description": s}}, "description"),
    (
        "POST",
        "/v3/volumes",
        lambda s, r: {"volume": {"size": 1, "availability_zone": s}},
        "availability_zone",
    ),
    ("POST", "/v3/volumes", lambda s, r: {"volume": {"size": 1, "volume_type": s}}, "volume_type"),
    ("POST", "/v3/volumes", lambda s, r: {"volume": {"snapshot_id": s}}, "snapshot_id"),
    ("POST", "/v3/volumes", lambda s, r: {"volume": {"source_volid": s}}, "source_volid"),
    ("POST", "/v3/volumes", lambda s, r: {"volume": {"size": 1, "imageRef": s}}, "image_id"),
    ("POST", "/v3/volumes", lambda s, r: {"volume": {"size": 1, "metadata": {"k": s}}}, "metadata"),
    ("POST", "/v3/volumes", lambda s, r: {"volume": {"size": 1, "metadata": {s: "v"}}}, "metadata"),
    ("POST", "/v3/snapshots", lambda s, r: {"snapshot": {"volume_id": s}}, "volume_id"),
    (
        "POST",
        "/v3/snapshots",
        lambda s, r: {"snapshot": {"volume_id": r.volume, "name": s}},
        "name",
    ),
    (
        "POST",
        "/v3/snapshots",
        lambda s, r: {"snapshot": {"volume_id": r.volume, "metadata": {"k": s}}},
        "metadata",
    ),
    ("PUT", "/v3/volumes/{volume}", lambda s, r: {"volume": {"name": s}}, "name"),
    ("PUT", "/v3/volumes/{volume}", lambda s, r: {"volume": {"description": s}}, "description"),
    ("PUT", "/v3/volumes/{volume}", lambda s, r: {"volume": {"metadata": {"k": s}}}, "metadata"),
    ("POST", "/v3/volumes/{volume}/metadata", lambda s, r: {"metadata": {"k": s}}, "metadata"),
    ("PUT", "/v3/volumes/{volume}/metadata", lambda s, r: {"metadata": {s: "v"}}, "metadata"),
    ("PUT", "/v3/volumes/{volume}/metadata/k", lambda s, r: {"meta": {"k": s}}, "metadata"),
    ("PUT", "/v3/snapshots/{snapshot}", lambda s, r: {"snapshot": {"name": s}}, "name"),
    (
        "PUT",
        "/v3/snapshots/{snapshot}",
        lambda s, r: {"snapshot": {"description": s}},
        "description",
    ),
    ("POST", "/image/v2/images", lambda s, r: {"name": s, "disk_format": "raw"}, "name"),
    ("POST", "/image/v2/images", lambda s, r: {"name": "i", "disk_format": "raw", "os": s}, "os"),
]
ADMIN_TEXT_FIELDS: list[tuple[str, str, Body, str]] = [
    ("POST", "/v3/types", lambda s, r: {"volume_type": {"name": s}}, "name"),
    (
        "POST",
        "/v3/types",
        lambda s, r: {"volume_type": {"name": "silver", "description": s}},
        "description",
    ),
    (
        "POST",
        "/v3/types",
        lambda s, r: {"volume_type": {"name": "silver", "extra_specs": {"k": s}}},
        "extra_specs",
    ),
    (
        "POST",
        "/v3/types/{volume_type}/extra_specs",
        lambda s, r: {"extra_specs": {s: "v"}},
        "extra_specs",
    ),
]


def _ids(cases: list[tuple[str, str, Body, str]]) -> list[str]:
    return [f"{method} {path} {field}" for method, path, _, field in cases]


@pytest.mark.parametrize("text", UNSTORABLE)
@pytest.mark.parametrize(("method", "path", "body", "field"), TEXT_FIELDS, ids=_ids(TEXT_FIELDS))
def test_text_no_database_can_store_is_refused_naming_the_field(
    live: Live, method: str, path: str, body: Body, field: str, text: str
) -> None:
    refused_as(live, method, path, field, body=body(text, live.resources))


@pytest.mark.parametrize("text", UNSTORABLE)
@pytest.mark.parametrize(
    ("method", "path", "body", "field"), ADMIN_TEXT_FIELDS, ids=_ids(ADMIN_TEXT_FIELDS)
)
def test_text_no_database_can_store_is_refused_in_admin_requests_too(
    live: Live, method: str, path: str, body: Body, field: str, text: str
) -> None:
    refused_as(live, method, path, field, body=body(text, live.resources), admin=True)


MICROVERSION = "OpenStack-API-Version"


@pytest.mark.parametrize(
    ("path", "params", "field", "version"),
    [
        ("/v3/volumes", {"name": NUL}, "name", "3.0"),
        ("/v3/volumes/detail", {"marker": NUL}, "marker", "3.0"),
        ("/v3/volumes", {"status": NUL}, "status", "3.0"),
        ("/v3/volumes", {"metadata": json.dumps({"k": NUL})}, "metadata", "3.0"),
        ("/v3/volumes", {"metadata": json.dumps({"k": SURROGATE})}, "metadata", "3.0"),
        ("/v3/volumes", {"metadata": json.dumps({SURROGATE: "v"})}, "metadata", "3.0"),
        ("/v3/snapshots", {"volume_id": NUL}, "volume_id", "3.0"),
        ("/v3/snapshots", {"metadata": json.dumps({"k": NUL})}, "metadata", "3.22"),
        ("/v3/messages", {"request_id": NUL}, "request_id", "3.5"),
        ("/image/v2/images", {"name": NUL}, "name", "3.0"),
        ("/image/v2/images", {"marker": NUL}, "marker", "3.0"),
    ],
)
def test_a_query_filter_no_database_can_store_is_refused_naming_it(
    live: Live, path: str, params: dict[str, str], field: str, version: str
) -> None:
    refused_as(live, "GET", path, field, params=params, headers={MICROVERSION: f"volume {version}"})


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/v3/volumes/%00", "volume_id"),
        ("DELETE", "/v3/volumes/a%00", "volume_id"),
        ("GET", "/v3/snapshots/%00", "snapshot_id"),
        ("GET", "/v3/types/%00", "type_id"),
        ("DELETE", "/v3/volumes/{volume}/metadata/%00", "key"),
        ("GET", "/v3/project-a%00/volumes", "project_id"),
        ("GET", "/image/v2/images/%00", "image_id"),
    ],
)
def test_a_path_no_database_can_store_is_refused_naming_the_parameter(
    live: Live, method: str, path: str, field: str
) -> None:
    refused_as(live, method, path, field)


def test_a_message_id_no_database_can_store_is_refused(live: Live) -> None:
    refused_as(live, "GET", "/v3/messages/%00", "message_id", headers={MICROVERSION: "volume 3.3"})


BEYOND_INTEGER_COLUMNS = [2**31, 2**63, 10**30]


@pytest.mark.parametrize("number", BEYOND_INTEGER_COLUMNS)
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v3/volumes", lambda n: {"volume": {"size": n}}, "size"),
        (
            "POST",
            "/v3/volumes/{volume}/action",
            lambda n: {"os-extend": {"new_size": n}},
            "new_size",
        ),
        (
            "POST",
            "/image/v2/images",
            lambda n: {"name": "i", "disk_format": "raw", "min_disk": n},
            "min_disk",
        ),
        (
            "POST",
            "/image/v2/images",
            lambda n: {"name": "i", "disk_format": "raw", "min_ram": n},
            "min_ram",
        ),
    ],
    ids=["volume size", "extend", "image min_disk", "image min_ram"],
)
def test_an_integer_beyond_its_column_is_refused_naming_the_field(
    live: Live, method: str, path: str, body: Callable[[int], object], field: str, number: int
) -> None:
    refused_as(live, method, path, field, body=body(number))


@pytest.mark.parametrize("number", [str(n) for n in BEYOND_INTEGER_COLUMNS])
@pytest.mark.parametrize(
    ("path", "name", "version"),
    [
        ("/v3/volumes", "size", "3.0"),
        ("/v3/volumes/detail", "limit", "3.0"),
        ("/v3/snapshots", "limit", "3.0"),
        ("/v3/messages", "limit", "3.5"),
        ("/image/v2/images", "limit", "3.0"),
    ],
)
def test_a_query_integer_beyond_its_column_is_refused_naming_it(
    live: Live, path: str, name: str, version: str, number: str
) -> None:
    headers = {MICROVERSION: f"volume {version}"}
    refused_as(live, "GET", path, name, params={name: number}, headers=headers)


# digits of other scripts pass str.isdigit(); int() refuses '²' and reads '١٢' as 12
NUMBER_LOOKALIKES = ["²", "١٢", "--1", "1e3", "0x10", "1_0", "+1", ""]


@pytest.mark.parametrize("text", NUMBER_LOOKALIKES)
def test_a_number_string_that_is_not_ascii_digits_is_refused_in_bodies(
    live: Live, text: str
) -> None:
    refused_as(live, "POST", "/v3/volumes", "size", body={"volume": {"size": text}})
    refused_as(
        live,
        "POST",
        "/v3/volumes/{volume}/action",
        "new_size",
        body={"os-extend": {"new_size": text}},
    )


@pytest.mark.parametrize("text", NUMBER_LOOKALIKES)
@pytest.mark.parametrize(
    ("path", "name"),
    [("/v3/volumes", "size"), ("/v3/volumes", "limit"), ("/image/v2/images", "limit")],
)
def test_a_number_string_that_is_not_ascii_digits_is_refused_in_queries(
    live: Live, path: str, name: str, text: str
) -> None:
    refused_as(live, "GET", path, name, params={name: text})


def nested(levels: int) -> str:
    """A JSON value whose arrays and objects nest ``levels`` deep (objects first)."""
    half = levels // 2
    return '{"a": ' * half + "[" * (levels - half) + "]" * (levels - half) + "}" * half


@pytest.mark.parametrize(
    ("method", "path", "wrap", "admin"),
    [
        ("POST", "/v3/volumes", '{{"volume": {{"size": 1, "metadata": {}}}}}', False),
        ("POST", "/v3/volumes/{volume}/action", '{{"os-extend": {{"new_size": {}}}}}', False),
        ("PUT", "/v3/volumes/{volume}/metadata", '{{"metadata": {}}}', False),
        ("PUT", "/v3/snapshots/{snapshot}", '{{"snapshot": {{"name": {}}}}}', False),
        ("POST", "/image/v2/images", '{{"name": "i", "disk_format": "raw", "os": {}}}', False),
        ("POST", "/v3/types", '{{"volume_type": {{"name": {}}}}}', True),
    ],
)
def test_a_body_nesting_deeper_than_the_limit_is_refused(
    live: Live, method: str, path: str, wrap: str, admin: bool
) -> None:
    depth_of_wrap = wrap.count("{{")  # the objects around the placeholder
    too_deep = wrap.format(nested(documents.MAX_DEPTH + 1 - depth_of_wrap))
    deep_enough = wrap.format(nested(documents.MAX_DEPTH - depth_of_wrap))
    headers = {"Content-Type": "application/json"}
    client = live.admin if admin else live.member
    url = path.format(**vars(live.resources))

    at_the_limit = client.request(method, url, content=deep_enough, headers=headers)
    refused_as(
        live,
        method,
        path,
        "nests deeper than 32 levels",
        content=too_deep,
        headers=headers,
        admin=admin,
    )

    assert at_the_limit.status_code == 400  # by the field's check, not by the parser
    assert "nests deeper" not in at_the_limit.text


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 20_000], ids=["arrays", "objects"])
def test_a_body_nesting_far_deeper_is_refused_without_recursing(live: Live, text: str) -> None:
    headers = {"Content-Type": "application/json"}
    refused_as(live, "POST", "/v3/volumes", "request body", content=text, headers=headers)


def test_a_deeply_nested_metadata_filter_is_refused_naming_it(live: Live) -> None:
    refused_as(live, "GET", "/v3/volumes", "metadata", params={"metadata": "[" * 5000})


@pytest.mark.parametrize(
    "text",
    [
        '{"volume": {"size": 1' + "0" * 5000 + "}}",
        '{"volume": {"size": NaN}}',
        '{"volume": {"size": Infinity}}',
        b'{"volume": {"size": 1, "name": "\xff"}}',
    ],
    ids=["5000 digits", "NaN", "Infinity", "not UTF-8"],
)
def test_json_no_parser_should_accept_is_refused_naming_the_body(
    live: Live, text: str | bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    refused_as(live, "POST", "/v3/volumes", "request body", content=text, headers=headers)


VOLUME_BODY = json.dumps({"volume": {"size": 1}})


@pytest.mark.parametrize(
    ("method", "path", "content_type", "admin"),
    [
        ("POST", "/v3/volumes", "text/plain", False),
        ("POST", "/v3/volumes", "application/x-www-form-urlencoded", False),
        ("POST", "/v3/volumes", "application/xml", False),
        ("PUT", "/v3/volumes/{volume}", "text/plain", False),
        ("POST", "/v3/volumes/{volume}/action", "text/plain", False),
        ("POST", "/v3/volumes/{volume}/metadata", "application/octet-stream", False),
        ("POST", "/v3/snapshots", "text/plain", False),
        ("POST", "/v3/types", "text/plain", True),
        ("POST", "/image/v2/images", "text/plain", False),
    ],
)
def test_a_body_of_another_media_type_is_unsupported_and_changes_nothing(
    live: Live, method: str, path: str, content_type: str, admin: bool
) -> None:
    refused_as(
        live,
        method,
        path,
        content_type,
        status=415,
        admin=admin,
        content=VOLUME_BODY,
        headers={"Content-Type": content_type},
    )


def test_a_body_without_a_content_type_is_refused_naming_the_header(live: Live) -> None:
    refused_as(live, "POST", "/v3/volumes", "Content-Type", content=VOLUME_BODY.encode())


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=UTF-8",
        "Application/JSON",
        "application/vnd.openstack.volume+json",
    ],
)
def test_a_json_body_is_read_whatever_its_parameters_or_cinders_own_media_type(
    api: Api, alice: httpx.Client, content_type: str
) -> None:
    response = alice.post(
        "/v3/volumes", content=VOLUME_BODY, headers={"Content-Type": content_type}
    )

    assert response.status_code == 202, response.text


def test_an_identity_longer_than_its_column_is_refused_naming_the_header(live: Live) -> None:
    with live.api.client("p" * 256, "alice") as client:
        before = refusals.world(live.api)
        response = client.post("/v3/volumes", json={"volume": {"size": 1}})

    assert response.status_code == 400
    assert "X-Auth-Token" in response.json()["badRequest"]["message"]
    assert refusals.world(live.api) == before


def test_a_microversion_of_thousands_of_digits_is_not_acceptable(live: Live) -> None:
    response = live.member.get("/v3/volumes", headers={MICROVERSION: "volume 3." + "1" * 5000})

    assert response.status_code == 406
