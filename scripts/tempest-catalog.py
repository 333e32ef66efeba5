"""Keystone's part of scripts/tempest: Hearth in its catalog, and its database kept for reuse.

Usage:
  tempest-catalog.py register KEYSTONE_V3_URL PASSWORD HEARTH_URL
  tempest-catalog.py copy DB COPY
  tempest-catalog.py retarget DB OLD_KEYSTONE_URL KEYSTONE_URL OLD_HEARTH_URL HEARTH_URL

``register`` creates the ``service`` project, Hearth's service user ``hearth`` (role ``admin`` there, as
keystonemiddleware's service user needs to validate tokens), the ``volumev3`` service with
its endpoints at ``HEARTH_URL/v3/%(project_id)s``, and the ``image`` service at
``HEARTH_URL/image``. Runs in Keystone's virtualenv (it has requests); once, on a newly
bootstrapped database. ``copy`` copies that (SQLite) database while Keystone runs;
``retarget`` moves a copy's catalog to a new run's ports (and puts it in WAL mode).
"""

from __future__ import annotations

import sqlite3
import sys
from typing import Any

import requests


def register(keystone: str, password: str, hearth: str) -> None:
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


def copy(database: str, target: str) -> None:
    with sqlite3.connect(database) as source, sqlite3.connect(target) as copied:
        source.backup(copied)


def retarget(database: str, *urls: str) -> None:
    old_keystone, keystone, old_hearth, hearth = urls
    with sqlite3.connect(database) as conn:
        conn.execute(
            "UPDATE endpoint SET url = replace(replace(url, ?, ?), ?, ?)",
            (f"{old_keystone}/", f"{keystone}/", f"{old_hearth}/", f"{hearth}/"),
        )
    with sqlite3.connect(database) as conn:  # readers do not wait for Tempest's writes
        conn.execute("PRAGMA journal_mode=WAL")


if __name__ == "__main__":
    COMMANDS = {"register": register, "copy": copy, "retarget": retarget}
    COMMANDS[sys.argv[1]](*sys.argv[2:])
