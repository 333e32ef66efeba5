"""The API's OpenAPI description, served and committed, and a bounded schemathesis run
against the live API: whatever it sends, no answer is a server error."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from hearth.api import versions
from tests.functional.api.conftest import Api

COMMITTED = Path(__file__).parents[3] / "docs" / "openapi.json"


EXAMPLES_PER_OPERATION = 15


def test_no_request_the_description_allows_gets_a_server_error(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    failures: list[str] = []
    sent: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            response = case.call(headers={"X-Auth-Token": "fuzz:project-f"}, timeout=30)
            sent.append(response.status_code)
            if response.status_code >= 500 or "x-openstack-request-id" not in response.headers:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        exercise()

    assert len(operations) > 40
    assert len(sent) >= 2 * len(operations)
    assert failures == []


def test_the_served_description_is_the_committed_one(api: Api) -> None:
    served = httpx.get(f"{api.url}/openapi.json").json()

    assert served["info"]["version"] == str(versions.MAX)
    assert served == json.loads(COMMITTED.read_text()), (
        "docs/openapi.json is stale: write it again with "
        "`python -m hearth.api.openapi > docs/openapi.json`"
    )
