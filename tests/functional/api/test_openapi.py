"""The API's OpenAPI description, served and committed, and schemathesis fuzzing the live
API in random mode over every operation it describes: whatever is sent, no answer is a
server error, every answer carries its request id, and a refused request (4xx) leaves
every row count and every file as it was.

Each operation is fuzzed with data that fits its description (positive) and data that
does not (negative), once with generated path parameters and once with the ids of real
resources (a volume, its snapshot, a type, an image), so that bodies reach the database;
half the cases carry one value the description cannot ask for (``hostile.py``: NUL, lone
surrogates, integers beyond a column, digits of other scripts, JSON nested too deep).
The run draws new examples every time; its seed is printed with any failure, and
``HEARTH_FUZZ_SEED=<seed>`` replays it. CI fuzzes each operation briefly on SQLite and
PostgreSQL; ``-m slow`` fuzzes it at length.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis.generation import GenerationMode

from hearth.api import versions
from tests.functional.api import hostile, refusals
from tests.functional.api.conftest import Api

COMMITTED = Path(__file__).parents[3] / "docs" / "openapi.json"
MEMBER = {"X-Auth-Token": "fuzz:project-f"}
ADMIN = {"X-Auth-Token": "root:admin"}
EXAMPLES_IN_CI = 3
"""Cases per operation, mode (positive, negative) and kind of path (generated, real ids):
about 800 requests on each database, some 20 s."""
EXAMPLES_WHEN_SLOW = 100
"""About 25,000 requests on each database, some 10 minutes."""
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Run:
    """One fuzzing run against a live API, and what it found."""

    api: Api
    examples: int
    seed: int = field(default_factory=lambda: int(os.environ.get("HEARTH_FUZZ_SEED", "0")))
    failures: list[str] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seed = self.seed or random.randrange(1, 2**32)

    def exercise(self, case: schemathesis.Case, headers: dict[str, str]) -> None:
        """Send one case; record a server error, a missing request id, or a refusal that
        changed the world. Work an accepted request started ends before the next case."""
        before = refusals.world(self.api)
        response = case.call(headers=headers, timeout=30)
        self.sent.append(response.status_code)
        if response.status_code >= 500 or "x-openstack-request-id" not in response.headers:
            self.failures.append(f"{response.status_code}: {case.as_curl_command()}")
        elif response.status_code >= 400:
            after = refusals.world(self.api)
            if after != before:
                changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
                self.failures.append(f"refused but changed {changed}: {case.as_curl_command()}")
        else:
            refusals.settle(self.api)


def real_ids(api: Api) -> dict[str, str]:
    """Resources fuzzed requests can name: a volume, its snapshot, a type, a queued image."""
    with api.client("project-f", "fuzz") as member, api.client("admin", "root") as admin:
        volume = api.created(member)
        snapshot = member.post("/v3/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
        volume_type = admin.post("/v3/types", json={"volume_type": {"name": "fuzzed"}})
        image = member.post("/image/v2/images", json={"name": "fuzzed", "disk_format": "raw"})
    refusals.settle(api)
    return {
        "volume_id": volume["id"],
        "snapshot_id": snapshot.json()["snapshot"]["id"],
        "type_id": volume_type.json()["volume_type"]["id"],
        "image_id": image.json()["id"],
        "key": "k",
    }


def fuzz(run: Run) -> list[schemathesis.APIOperation]:
    """Fuzz every operation of the API's description; returns the operations."""
    schema = schemathesis.openapi.from_url(f"{run.api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    real = real_ids(run.api)
    for number, operation in enumerate(operations):
        admin = "volume types" in (operation.definition.raw.get("tags") or [])
        fixed = {**real, "project_id": "admin" if admin else "project-f"}
        # deletes would remove the resources the other operations name; an upload whose
        # bytes are refused removes its image (as Glance does): both fuzz random ids only
        kinds: list[dict[str, str]] = [{}, fixed]
        if operation.method == "delete" or operation.path.endswith("/file"):
            kinds = [{}]
        strategies = [
            operation.as_strategy(
                generation_mode=mode,
                path_parameters={k: v for k, v in ids.items() if f"{{{k}}}" in operation.path},
            )
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for ids in kinds
        ]
        examples = run.examples * len(strategies)
        fuzz_one(
            run, st.one_of(strategies), ADMIN if admin else MEMBER, run.seed + number, examples
        )
    return operations


def fuzz_one(
    run: Run,
    strategy: SearchStrategy[schemathesis.Case],
    headers: dict[str, str],
    at: int,
    examples: int,
) -> None:
    """Send ``examples`` cases drawn from ``strategy`` (fewer when it has little to draw:
    negative cases of an operation without parameters or body)."""

    @seed(at)
    @given(case=strategy, mutation=hostile.MUTATIONS)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: schemathesis.Case, mutation: hostile.Mutation | None) -> None:
        if mutation is not None:
            mutation.apply(case)
        run.exercise(case, headers)

    with contextlib.suppress(Unsatisfiable):
        exercise()


@pytest.fixture(params=DATABASES)
def live_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    with refusals.api_on(request.param, tmp_path) as api:
        yield api


def check(run: Run, operations: list[schemathesis.APIOperation]) -> None:
    assert len(operations) > 40
    assert len(run.sent) >= 2 * len(operations)
    assert run.failures == [], f"HEARTH_FUZZ_SEED={run.seed}\n" + "\n".join(run.failures)


def test_no_request_gets_a_server_error_and_no_refused_one_changes_anything(
    live_api: Api,
) -> None:
    run = Run(live_api, EXAMPLES_IN_CI)

    check(run, fuzz(run))


@pytest.mark.slow
def test_at_length_no_request_gets_a_server_error_and_no_refused_one_changes_anything(
    live_api: Api,
) -> None:
    run = Run(live_api, EXAMPLES_WHEN_SLOW)

    check(run, fuzz(run))


def test_the_served_description_is_the_committed_one(api: Api) -> None:
    served = httpx.get(f"{api.url}/openapi.json").json()

    assert served["info"]["version"] == str(versions.MAX)
    assert served == json.loads(COMMITTED.read_text()), (
        "docs/openapi.json is stale: write it again with "
        "`python -m hearth.api.openapi > docs/openapi.json`"
    )
