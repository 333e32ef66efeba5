"""Hearth's error tree. Every layer raises these; the API and CLI render them in one place.

Each class carries what the rest of Hearth needs to act on a failure:

- ``status``: the HTTP status the API answers with;
- ``code``: a stable, machine-readable code (also the detail code of user messages);
- ``message``: a template formatted with the keyword arguments given at raise time. It is
  shown to users, so it never holds a host path or a traceback;
- ``reschedulable``: whether a create that failed this way may be tried again on another
  backend (STYLE 14: the class decides, not a list inside a task).

::

    HearthError                      500  internal_error
    ├── Invalid                      400
    │   ├── InvalidInput                  a request field is wrong (names the field)
    │   │   └── AmbiguousName             a name several resources share, not an id
    │   ├── InvalidReference              a field refers to something that does not exist
    │   ├── SourceNotAvailable            a snapshot/volume to copy is not 'available'
    │   ├── SourceNotSupported            a source kind this build cannot create from yet
    │   ├── CapacityExceeded              the volume's backend has no room to grow it
    │   ├── ImageUnsafe                   backing file, data file, flat extent, bad header
    │   ├── ImageFormatMismatch           the declared format is not the detected one
    │   ├── ImageTooBig                   larger than the volume or the upload limit
    │   ├── ImageChecksumMismatch         stored bytes differ from the recorded hash
    │   ├── ImageNotAvailable             deleted, not active, or its data is gone
    │   ├── ImageConversionFailed         qemu-img failed on an image that passed inspection
    │   ├── NotSupportedByBackend         the volume's kind of backend cannot do this at all
    │   └── UnsupportedMediaType     415  a body sent with a Content-Type the route refuses
    ├── NotAuthenticated             401  the API could not tell who is asking
    ├── Forbidden                    403  the caller may not do this (admins only)
    ├── NotFound                     404
    │   ├── VolumeNotFound
    │   ├── SnapshotNotFound
    │   ├── ImageNotFound
    │   ├── VolumeTypeNotFound
    │   ├── MessageNotFound
    │   ├── MetadataKeyNotFound
    │   ├── MethodNotInVersion             a route the negotiated microversion lacks
    │   ├── BackendNotFound
    │   └── BackupNotFound                 no backup (row or manifest) has that id
    ├── VersionNotAcceptable         406  an API microversion this build does not serve
    ├── Conflict                     409
    │   ├── InvalidStatus                 the resource is not in a status that allows this
    │   ├── VolumeHasSnapshots
    │   ├── ImageInUse                    volumes are being created from the image
    │   ├── DuplicateName
    │   ├── IdempotencyKeyReused          a create's key was used for another request
    │   ├── BackupExists                  the repository already holds a backup of that id
    │   ├── BackupHasDependents           incremental backups still depend on the backup
    │   └── BackendFrozen                 a frozen backend refuses management operations
    ├── PreconditionFailed           412  an If-Match header no longer matches
    ├── QuotaExceeded                413  the project's quota (named) has no room for it
    ├── ConfigError                  500  settings rejected at start-up
    ├── BackendBusy                  500  another process already serves this backend
    ├── NoValidBackend               500  the scheduler found no backend for a volume
    ├── Interrupted                  500  work cut short by a crash and not resumed
    ├── BackupCorrupt                500  a backup's chunk or manifest is missing or fails its hash
    ├── BackupRepositoryError        500  reading or writing the backup repository failed
    ├── DatabaseUnavailable          503  the database cannot be reached or is locked
    │   ├── DatabaseUnreachable           no connection: names the server and what to do
    │   └── DatabaseMissing               the server has no such database: how to create it
    ├── BusUnavailable               503  the message broker cannot take a message
    │   └── BrokerUnreachable             no connection: names the broker (password masked)
    ├── WaitTimedOut                 504  a wait=True call ran out of time; the work goes on
    ├── MalformedMessage             500  a bus message that is not a Hearth envelope
    └── BackendError                 500  the backend failed; another backend may succeed
        ├── BackendFull                   no space left on the backend
        ├── BackendSourceMissing          the backend lacks the data a source row promises
        ├── ImageFetchFailed              reading or downloading an image failed (transient)
        │   └── ImageDownloadFailed       a URL could not be fetched: why, and the URL
        └── ExportFailed                  the target could not be configured for an attachment

Foreign exceptions (OSError, subprocess, SQLAlchemy) are translated into these at the
boundary that meets them, with ``raise ... from exc``; OS errors of storage (drivers, the
image store) through one mapping, :func:`from_os_error`.

Over 400 lines: one short class per error of the tree above, which reads best whole.
"""

from __future__ import annotations

import errno
from typing import Any, ClassVar


class HearthError(Exception):
    """Base of every error Hearth raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    message: ClassVar[str] = "An internal error occurred."
    reschedulable: ClassVar[bool] = False

    def __init__(self, detail: str | None = None, **fields: Any) -> None:
        self.fields = fields
        self.detail = detail
        try:
            text = self.message.format(**fields)
        except (KeyError, IndexError):  # a template field was not given: say so, do not crash
            text = f"{self.message} ({fields})"
        self.user_message = text
        super().__init__(text if detail is None else f"{text} [{detail}]")


class Invalid(HearthError):
    """The request cannot be carried out as given; nothing was changed."""

    status = 400
    code = "invalid"
    message = "The request is invalid: {reason}"


class InvalidInput(Invalid):
    """A field of a request has a wrong type or value."""

    code = "invalid_input"
    message = "Invalid value for '{field}': {reason}"


class AmbiguousName(InvalidInput):
    """A name was given where an id or a unique name is expected, and several resources
    the caller may see have it: the message lists their ids to choose from."""

    code = "ambiguous_name"
    message = "{count} {kind}s are named {name!r}; give an id: {ids}."


class InvalidReference(Invalid):
    """A request field names a resource that does not exist (for this project)."""

    code = "invalid_reference"
    message = "Invalid value for '{field}': {kind} {value} does not exist."


class SourceNotAvailable(Invalid):
    """A snapshot or volume to create from exists but is not 'available'."""

    code = "source_not_available"
    message = "{kind} {source_id} is not available (its status is '{status}')."


class SourceNotSupported(Invalid):
    """A create asks for a source kind that this build cannot create from yet."""

    code = "source_not_supported"
    message = "Creating a volume from {source} is not supported yet."


class CapacityExceeded(Invalid):
    """A volume cannot grow: its backend has no room left under its limit."""

    code = "capacity_exceeded"
    message = "Backend {backend} has no room for {size} more GiB."


class ImageUnsafe(Invalid):
    """The format inspector found something unsafe (backing file, external data file,
    VMDK extent outside the file, unknown features) or could not parse the image."""

    code = "image_unsafe"
    message = "Image {image_id} was rejected as unsafe: {reason}."


class ImageFormatMismatch(Invalid):
    """The image's content is not in the disk format it was declared with."""

    code = "image_format_mismatch"
    message = "Image {image_id} was declared as {declared} but its content is {detected}."


class ImageTooBig(Invalid):
    """The image does not fit: in the volume, or under the upload limit."""

    code = "image_too_big"
    message = "Image {image_id} is too big: {reason}."


class ImageChecksumMismatch(Invalid):
    """The stored image's bytes no longer hash to the value recorded at upload."""

    code = "image_checksum_mismatch"
    message = "Image {image_id} failed verification: its data does not match its checksum."


class ImageNotAvailable(Invalid):
    """The image was deleted, is not active, or its stored data is missing."""

    code = "image_not_available"
    message = "Image {image_id} is not available: {reason}."


class ImageConversionFailed(Invalid):
    """qemu-img failed on an image that passed inspection (corrupt, or over its limits)."""

    code = "image_conversion_failed"
    message = "Image {image_id} could not be converted: {reason}."


class NotSupportedByBackend(Invalid):
    """The operation is valid, but the kind of backend holding the resource cannot carry it
    out at all (e.g. a local path to a volume on a network backend)."""

    code = "not_supported_by_backend"
    message = "Backends of type '{driver}' cannot {operation}."


class UnsupportedMediaType(Invalid):
    """A request body's Content-Type is not the one the route reads."""

    status = 415
    code = "unsupported_media_type"
    message = "Content-Type {given!r} is not accepted here; send {expected}."


class NotAuthenticated(HearthError):
    """The API could not establish who is asking (no or an invalid token)."""

    status = 401
    code = "not_authenticated"
    message = "Authentication required: {reason}"


class Forbidden(HearthError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"
    message = "Only administrators may {action}."


class NotFound(HearthError):
    """The addressed resource does not exist (or belongs to another project)."""

    status = 404
    code = "not_found"
    message = "{kind} {resource_id} could not be found."


class VolumeNotFound(NotFound):
    """No row exists for the requested volume id."""

    code = "volume_not_found"
    message = "Volume {volume_id} could not be found."


class SnapshotNotFound(NotFound):
    """No row exists for the requested snapshot id."""

    code = "snapshot_not_found"
    message = "Snapshot {snapshot_id} could not be found."


class VolumeTypeNotFound(NotFound):
    """No volume type has the requested name or id."""

    code = "volume_type_not_found"
    message = "Volume type {volume_type} could not be found."


class MessageNotFound(NotFound):
    """No user message has the requested id."""

    code = "message_not_found"
    message = "Message {message_id} could not be found."


class ImageNotFound(NotFound):
    """No image has the requested id (or name) for this project."""

    code = "image_not_found"
    message = "Image {image_id} could not be found."


class MetadataKeyNotFound(NotFound):
    """A resource's metadata has no item with the requested key."""

    code = "metadata_key_not_found"
    message = "{kind} {resource_id} has no metadata item {key!r}."


class MethodNotInVersion(NotFound):
    """The route exists, but not in the microversion the request negotiated."""

    code = "method_not_in_version"
    message = "API version {version} is not supported on this method (since {since})."


class VersionNotAcceptable(HearthError):
    """A request asked for an API microversion outside the range this build serves."""

    status = 406
    code = "version_not_acceptable"
    message = (
        "Version {version} is not supported by the API. "
        "Minimum is {minimum} and maximum is {maximum}."
    )


class BackendNotFound(NotFound):
    """No backend of that name is configured."""

    code = "backend_not_found"
    message = "Backend {backend} is not configured."


class BackupNotFound(NotFound):
    """No backup row, or no manifest in the repository, has the requested backup id."""

    code = "backup_not_found"
    message = "Backup {backup_id} could not be found."


class AttachmentNotFound(NotFound):
    """No attachment with that id exists (for this project)."""

    code = "attachment_not_found"
    message = "Attachment {attachment_id} could not be found."


class Conflict(HearthError):
    """The request conflicts with the current state of a resource."""

    status = 409
    code = "conflict"
    message = "{reason}"


class InvalidStatus(Conflict):
    """The resource's status does not allow the requested action."""

    code = "invalid_status"
    message = "Cannot {action} {kind} {resource_id}: its status is '{status}'."


class VolumeHasSnapshots(Conflict):
    """A volume with snapshots cannot be deleted."""

    code = "volume_has_snapshots"
    message = "Cannot delete volume {volume_id}: it still has {count} snapshot(s)."


class ImageInUse(Conflict):
    """An image cannot be deleted while volumes are being created from it."""

    code = "image_in_use"
    message = "Cannot delete image {image_id}: {count} volume(s) are being created from it."


class DuplicateName(Conflict):
    """A unique name is already taken."""

    code = "duplicate_name"
    message = "{kind} named '{name}' already exists."


class IdempotencyKeyReused(Conflict):
    """A create repeated an Idempotency-Key with a request that differs from the first."""

    code = "idempotency_key_reused"
    message = (
        "Idempotency-Key {key!r} was already used for a different request; "
        "use a new key for a new request."
    )


class BackupExists(Conflict):
    """A backup was to be written under an id whose manifest the repository already holds."""

    code = "backup_exists"
    message = "Backup {backup_id} already exists in the repository."


class BackupHasDependents(Conflict):
    """A backup cannot be deleted while incremental backups are built on it (as Cinder)."""

    status = 400  # Cinder answers 400 (InvalidBackup) here, and clients expect it
    code = "backup_has_dependents"
    message = "Cannot delete backup {backup_id}: incremental backup(s) {children} depend on it."


class PreconditionFailed(HearthError):
    """A conditional request (If-Match) no longer matches the resource."""

    status = 412
    code = "precondition_failed"
    message = "{reason}"


class ConfigError(HearthError):
    """Settings were rejected at start-up."""

    code = "config_error"
    message = "Invalid configuration: {reason}"


class BackendBusy(HearthError):
    """A backend may be served by one volume manager at a time, and another Hearth process
    (``hearth serve``, or a command serving it with the in-process bus) holds it;
    ``holder`` is a ``coordination.Holder``."""

    code = "backend_busy"
    message = "Backend {backend} is held by another Hearth process: {holder}."


class NoValidBackend(HearthError):
    """The scheduler found no backend to place a volume on (never rescheduled)."""

    code = "no_valid_backend"
    message = "No backend can take the volume: {reason}"


class Interrupted(HearthError):
    """Reconciliation could not resume work a crash cut short (or gave up resuming it)."""

    code = "interrupted"
    message = "The {action} was interrupted by a service restart: {outcome}."


class BackupCorrupt(HearthError):
    """A backup's data is damaged: a chunk is missing or does not hash to its key, or its
    manifest cannot be read. Terminal: no other backend holds another copy."""

    code = "backup_corrupt"
    message = "Backup {backup_id} is corrupt: {reason}."


class BackupRepositoryError(HearthError):
    """Reading or writing the backup repository failed (I/O, no space, unreachable mount)."""

    code = "backup_repository_error"
    message = "The backup repository failed to {action}."


class BusUnavailable(HearthError):
    """The message broker could not take a message."""

    status = 503
    code = "bus_unavailable"
    message = "The message bus is unavailable; try again later."


class BrokerUnreachable(BusUnavailable):
    """No connection to the message broker could be made."""

    code = "broker_unreachable"
    message = (
        "Cannot reach the message broker at {url}: {reason}. Is it running, and is [bus] url right?"
    )


class WaitTimedOut(HearthError):
    """A call with ``wait=True`` gave up waiting for its work to end (``[service]
    wait_timeout_seconds`` or its ``timeout``). Only the wait ends: the work goes on, and
    the row tells how it ends."""

    status = 504
    code = "wait_timed_out"
    message = (
        "Gave up after {timeout:g} s waiting for {kind} {resource_id}, still '{status}' "
        "({waiting_for}); the work goes on: show the {kind} later."
    )


class MalformedMessage(HearthError):
    """A message taken off the bus is not an envelope Hearth can read (it is dropped)."""

    code = "malformed_message"
    message = "A bus message was malformed: {reason}"


class DatabaseUnavailable(HearthError):
    """The database could not be reached, or stayed locked past the busy timeout."""

    status = 503
    code = "database_unavailable"
    message = "The database is unavailable; try again later."


class DatabaseUnreachable(DatabaseUnavailable):
    """No connection to the database server could be made (refused, no such host, bad
    credentials)."""

    code = "database_unreachable"
    message = (
        "Cannot connect to the database {database!r} at {server}: {reason}. "
        "Is the server running there, and is [database] url (or $HEARTH_DATABASE_URL) right?"
    )


class DatabaseMissing(DatabaseUnavailable):
    """The database server answers, but has no database of the configured name."""

    code = "database_missing"
    message = "The database {database!r} does not exist at {server}. {advice}"


class BackendError(HearthError):
    """The backend failed to carry out an operation. Another backend may succeed."""

    code = "backend_error"
    message = "The storage backend failed to {action}."
    reschedulable = True


class BackendFull(BackendError):
    """The backend has no space left for the operation."""

    code = "backend_full"
    message = "The storage backend has no space left to {action}."


class BackendSourceMissing(BackendError):
    """The backend does not hold the data that a source row says it holds."""

    code = "backend_source_missing"
    message = "The storage backend no longer holds the data of {kind} {source_id}."
    # The source lives only on this backend: no other backend can copy it.
    reschedulable = False


class ImageFetchFailed(BackendError):
    """Reading or downloading an image's bytes failed (I/O, network): may succeed later
    or elsewhere."""

    code = "image_fetch_failed"
    message = "Could not read image {image_id}; try again later."


class ImageDownloadFailed(ImageFetchFailed):
    """An image's http(s) URL could not be fetched (refused, unknown host, timeout)."""

    code = "image_download_failed"
    message = "Could not download image {image_id} from {url}: {reason}; try again later."


class ExportFailed(BackendError):
    """The backend's target (tgtd) refused or failed to export a volume for an attachment,
    or to remove that export."""

    code = "export_failed"
    message = "The target could not be configured: {reason}"
    reschedulable = False


def from_os_error(
    exc: OSError, action: str, *, source: tuple[str, str] | None = None
) -> HearthError:
    """The Hearth error for an OSError met while storage tried to ``action`` (a verb
    phrase: "copy the volume").

    No space or quota: ``BackendFull``. A missing file where the operation reads a
    ``source`` (its kind and id, e.g. ``("snapshot", id)``): ``BackendSourceMissing``.
    Anything else: ``BackendError``. The message names the action, never a path; the OS's
    own words (which may hold one) go to ``detail``, for the log.
    """
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return BackendFull(action=action, detail=str(exc))
    if exc.errno == errno.ENOENT and source is not None:
        kind, source_id = source
        return BackendSourceMissing(kind=kind, source_id=source_id, detail=str(exc))
    return BackendError(action=action, detail=str(exc))


def user_message_of(exc: BaseException) -> str:
    """The text a user may see for any exception: never a path, never a traceback."""
    if isinstance(exc, HearthError):
        return exc.user_message
    return HearthError.message


def code_of(exc: BaseException) -> str:
    """The stable code of any exception (foreign ones are internal errors)."""
    return exc.code if isinstance(exc, HearthError) else HearthError.code


class BackendFrozen(Conflict):
    """An operator froze the backend (``os-services/freeze``): its volumes and snapshots
    are not changed until it is thawed."""

    code = "backend_frozen"
    message = "Cannot {action} {kind} {resource_id}: its backend {backend} is frozen."


class QuotaExceeded(HearthError):
    """The request would take the project over one of its quota limits; nothing was made."""

    status = 413
    code = "quota_exceeded"
    message = (
        "Quota exceeded for {resource}: {requested} requested, {used} of {limit} already "
        "used or reserved in project {project_id}."
    )
