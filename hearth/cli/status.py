"""``hearth status``: the whole deployment at a glance, read from its database and broker.

Prints ``service.status.deployment``: the checks (database, bus, each backend's reports,
the notification relay), every service with its last report, each backend's capacity, the
outbox backlog and the creates in flight, as tables or (``--format json``) one JSON
document. Exits 1 when a check fails. It reads only, and builds the services without
starting them, so it answers (naming what failed) when the database or the broker is away.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from hearth.cli import output
from hearth.cli.options import Options, pass_options
from hearth.service import status as deployment_status
from hearth.service import wiring

CHECK_COLUMNS = ("name", "ok", "detail")
SERVICE_COLUMNS = ("service", "host", "up", "last_report_age_seconds", "detail")
CAPACITY_COLUMNS = ("name", "total_gb", "free_gb", "provisioned_gb", "claimed_gb", "limit_gb")
CREATE_COLUMNS = ("status", "create_step", "count", "oldest_age_seconds")
GiB = 1 << 30


@click.command()
@pass_options
def status(options: Options) -> None:
    """The deployment's health, services, capacity, outbox and creates in flight."""
    services = wiring.build(options.settings(), roles=())
    try:
        state = deployment_status.deployment(services)
    finally:
        services.stop()
    if options.format == "json":
        click.echo(json.dumps(state, indent=2))
    else:
        _print_tables(options, state)
    if not state["ready"]:
        sys.exit(1)


def _print_tables(options: Options, state: dict[str, Any]) -> None:
    verdict = "ready" if state["ready"] else "NOT READY"
    click.echo(f"Deployment: {verdict}\n")
    _section(options, "Checks", state["checks"], CHECK_COLUMNS)
    _section(options, "Services", state["services"], SERVICE_COLUMNS)
    capacity = [
        {
            "name": row["name"],
            "total_gb": _gb(row["total_bytes"]),
            "free_gb": _gb(row["free_bytes"]),
            "provisioned_gb": _gb(row["provisioned_bytes"]),
            "claimed_gb": _gb(row["claimed_bytes"]),
            "limit_gb": row["capacity_limit_gb"],
        }
        for row in state["backends"]
    ]
    _section(options, "Backend capacity", capacity, CAPACITY_COLUMNS)
    outbox = state["outbox"]
    if outbox["backlog"] is None:
        click.echo("Outbox: unknown\n")
    else:
        oldest = outbox["oldest_age_seconds"]
        since = f", the oldest {oldest} s old" if oldest is not None else ""
        click.echo(f"Outbox: {outbox['backlog']} undelivered{since}\n")
    _section(options, "Creates in flight", state["creates_in_flight"], CREATE_COLUMNS)


def _section(
    options: Options, title: str, rows: list[dict[str, Any]], columns: tuple[str, ...]
) -> None:
    click.echo(f"{title}:")
    if rows:
        output.emit_list(options, rows, columns)
    else:
        click.echo("  (none)")
    click.echo()


def _gb(value: int) -> str:
    return f"{value / GiB:.1f}"
