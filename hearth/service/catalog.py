"""The catalog part of the library facade: images and the image-volume cache, volume types
and user messages -- what volumes are made from, typed by and reported with -- and the
operator's reads and checks (a project's usage, backends, the overview, the audit).

``Hearth`` (``facade``) inherits these operations; like its volume and snapshot methods,
each checks the request and writes rows through a service module (``image_requests``,
``type_requests``, ``updates``) in one transaction. Image bytes go to the image store
(``hearth.image.store``); nothing here casts on the bus.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import backends, image_cache, images, models, snapshots, user_messages, volumes
from hearth.db.rows import Page
from hearth.image import cache, store
from hearth.service import image_requests, maintenance, overview, type_requests, updates, wiring
from hearth.volume import audit


@dataclass(frozen=True)
class Usage:
    """What one project holds."""

    volumes: int
    gigabytes: int
    snapshots: int


class Catalog:
    """Hearth's operations on images, volume types and user messages, and the reads and
    checks of projects and backends."""

    services: wiring.Services
    context: RequestContext

    # images

    def create_image(
        self,
        name: str,
        *,
        disk_format: str,
        file: Path | str | None = None,
        url: str | None = None,
        container_format: str = "bare",
        min_disk: int = 0,
        min_ram: int = 0,
        visibility: str = images.PRIVATE,
        properties: dict[str, str] | None = None,
        context: RequestContext | None = None,
    ) -> models.Image:
        """Store an image from a local file or an http(s) URL; returns it ``active``.

        The bytes are inspected before the image counts: a hostile or mislabelled image
        raises (ImageUnsafe, ImageFormatMismatch, ...) and nothing is stored.
        """
        request = image_requests.ImageRequest(
            name, disk_format, container_format, min_disk, min_ram, visibility, properties
        )
        with self.services.db.transaction() as session:
            row = image_requests.new_image(session, context or self.context, request)
        source = store.Source(file=Path(file) if file is not None else None, url=url)
        return self._image_store.upload(row.id, source)

    def register_image(
        self,
        name: str,
        *,
        disk_format: str,
        container_format: str = "bare",
        min_disk: int = 0,
        min_ram: int = 0,
        visibility: str = images.PRIVATE,
        properties: dict[str, str] | None = None,
        context: RequestContext | None = None,
    ) -> models.Image:
        """Record an image without its bytes (``queued``), for :meth:`upload_image` later
        (the Image API's two steps); fields are checked as :meth:`create_image` does."""
        request = image_requests.ImageRequest(
            name, disk_format, container_format, min_disk, min_ram, visibility, properties
        )
        with self.services.db.transaction() as session:
            return image_requests.new_image(session, context or self.context, request)

    def upload_image(
        self, image_id: str, stream: store.Reader, *, context: RequestContext | None = None
    ) -> models.Image:
        """Receive the bytes of a ``queued`` image of the caller's project from ``stream``
        and return it ``active``. Not queued: InvalidStatus. Rejected bytes (unsafe, not
        the declared format, too big): the error is raised and the image is removed."""
        with self.services.db.transaction() as session:
            row = image_requests.for_upload(session, context or self.context, image_id)
        return self._image_store.upload(row.id, store.Source(stream=stream))

    def get_image(self, id_or_name: str, *, context: RequestContext | None = None) -> models.Image:
        """An image the caller may see (its project's, or public), by id or unique name."""
        with self.services.db.transaction() as session:
            return image_requests.find(session, context or self.context, id_or_name)

    def list_images(self, *, context: RequestContext | None = None) -> Sequence[models.Image]:
        """The images the caller may see, oldest first."""
        with self.services.db.transaction() as session:
            return images.find_all(session, project_id=self._visible(context))

    def delete_image(self, id_or_name: str, *, context: RequestContext | None = None) -> None:
        """Delete an image and its cache entries. Refused (ImageInUse) while volumes are
        being created from it; volumes already made from it are not affected."""
        with self.services.db.transaction() as session:
            image = image_requests.begin_image_delete(session, context or self.context, id_or_name)
        self._image_store.remove(image.id)
        for image_cache_of_backend in self._image_caches(None):
            image_cache_of_backend.clear(image.id)

    def list_image_cache(self, backend: str | None = None) -> Sequence[models.ImageCacheEntry]:
        """The image-volume cache entries of one backend (every backend by default)."""
        with self.services.db.transaction() as session:
            return image_cache.find_all(session, host=backend)

    def clear_image_cache(self, backend: str | None = None) -> int:
        """Evict every cache entry not being cloned; returns how many were evicted."""
        return sum(c.clear() for c in self._image_caches(backend))

    # volume types

    def create_volume_type(
        self,
        name: str,
        *,
        description: str | None = None,
        extra_specs: dict[str, str] | None = None,
        is_public: bool = True,
        context: RequestContext | None = None,
    ) -> models.VolumeType:
        """Add a volume type (admins only)."""
        with self.services.db.transaction() as session:
            return type_requests.new_volume_type(
                session,
                context or self.context,
                name,
                description=description,
                extra_specs=extra_specs,
                is_public=is_public,
            )

    def list_volume_types(
        self, *, context: RequestContext | None = None
    ) -> Sequence[models.VolumeType]:
        """The volume types the caller may use: every one for admins, public ones else."""
        with self.services.db.read() as session:
            return type_requests.visible(session, context or self.context)

    def get_volume_type(
        self, name_or_id: str, *, context: RequestContext | None = None
    ) -> models.VolumeType:
        """One volume type by id or name (a private one for admins only)."""
        with self.services.db.read() as session:
            return type_requests.find(session, context or self.context, name_or_id)

    def set_extra_specs(
        self,
        name_or_id: str,
        specs: Any,
        *,
        replace: bool = False,
        context: RequestContext | None = None,
    ) -> dict[str, str]:
        """Merge extra specs into a volume type (admins only); returns all of them."""
        with self.services.db.transaction() as session:
            return updates.set_extra_specs(
                session, context or self.context, name_or_id, specs, replace=replace
            )

    def delete_extra_spec(
        self, name_or_id: str, key: str, *, context: RequestContext | None = None
    ) -> None:
        """Remove one extra spec of a volume type (admins only)."""
        with self.services.db.transaction() as session:
            updates.delete_extra_spec(session, context or self.context, name_or_id, key)

    def delete_volume_type(self, name_or_id: str, *, context: RequestContext | None = None) -> None:
        """Remove a volume type that no volume uses (admins only)."""
        with self.services.db.transaction() as session:
            type_requests.delete(session, context or self.context, name_or_id)

    # messages

    def list_messages(
        self, *, context: RequestContext | None = None, resource_id: str | None = None
    ) -> Sequence[models.UserMessage]:
        """User messages of the caller's project, oldest first."""
        with self.services.db.read() as session:
            scope = self._visible(context)
            return user_messages.find_all(session, project_id=scope, resource_uuid=resource_id)

    def list_messages_page(
        self,
        page: Page,
        *,
        filters: Mapping[str, Any] | None = None,
        context: RequestContext | None = None,
    ) -> Sequence[models.UserMessage]:
        """One page of the caller's project's user messages (every project's for admins)
        whose columns equal ``filters`` (resource_uuid, resource_type, request_id)."""
        with self.services.db.read() as session:
            return user_messages.find_page(
                session,
                page.sort,
                project_id=self._visible(context),
                filters=filters,
                limit=page.limit,
                marker=page.marker,
            )

    def get_message(
        self, message_id: str, *, context: RequestContext | None = None
    ) -> models.UserMessage:
        """One user message of the caller's project."""
        with self.services.db.read() as session:
            return user_messages.get(session, message_id, project_id=self._visible(context))

    def delete_message(self, message_id: str, *, context: RequestContext | None = None) -> None:
        """Remove a user message of the caller's project."""
        with self.services.db.transaction() as session:
            user_messages.get(session, message_id, project_id=self._visible(context))
            user_messages.delete(session, message_id)

    # helpers

    @property
    def _image_store(self) -> store.ImageStore:
        assert self.services.image_store is not None, "wiring.build makes the image store"
        return self.services.image_store

    def _image_caches(self, backend: str | None) -> list[cache.ImageVolumeCache]:
        managers = self.services.managers
        if backend is not None and backend not in managers:
            raise errors.BackendNotFound(backend=backend)
        chosen = [managers[backend]] if backend else list(managers.values())
        return [m.image_volume_cache for m in chosen if m.image_volume_cache is not None]

    def _visible(self, context: RequestContext | None) -> str | None:
        return (context or self.context).visible_project

    # projects and backends

    def usage(self, *, context: RequestContext | None = None) -> Usage:
        """What the caller's project holds: volumes, their GiB, snapshots."""
        project = (context or self.context).project_id
        with self.services.db.read() as session:
            held = volumes.find_all(session, project_id=project)
            count = len(snapshots.find_all(session, project_id=project))
        return Usage(len(held), sum(v.size for v in held), count)

    def list_backends(self) -> Sequence[models.Backend]:
        """Every backend's last capacity report."""
        with self.services.db.read() as session:
            return backends.find_all(session)

    def overview(self, *, context: RequestContext | None = None) -> overview.Overview:
        """Backends, creates in flight, the latest failures and the image-volume cache,
        read in one transaction (admins only: it shows every project)."""
        down_after = self.services.settings.scheduler.backend_down_after
        with self.services.db.read() as session:
            return overview.read(session, context or self.context, down_after)

    def audit(
        self, *, fix: bool = False, backends: Sequence[str] | None = None
    ) -> list[audit.Finding]:
        """Compare each backend's data with the database (``hearth.volume.audit``); with
        ``fix``, repair what is found (see ``maintenance.audit``)."""
        return maintenance.audit(self.services, fix=fix, backends=backends)
