"""The backups a repository holds: reading manifests, verifying, deleting, collecting garbage.

Used by the engine (a parent's manifest) and by the backup service's delete and verify.

Deleting is mark and sweep: refuse while an incremental child names the backup as its
parent (as Cinder does), delete the manifest, then free every chunk that no remaining
manifest names. The manifest goes first, so a crash at any point never frees a chunk a
live manifest names: a crash after it only leaves unreferenced chunks, which the next
``collect_garbage`` frees. A sweep must not run while a backup is being written to the
same repository (that backup may rely on a chunk it found, which no manifest names yet):
the backup service holds one lock per repository across ``engine.back_up`` and
``delete``/``collect_garbage``. Reading and verifying need no lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth import errors
from hearth.backup import chunks, manifest, pipeline
from hearth.backup.drivers.base import BackupRepository
from hearth.backup.manifest import Manifest


@dataclass(frozen=True)
class Problem:
    """A backup that would not restore, and why."""

    backup_id: str
    reason: str


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` checked and what it found; ``ok`` when nothing."""

    backups: tuple[str, ...]
    chunks_checked: int
    bytes_checked: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def load(repository: BackupRepository, backup_id: str) -> Manifest:
    """The manifest of ``backup_id``: BackupNotFound, or BackupCorrupt if unreadable."""
    data = repository.get("manifest", backup_id)
    if data is None:
        raise errors.BackupNotFound(backup_id=backup_id)
    return manifest.decode(backup_id, data)


def load_all(repository: BackupRepository) -> list[Manifest]:
    """Every backup's manifest; BackupCorrupt on the first unreadable one."""
    found = []
    for backup_id in sorted(repository.keys("manifest")):
        try:
            found.append(load(repository, backup_id))
        except errors.BackupNotFound:
            continue  # deleted since it was listed
    return found


def verify(
    repository: BackupRepository, backup_id: str | None = None, workers: int = 2
) -> VerifyReport:
    """Read every chunk of one backup (or of all) and check it against its key.

    Problems are reported, not raised, so one pass finds them all; each chunk is read once
    however many backups share it. BackupNotFound when ``backup_id`` has no manifest.
    """
    problems: list[Problem] = []
    manifests: list[Manifest] = []
    ids = [backup_id] if backup_id is not None else sorted(repository.keys("manifest"))
    for each in ids:
        try:
            manifests.append(load(repository, each))
        except errors.BackupCorrupt as exc:
            problems.append(Problem(each, exc.fields["reason"]))
        except errors.BackupNotFound:
            if backup_id is not None:
                raise
    users: dict[tuple[str, str], list[str]] = {}
    for each_manifest in manifests:
        for key in each_manifest.chunk_keys():
            users.setdefault((each_manifest.compression, key), []).append(each_manifest.backup_id)
    checked = 0

    def check(compression: str, key: str) -> tuple[int, str | None]:
        try:
            data = chunks.unpack("", compression, key, repository.get("chunk", key))
        except errors.BackupCorrupt as exc:
            return 0, exc.fields["reason"]
        return len(data), None

    def tally(chunk: tuple[str, str], outcome: tuple[int, str | None]) -> None:
        nonlocal checked
        size, reason = outcome
        checked += size
        if reason is not None:
            problems.extend(Problem(user, reason) for user in users[chunk])

    with pipeline.Pipeline(workers, tally) as work:
        for compression, key in users:
            work.submit((compression, key), check, compression, key)
    return VerifyReport(
        backups=tuple(m.backup_id for m in manifests),
        chunks_checked=len(users),
        bytes_checked=checked,
        problems=tuple(sorted(problems, key=lambda p: (p.backup_id, p.reason))),
    )


def delete(repository: BackupRepository, backup_id: str) -> int:
    """Delete a backup and free the chunks nothing else names; returns how many.

    BackupNotFound when there is no such backup; BackupHasDependents (nothing changed)
    while incremental backups name it as their parent; BackupCorrupt (nothing changed)
    when another manifest cannot be read, since its chunks could not be kept.
    """
    if not repository.exists("manifest", backup_id):
        raise errors.BackupNotFound(backup_id=backup_id)
    others = load_all_but(repository, backup_id)
    children = sorted(m.backup_id for m in others if m.parent_id == backup_id)
    if children:
        raise errors.BackupHasDependents(backup_id=backup_id, children=", ".join(children))
    repository.delete("manifest", backup_id)
    return collect_garbage(repository)


def load_all_but(repository: BackupRepository, backup_id: str) -> list[Manifest]:
    """Every manifest except ``backup_id``'s (which may be unreadable: it is going)."""
    return [load(repository, key) for key in repository.keys("manifest") if key != backup_id]


def collect_garbage(repository: BackupRepository) -> int:
    """Free every chunk no manifest names (mark, then sweep); returns how many.

    Safe to run again after a crash at any point. BackupCorrupt, freeing nothing, when a
    manifest cannot be read.
    """
    live: set[str] = set()
    for each in load_all(repository):
        live.update(each.chunk_keys())
    freed = 0
    for key in list(repository.keys("chunk")):
        if key not in live:
            repository.delete("chunk", key)
            freed += 1
    return freed
