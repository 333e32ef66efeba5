"""The attachments part of the library facade: attach and detach a volume (the 3.27+
attachments API and the CLI's ``volume attach``/``detach``).

``Hearth`` (``facade``) inherits these operations. Each writes its rows through
``attaching`` (the status machine) in one transaction; an export or unexport is cast to the
volume's backend, whose manager (``hearth.volume.exports``) talks to the target, and the
call waits, bounded, for the outcome: the ``connection_info`` stored on the attachment, or
the attachment gone. An export that failed raises ExportFailed with the target's reason
(and left a user message); the attachment is ``error_attaching`` and may be updated again
or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hearth import errors
from hearth.context import RequestContext
from hearth.db import attachments, models, statuses
from hearth.db.rows import Page
from hearth.service import attaching, watch, wiring


class AttachmentOperations:
    """Hearth's operations on attachments."""

    services: wiring.Services
    context: RequestContext
    _watch: watch.StatusWatch

    def create_attachment(
        self,
        volume_id: str,
        *,
        instance_uuid: Any = None,
        connector: Any = None,
        mode: Any = None,
        legacy: bool = False,
        context: RequestContext | None = None,
        timeout: float | None = None,
    ) -> models.Attachment:
        """Reserve a volume for a consumer; with its ``connector``, also export it and
        return the attachment with its ``connection_info``. ``legacy``: made by the older
        volume actions (``os-reserve``, ``os-initialize_connection``)."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            attachment = attaching.create(
                session,
                ctx,
                volume_id,
                instance_uuid=instance_uuid,
                connector=connector,
                mode=mode,
                legacy=legacy,
            )
        if attachment.status == statuses.AttachStatus.ATTACHING:
            self._export(ctx, attachment, timeout)
        return self.get_attachment(attachment.id, context=ctx)

    def update_attachment(
        self,
        attachment_id: str,
        connector: Any,
        *,
        mode: Any = None,
        context: RequestContext | None = None,
        timeout: float | None = None,
    ) -> models.Attachment:
        """Give a reserved attachment its consumer's connector: export the volume and
        return the attachment with its ``connection_info``."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            attachment = attaching.update(session, ctx, attachment_id, connector, mode)
        self._export(ctx, attachment, timeout)
        return self.get_attachment(attachment_id, context=ctx)

    def complete_attachment(
        self, attachment_id: str, *, context: RequestContext | None = None
    ) -> models.Attachment:
        """The consumer is connected: the attachment is ``attached``, the volume ``in-use``."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            attaching.complete(session, ctx, attachment_id)
        return self.get_attachment(attachment_id, context=ctx)

    def delete_attachment(
        self,
        attachment_id: str,
        *,
        context: RequestContext | None = None,
        timeout: float | None = None,
    ) -> Sequence[models.Attachment]:
        """Detach: remove the export (waiting for the backend) and the attachment; returns
        the volume's remaining attachments."""
        ctx = context or self.context
        with self.services.db.transaction() as session:
            volume_id = attachments.get(
                session, attachment_id, project_id=ctx.visible_project
            ).volume_id
            host = attaching.begin_delete(session, ctx, attachment_id)
        if host is not None:
            self.services.volume_api.unexport_attachment(ctx, host, attachment_id)
            self._wait_for(attachment_id, gone_or_failed_detach, timeout)
            found = self._find_attachment(attachment_id)
            if found is not None and found.status == statuses.AttachStatus.ERROR_DETACHING:
                raise errors.ExportFailed(reason=found.last_error or "unknown")
        with self.services.db.read() as session:
            return attachments.for_volume(session, volume_id)

    def get_attachment(
        self, attachment_id: str, *, context: RequestContext | None = None
    ) -> models.Attachment:
        """An attachment of the caller's project (any project for admins)."""
        ctx = context or self.context
        with self.services.db.read() as session:
            return attachments.get(session, attachment_id, project_id=ctx.visible_project)

    def list_attachments_page(
        self,
        page: Page,
        *,
        filters: Mapping[str, Any] | None = None,
        all_projects: bool = False,
        context: RequestContext | None = None,
    ) -> Sequence[models.Attachment]:
        """One page of attachments whose columns equal ``filters`` (volume_id,
        instance_id, status): the caller's project's (every project's for an admin
        asking ``all_projects``)."""
        ctx = context or self.context
        scope = None if ctx.is_admin and all_projects else ctx.project_id
        wanted = attachments.Filters(project_id=scope, **(filters or {}))
        with self.services.db.read() as session:
            return attachments.find_page(
                session, wanted, page.sort, limit=page.limit, marker=page.marker
            )

    def _export(
        self, ctx: RequestContext, attachment: models.Attachment, timeout: float | None
    ) -> None:
        self.services.volume_api.export_attachment(ctx, attachment.host, attachment.id)
        self._wait_for(attachment.id, exported_or_failed, timeout)
        found = self._find_attachment(attachment.id)
        if found is not None and found.status == statuses.AttachStatus.ERROR_ATTACHING:
            raise errors.ExportFailed(reason=found.last_error or "unknown")

    def _wait_for(self, attachment_id: str, settled: Any, timeout: float | None) -> None:
        seconds = (
            self.services.settings.service.wait_timeout_seconds if timeout is None else timeout
        )
        if not self._watch.wait(
            attachment_id, lambda: settled(self._find_attachment(attachment_id)), seconds
        ):
            found = self._find_attachment(attachment_id)
            raise errors.WaitTimedOut(
                kind="attachment",
                resource_id=attachment_id,
                status="gone" if found is None else found.status,
                timeout=seconds,
                waiting_for=f"backend {found.host if found else '?'} to change its export",
            )

    def _find_attachment(self, attachment_id: str) -> models.Attachment | None:
        with self.services.db.read() as session:
            return attachments.find(session, attachment_id)


def exported_or_failed(found: models.Attachment | None) -> bool:
    """An export has ended: connection_info stored, or the export failed (or gone)."""
    return (
        found is None
        or found.connection_info is not None
        or found.status != statuses.AttachStatus.ATTACHING
    )


def gone_or_failed_detach(found: models.Attachment | None) -> bool:
    """A detach has ended: the attachment is gone, or its unexport failed."""
    return found is None or found.status != statuses.AttachStatus.DETACHING
