"""``hearth backend list | audit``: capacity reports, and backends checked against the rows."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from hearth.cli import output
from hearth.cli.options import Options, pass_options


@click.group(cls=output.Group)
def backend() -> None:
    """Inspect storage backends."""


@backend.command("list")
@pass_options
def backend_list(options: Options) -> None:
    """Each backend's capacity as last reported."""
    with options.hearth(serve=False) as hearth:
        rows = [output.backend_view(b) for b in hearth.list_backends()]
    output.emit_list(options, rows, output.BACKEND_COLUMNS)


@backend.command("audit")
@click.option("--fix", is_flag=True, help="Repair what is found.")
@click.option("--backend", "names", multiple=True, help="Only these backends.")
@pass_options
def backend_audit(options: Options, fix: bool, names: Sequence[str]) -> None:
    """Compare backends' data with the database: orphans, missing data, unfinished work,
    capacity drift. Exits 1 while something found is not fixed. ``--fix`` is for admins."""
    if fix:
        options.require_admin("backend audit --fix")
    with options.hearth(serve=None if fix else False) as hearth:
        found = hearth.audit(fix=fix, backends=list(names) or None)
    rows = [
        {
            "backend": f.backend,
            "kind": f.kind,
            "resource": f.resource_id,
            "detail": f.detail,
            "fixed": f.fixed,
        }
        for f in found
    ]
    output.emit_list(options, rows, output.FINDING_COLUMNS)
    if any(not f.fixed for f in found):
        sys.exit(1)
