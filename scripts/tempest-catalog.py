"""Registers Hearth with a freshly bootstrapped Keystone, for scripts/tempest.

Usage: tempest-catalog.py KEYSTONE_V3_URL PASSWORD HEARTH_URL

Creates the ``service`` project, Hearth's service user ``hearth`` (role ``admin`` there, as
keystonemiddleware's service user needs to validate tokens), the ``volumev3`` service with
its endpoints at ``HEARTH_URL/v3/%(project_id)s``, and the ``image`` service at
``HEARTH_URL/image``. Runs in Keystone's virtualenv (it has requests); idempotent enough
for one run on a new database.
"""

from __future__ import annotations

import sys
from typing import Any

import requests


def main(keystone: str, password: str, hearth: str) -> None:
    session = requests.Session()
    session.headers["X-Auth-Token"] = _admin_token(keystone, password)
    session.headers["Content-Type"] = "application/json"

    def post(path: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = session.post(f"{keystone}/{path}", json={kind: body}, timeout=30)
        answer.raise_for_status()
        return answer.json()[kind]  # type: ignore[no-any-return]

    def first(path: str, kind: str, **query: str) -> dict[str, Any]:
        answer = session.get(f"{keystone}/{path}", params=query, timeout=30)
        answer.raise_for_status()
        return answer.json()[kind][0]  # type: ignore[no-any-return]

    project = post("projects", "project", {"name": "service", "domain_id": "default"})
    user = post(
        "users", "user", {"name": "hearth", "password": password, "domain_id": "default"}
    )
    admin_role = first("roles", "roles", name="admin")
    session.put(
        f"{keystone}/projects/{project['id']}/users/{user['id']}/roles/{admin_role['id']}",
        timeout=30,
    ).raise_for_status()
    services = {
        "volumev3": f"{hearth}/v3/%(project_id)s",
        "image": f"{hearth}/image",
    }
    for kind, url in services.items():
        service = post("services", "service", {"type": kind, "name": f"hearth-{kind}"})
        for interface in ("public", "internal", "admin"):
            post(
                "endpoints",
                "endpoint",
                {
                    "service_id": service["id"],
                    "interface": interface,
                    "url": url,
                    "region_id": "RegionOne",
                },
            )


def _admin_token(keystone: str, password: str) -> str:
    scope = {"project": {"name": "admin", "domain": {"id": "default"}}}
    user = {"name": "admin", "domain": {"id": "default"}, "password": password}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    body["auth"]["scope"] = scope
    answer = requests.post(f"{keystone}/auth/tokens", json=body, timeout=30)
    answer.raise_for_status()
    return answer.headers["X-Subject-Token"]


if __name__ == "__main__":
    main(*sys.argv[1:4])
