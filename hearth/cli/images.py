"""``hearth image create | list | show | delete`` and ``hearth image cache list | clear``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from hearth.cli import output
from hearth.cli.options import Options, pairs, pass_options


@click.group(cls=output.Group)
def image() -> None:
    """Upload, inspect and delete images; manage the image-volume cache."""


@image.command("create")
@click.argument("name")
@click.option("--file", "file", type=click.Path(dir_okay=False), help="Upload this file.")
@click.option("--url", help="Upload from this http(s) URL.")
@click.option("--disk-format", required=True, help="raw, qcow2, vmdk, vhd, vhdx or vdi.")
@click.option("--container-format", default="bare", show_default=True)
@click.option("--min-disk", type=int, default=0, help="GiB a volume from it needs at least.")
@click.option("--min-ram", type=int, default=0, help="MiB of memory it needs (recorded).")
@click.option("--public", is_flag=True, help="Visible to every project (admins only).")
@click.option("--property", "properties", multiple=True, help="KEY=VALUE (repeatable).")
@pass_options
def image_create(
    options: Options, /, name: str, public: bool, properties: Sequence[str], **fields: Any
) -> None:
    """Upload an image; it is inspected before it counts."""
    if (fields["file"] is None) == (fields["url"] is None):
        raise click.UsageError("give exactly one of --file or --url")
    with options.hearth() as hearth:
        created = hearth.create_image(
            name,
            visibility="public" if public else "private",
            properties=pairs(properties),
            **fields,
        )
        output.emit(options, output.image_view(created))


@image.command("list")
@pass_options
def image_list(options: Options) -> None:
    """List the images you can use."""
    with options.hearth(serve=False) as hearth:
        rows = [output.image_view(i) for i in hearth.list_images()]
    output.emit_list(options, rows, output.IMAGE_COLUMNS)


@image.command("show")
@click.argument("image_id")
@pass_options
def image_show(options: Options, image_id: str) -> None:
    """Show one image (by id or name)."""
    with options.hearth(serve=False) as hearth:
        output.emit(options, output.image_view(hearth.get_image(image_id)))


@image.command("delete")
@click.argument("image_ids", nargs=-1, required=True)
@pass_options
def image_delete(options: Options, image_ids: Sequence[str]) -> None:
    """Delete images (refused while volumes are being created from one)."""
    with options.hearth() as hearth:
        output.each(image_ids, hearth.delete_image)


@image.group("cache")
def image_cache() -> None:
    """The image-volume cache: converted images kept on each backend."""


@image_cache.command("list")
@click.option("--backend", help="Only this backend's entries.")
@pass_options
def image_cache_list(options: Options, backend: str | None) -> None:
    """List cache entries, least recently used first."""
    with options.hearth(serve=False) as hearth:
        rows = [output.cache_view(e) for e in hearth.list_image_cache(backend)]
    output.emit_list(options, rows, output.CACHE_COLUMNS)


@image_cache.command("clear")
@click.option("--backend", help="Only this backend's entries.")
@pass_options
def image_cache_clear(options: Options, backend: str | None) -> None:
    """Evict every entry that no create is cloning right now."""
    with options.hearth() as hearth:
        click.echo(f"evicted {hearth.clear_image_cache(backend)} entries")
