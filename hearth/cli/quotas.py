"""``hearth quota show | set | check``: a project's limits and usage, and the verifier that
compares every usage counter with a recount of the rows (``--sync`` repairs)."""

from __future__ import annotations

import sys

import click

from hearth.cli import output
from hearth.cli.options import Options, pass_options

COLUMNS = ("resource", "limit", "in_use", "reserved")
DIFFERENCE_COLUMNS = ("project", "resource", "in_use", "counted_in_use", "reserved", "counted")


@click.group(cls=output.Group)
def quota() -> None:
    """Show, set and check quotas."""


@quota.command("show")
@click.argument("project", required=False)
@pass_options
def quota_show(options: Options, project: str | None) -> None:
    """A project's limits with their usage (default: the caller's project)."""
    with options.hearth(serve=False) as hearth:
        chosen = project or hearth.context.project_id
        shown = hearth.quota_set(chosen, usage=True)
    rows = [{"resource": name, **{k: v[k] for k in COLUMNS[1:]}} for name, v in shown.items()]
    output.emit_list(options, rows, COLUMNS)


@quota.command("set")
@click.argument("project")
@click.option(
    "--limit",
    "limits",
    multiple=True,
    metavar="RESOURCE=N",
    help="A limit to set (-1: unlimited), e.g. volumes=10; repeatable.",
)
@pass_options
def quota_set(options: Options, project: str, limits: tuple[str, ...]) -> None:
    """Set some of a project's limits (admins)."""
    options.require_admin("quota set")
    changes = {}
    for item in limits:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not RESOURCE=N", param_hint="--limit")
        changes[name] = value
    with options.hearth(serve=False) as hearth:
        chosen = hearth.update_quota_set(project, changes)
    output.emit_list(
        options, [{"resource": k, "limit": v} for k, v in chosen.items()], ("resource", "limit")
    )


@quota.command("check")
@click.option("--sync", is_flag=True, help="Set differing counters to the recount.")
@click.option("--project", default=None, help="Only this project.")
@pass_options
def quota_check(options: Options, sync: bool, project: str | None) -> None:
    """Compare every quota usage counter with a recount of the rows; exits 1 when one
    differs and was not synced (``--sync`` is for admins)."""
    if sync:
        options.require_admin("quota check --sync")
    with options.hearth(serve=False) as hearth:
        found = hearth.check_quotas(sync=sync, project_id=project)
    rows = [
        {
            "project": d.project_id,
            "resource": d.resource,
            "in_use": d.in_use,
            "counted_in_use": d.counted_in_use,
            "reserved": d.reserved,
            "counted": d.counted_reserved,
        }
        for d in found
    ]
    output.emit_list(options, rows, DIFFERENCE_COLUMNS)
    if found and not sync:
        sys.exit(1)
