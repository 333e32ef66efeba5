"""The crash harness: creates volumes while a volume manager is SIGKILLed, then checks what
its restart made of them.

This process is the user and the scheduler (a ``Hearth`` facade built with the scheduler
role on a broker); the volume manager of two file backends runs in a subprocess
(``tests.crash.launcher``) on the same database, broker and data directory. Backend
``cached`` has the image-volume cache, ``plain`` has not. One round:

1. arm a kill point (a task boundary, a point inside a sparse copy, ``qemu-img convert``
   at some percent, a filled cache entry not yet ready) or pick a random delay;
2. ask for one to three creates at once (raw, clone of a volume holding data, from a
   snapshot, from a qcow2 image with or without the cache, from an image whose stored
   bytes were corrupted, from a backup of the volume holding data, from a backup with a
   corrupted chunk; or the migration of a clone, made unharmed first, to the other
   backend) and wait for the manager to die (SIGKILL; at the delay, from here); no
   ``qemu-img`` of it may outlive it;
3. sometimes arm the restart too (the resumed create killed again, up to three times:
   then it must end in ``error``, ``recovery.max_resumes`` being 2);
4. restart the manager without a plan, wait at most ``RECOVERY_DEADLINE`` seconds for
   every volume to settle, and check the invariants (:meth:`Harness.check`);
5. delete the volumes (keeping the backends small), checking again after each.

Everything is drawn from one seeded ``random.Random``: a failure prints the seed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hearth import config
from hearth.backup import engine
from hearth.context import RequestContext
from hearth.db import (
    backends,
    backups,
    image_cache,
    models,
    snapshots,
    statuses,
    user_messages,
    volumes,
)
from hearth.db.session import Database
from hearth.service import wiring
from hearth.service.facade import Hearth

GiB = 1 << 30
MiB = 1 << 20
BLOCK = MiB
RECOVERY_DEADLINE = 30.0
"""Seconds a restarted manager has to settle every volume (the issue's acceptance)."""
BACKENDS = ("cached", "plain")
ADMIN = RequestContext(user_id="admin", project_id="admin", is_admin=True)
REPO = Path(__file__).resolve().parents[2]
TASK_TRANSITIONS = 12
"""State changes of a successful create flow's six tasks: RUNNING and SUCCESS each."""
SCENARIOS = (
    "raw",
    "clone",
    "snapshot",
    "image",
    "image_cached",
    "bad_image",
    "backup",
    "bad_backup",
    "migrate",
)
BACKUPS = 3
"""Good backups of the source volume (one per create of a round: a create holds its backup)."""
FAILED_TRANSITIONS = 22
"""State changes of a create flow that fails in its fifth task and reverts (about 20)."""
MUST_FAIL = "must end in error"
"""What a volume from the corrupted image (or backup) must hold: nothing, it must end in
``error``."""
LAUNCHER = (sys.executable, "-m", "tests.crash.launcher")
DEFAULT_BUS = "amqp://guest:guest@127.0.0.1:5672//"


@dataclasses.dataclass
class Report:
    """What the kills came to; ``available`` and ``error`` count the volumes of the rounds
    with a kill, as they were once recovered."""

    seed: int
    kills: int = 0
    rounds: int = 0
    missed: int = 0
    """Rounds whose kill point was never reached (the create ended first)."""
    available: int = 0
    error: int = 0
    error_expected: int = 0
    """Errors of creates from the corrupted image or backup (which can end no other way)."""
    stuck: int = 0
    orphans: int = 0
    violations: list[str] = dataclasses.field(default_factory=list)
    points: Counter[str] = dataclasses.field(default_factory=Counter)
    slowest_recovery: float = 0.0
    """Seconds from a restart to every volume settled, at most."""

    def lines(self) -> list[str]:
        return [
            f"seed {self.seed}: {self.rounds} rounds",
            f"kills                   {self.kills}",
            f"recovered-to-available  {self.available}",
            f"recovered-to-error      {self.error} ({self.error_expected} from a corrupted source)",
            f"stuck                   {self.stuck}",
            f"orphans                 {self.orphans}",
            f"kill point not reached  {self.missed}",
            f"slowest recovery        {self.slowest_recovery:.1f} s",
            "kill points             "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.points.items())),
            f"invariant violations    {len(self.violations)}",
            *(f"  - {v}" for v in self.violations),
        ]


class Harness:
    """One data directory, one broker namespace, one manager process at a time."""

    def __init__(
        self,
        work: Path,
        *,
        seed: int,
        bus_url: str,
        database_url: str | None = None,
        data_mib: int = 96,
        image_mib: int = 256,
        chain: float = 0.25,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.work = work
        self.rng = random.Random(seed)
        self.report = Report(seed)
        self.data_mib = data_mib
        self.image_mib = image_mib
        self.chain = chain
        """The chance that a restart is armed to kill the resumed create again."""
        self.log = log
        self.plan_file = work / "plan.json"
        self.log_file = work / "manager.log"
        values: dict[str, Any] = {
            "data_dir": str(work / "data"),
            "bus": {"url": bus_url, "namespace": f"crash-{uuid.uuid4().hex[:10]}"},
            "backends": {
                name: {
                    "directory": str(work / "data" / "backends" / name),
                    "clone_mode": "copy",
                    "availability_zone": name,
                    "image_cache": {"enabled": name == "cached"},
                }
                for name in BACKENDS
            },
            "scheduler": {"report_interval": 0.5, "backend_down_after": 60.0},
            "recovery": {"stale_after": 3600.0, "interval": 3600.0},
            "notifications": {"drivers": []},
        }
        if database_url is not None:
            values["database"] = {"url": database_url}
        (work / "data").mkdir(parents=True, exist_ok=True)
        self.settings_file = work / "settings.json"
        self.settings_file.write_text(json.dumps(values))
        self.settings = config.load(data_dir=values["data_dir"], overrides=values, environ={})
        self.manager: subprocess.Popen[bytes] | None = None
        self.expected: dict[str, str] = {}
        """Volume id -> digest of the bytes it must hold once available."""
        self.durations: dict[str, float] = {}
        self.client: Hearth | None = None
        self.sources: dict[str, tuple[str, str]] = {}
        """Backend -> (source volume id, its snapshot id)."""
        self.source_digest = ""
        self.image_id = ""
        self.bad_image_id = ""
        self.image_digest = ""
        self.backup_ids: list[str] = []
        self.bad_backup_ids: list[str] = []

    # processes

    def open(self) -> None:
        """Start the manager, the client side (scheduler), and make the sources."""
        database = Database(self.settings.database_url)
        try:
            database.upgrade()  # as `hearth db upgrade` (SQLite would do it by itself)
        finally:
            database.dispose()
        services = wiring.build(self.settings, roles={"scheduler"})
        services.start()
        self.client = Hearth(services, ADMIN)
        self.start_manager()
        self._make_sources()

    def close(self) -> None:
        if self.manager is not None and self.manager.poll() is None:
            self.manager.send_signal(signal.SIGTERM)
            try:
                self.manager.wait(30)
            except subprocess.TimeoutExpired:
                self.manager.kill()
                self.manager.wait()
        if self.client is not None:
            self.client.close()

    def start_manager(self, *, wait: bool = True) -> None:
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log:
            self.manager = subprocess.Popen(
                [*LAUNCHER, str(self.settings_file), str(self.plan_file)],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        if wait:
            self._wait_serving(offset)

    def _wait_serving(self, offset: int) -> bool:
        """True once the manager serves; False if it died first."""
        assert self.manager is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if b"crash launcher: serving" in self._log_since(offset):
                return True
            if self.manager.poll() is not None:
                return False
            time.sleep(0.02)
        raise AssertionError(f"the manager did not start; see {self.log_file}")

    def _log_since(self, offset: int) -> bytes:
        with self.log_file.open("rb") as log:
            log.seek(offset)
            return log.read()

    def kill_manager(self) -> None:
        assert self.manager is not None
        with contextlib.suppress(ProcessLookupError):
            self.manager.send_signal(signal.SIGKILL)
        self.manager.wait(10)

    # setup

    @property
    def hearth(self) -> Hearth:
        assert self.client is not None
        return self.client

    def _make_sources(self) -> None:
        data = self._random_data_layout(self.data_mib)
        for name in BACKENDS:
            volume = self.hearth.create_volume(size=1, availability_zone=name)
            assert volume.status == "available", volume.status
            path = self.volume_file(name, volume.id)
            fd = os.open(path, os.O_WRONLY)
            try:
                for offset, chunk in data:
                    os.pwrite(fd, chunk, offset)
                os.fsync(fd)
            finally:
                os.close(fd)
            snapshot = self.hearth.create_snapshot(volume.id)
            assert snapshot.status == "available", snapshot.status
            self.sources[name] = (volume.id, snapshot.id)
            self.source_digest = digest(path)
        raw = self.work / "image.raw"
        with raw.open("wb") as disk:
            disk.truncate(GiB)
            for offset, chunk in self._random_data_layout(self.image_mib):
                disk.seek(offset)
                disk.write(chunk)
        self.image_digest = digest(raw)
        qcow2 = self.work / "image.qcow2"
        subprocess.run(
            ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)],
            check=True,
            capture_output=True,
        )
        raw.unlink()
        self.image_id = self.hearth.create_image("crash", disk_format="qcow2", file=qcow2).id
        self.bad_image_id = self.hearth.create_image("bad", disk_format="qcow2", file=qcow2).id
        qcow2.unlink()
        with (self.settings.image_directory / f"image-{self.bad_image_id}").open("r+b") as bad:
            bad.seek(-4096, os.SEEK_END)  # a data cluster: its hash no longer matches
            bad.write(self.rng.randbytes(4096))
        self._make_backups(self.sources["plain"][0])
        for scenario in SCENARIOS:  # how long each takes unharmed: the range of delays
            moving = self._migration_source() if scenario == "migrate" else None
            started = time.monotonic()
            volume_id = self._migrate(moving) if moving else self._create(scenario).id
            self._wait_settled([volume_id], time.monotonic() + 60)
            self.durations[scenario] = time.monotonic() - started
            self._verify_and_delete(volume_id, count=False)
        self.log(f"unharmed creates, seconds: {self.durations}")

    def _make_backups(self, volume_id: str) -> None:
        """Backups of the source volume (its chunks stored once), and as many whose last
        chunk is corrupted (in a copy: the good ones share the others)."""
        repository = self.hearth.services.backup_repository()
        path = self.volume_file("plain", volume_id)
        options = engine.BackupOptions(chunk_size=4 * MiB, workers=2)
        for _ in range(BACKUPS):
            good = str(uuid.uuid4())
            engine.back_up(path, repository, good, options=options)
            self.backup_ids.append(self._backup_row(good, volume_id))
        damaged = self.work / "damaged.raw"
        with damaged.open("wb") as copy:
            copy.truncate(GiB)
            copy.seek(GiB - 4 * MiB)
            copy.write(self.rng.randbytes(4 * MiB))  # a chunk only the bad backups hold
        for _ in range(BACKUPS):
            bad = str(uuid.uuid4())
            manifest = engine.back_up(damaged, repository, bad, options=options).manifest
            self.bad_backup_ids.append(self._backup_row(bad, volume_id))
        [key] = manifest.chunk_keys()
        chunk = self.settings.backup_directory / "chunks" / key[:2] / key[2:4] / key
        stored = chunk.read_bytes()
        chunk.write_bytes(stored[:64] + bytes([stored[64] ^ 0xFF]) + stored[65:])
        damaged.unlink()

    def _backup_row(self, backup_id: str, volume_id: str) -> str:
        with self.hearth.services.db.transaction() as session:
            backups.create(
                session,
                id=backup_id,
                volume_id=volume_id,
                project_id=ADMIN.project_id,
                user_id=ADMIN.user_id,
                size=1,
                status=statuses.BackupStatus.AVAILABLE,
                data_timestamp=models.utcnow(),
            )
        return backup_id

    def _free_backup(self, pool: list[str]) -> str:
        """A backup of ``pool`` no create holds now."""
        with self.hearth.services.db.read() as session:
            free = [
                b for b in pool if backups.get(session, b).status == statuses.BackupStatus.AVAILABLE
            ]
        assert free, "every backup of the pool is held"
        return self.rng.choice(free)

    def _random_data_layout(self, mib: int) -> list[tuple[int, bytes]]:
        """A few extents of random bytes totalling ``mib`` MiB, at random offsets."""
        pieces = 4
        size = mib * MiB // pieces
        slots = self.rng.sample(range(GiB // size), pieces)
        return [(slot * size, self.rng.randbytes(size)) for slot in sorted(slots)]

    # one round

    def run(self, kills: int) -> Report:
        """Rounds until ``kills`` kills happened."""
        while self.report.kills < kills:
            before = self.report.kills
            self.round()
            if self.report.kills // 20 > before // 20:
                r = self.report
                self.log(
                    f"{r.kills} kills: {r.available} available, {r.error} error, "
                    f"{len(r.violations)} violations"
                )
        return self.report

    def round(self) -> None:
        """One to three creates at once; the first one's kill point is armed."""
        scenarios = [self.rng.choice(SCENARIOS) for _ in range(self.rng.choice((1, 1, 2, 3)))]
        if "image_cached" in scenarios and self.rng.random() < 0.5:
            self._clear_cache()  # a miss: the entry is populated
        self.round_at(scenarios, self._choose_point(scenarios[0]))

    def round_at(self, scenarios: list[str], point: dict[str, Any]) -> bool:
        """One round of these creates with the first one's kill point ``point`` (see
        ``tests.crash.launcher``); whether the manager was killed."""
        self.report.rounds += 1
        point.setdefault("token", uuid.uuid4().hex)
        volume_ids = self._create_killed(scenarios, point)
        killed = self.manager is not None and self.manager.poll() is not None
        if killed:
            self._outlived()
            self.report.kills += 1
            self.report.points[f"{scenarios[0]}@{point['at']}"] += 1
            self._restart(scenarios[0], volume_ids)
        else:
            self.report.missed += 1
            self.plan_file.unlink(missing_ok=True)
            self._wait_settled(volume_ids, time.monotonic() + 60)
        self._check_round(volume_ids, counted=killed)
        return killed

    def _clear_cache(self) -> None:
        """Evict the ``cached`` backend's entries from here (the facade clears only the
        caches of backends its process serves)."""
        services = self.hearth.services
        driver = wiring.build_driver(self.settings, "cached")
        made = wiring.build_image_cache(
            self.settings, "cached", services.db, services.locks, driver
        )
        assert made is not None
        made.clear()

    def _choose_point(self, scenario: str) -> dict[str, Any]:
        failing = scenario in ("bad_image", "bad_backup")
        transitions = FAILED_TRANSITIONS if failing else TASK_TRANSITIONS
        choices: list[dict[str, Any]] = [
            {"at": "delay", "seconds": self.rng.uniform(0, 1.2 * self.durations[scenario])},
        ]
        if scenario != "migrate":  # a migration runs no flow
            choices.append({"at": "task", "n": self.rng.randint(1, transitions)})
        if scenario in ("clone", "snapshot", "image_cached", "migrate"):
            choices.append({"at": "copy", "after": self.rng.randrange(self.data_mib * MiB)})
        if scenario in ("image", "image_cached", "bad_image"):
            choices.append({"at": "convert", "percent": self.rng.choice([0, 100, *range(1, 100)])})
        if scenario == "image_cached":
            choices.append({"at": "cache_filled"})
        if scenario in ("backup", "bad_backup"):  # the source holds 96 MiB: 24+ chunks
            choices.append({"at": "restore", "after": self.rng.randrange(self.data_mib // 4)})
        point = self.rng.choice(choices)
        point["token"] = uuid.uuid4().hex
        return point

    def _create_killed(self, scenarios: list[str], point: dict[str, Any]) -> list[str]:
        moving = [self._migration_source() for scenario in scenarios if scenario == "migrate"]
        if point["at"] != "delay":
            self._arm(point)
        volume_ids = [
            self._migrate(moving.pop()) if scenario == "migrate" else self._create(scenario).id
            for scenario in scenarios
        ]
        assert self.manager is not None
        if point["at"] == "delay":
            time.sleep(point["seconds"])
            self.kill_manager()
            return volume_ids
        deadline = time.monotonic() + 60
        while self.manager.poll() is None and time.monotonic() < deadline:
            if self._settled(volume_ids):
                self.plan_file.unlink(missing_ok=True)
                time.sleep(0.3)  # a kill on the flow's last transition lands now
                break
            time.sleep(0.01)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.manager.wait(1)
        return volume_ids

    def _arm(self, point: dict[str, Any]) -> None:
        temporary = self.plan_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(point))
        temporary.rename(self.plan_file)

    def _create(self, scenario: str) -> models.Volume:
        backend = "cached" if scenario in ("image_cached",) else self.rng.choice(BACKENDS)
        source_volume, source_snapshot = self.sources[backend]
        fields: dict[str, Any] = {
            "raw": {"availability_zone": backend},
            "clone": {"source_volid": source_volume},
            "snapshot": {"snapshot_id": source_snapshot, "size": self.rng.choice([1, 2])},
            "image": {"image_id": self.image_id, "availability_zone": "plain"},
            "image_cached": {"image_id": self.image_id, "availability_zone": "cached"},
            "bad_image": {"image_id": self.bad_image_id, "availability_zone": backend},
            "backup": {"availability_zone": backend, "size": self.rng.choice([1, 2])},
            "bad_backup": {"availability_zone": backend},
        }[scenario]
        if scenario == "backup":
            fields["backup_id"] = self._free_backup(self.backup_ids)
        elif scenario == "bad_backup":
            fields["backup_id"] = self._free_backup(self.bad_backup_ids)
        size = fields.pop("size", 1)
        volume = self.hearth.create_volume(size=size, wait=False, **fields)
        self.expected[volume.id] = {
            "raw": EMPTY,
            "clone": self.source_digest,
            "snapshot": self.source_digest,
            "image": self.image_digest,
            "image_cached": self.image_digest,
            "bad_image": MUST_FAIL,
            "backup": self.source_digest,
            "bad_backup": MUST_FAIL,
        }[scenario]
        return volume

    def _migration_source(self) -> tuple[str, str]:
        """A clone of a backend's source volume (made unharmed, before a plan is armed)
        and the other backend, where it is to move."""
        backend = self.rng.choice(BACKENDS)
        volume = self.hearth.create_volume(size=1, source_volid=self.sources[backend][0])
        assert volume.status == "available", volume.status
        self.expected[volume.id] = self.source_digest
        return volume.id, next(name for name in BACKENDS if name != backend)

    def _migrate(self, moving: tuple[str, str]) -> str:
        """Ask for the migration (``os-migrate_volume``) of a volume to a backend."""
        volume_id, target = moving
        self.hearth.migrate_volume(volume_id, {"host": target}, wait=False)
        return volume_id

    def _restart(self, scenario: str, volume_ids: list[str]) -> None:
        """Start the manager again; sometimes with a plan, killing the resumed create too
        (three kills of one create use up ``recovery.max_resumes``: it must end in error)."""
        for _ in range(3):
            point = self._choose_point(scenario)
            if self.rng.random() >= self.chain or point["at"] == "delay":
                break
            self._arm(point)
            offset = self.log_file.stat().st_size
            self.start_manager(wait=False)
            serving = self._wait_serving(offset)
            self.plan_file.unlink(missing_ok=True)
            if serving:  # the resumed create never reached the point
                self._wait_settled(volume_ids, time.monotonic() + RECOVERY_DEADLINE)
                return
            self._outlived()
            self.report.kills += 1
            self.report.points[f"{scenario}@resumed-{point['at']}"] += 1
        started = time.monotonic()
        self.start_manager(wait=False)
        self._wait_settled(volume_ids, started + RECOVERY_DEADLINE)
        self.report.slowest_recovery = max(self.report.slowest_recovery, time.monotonic() - started)

    def _check_round(self, volume_ids: list[str], *, counted: bool) -> None:
        with self.hearth.services.db.read() as session:
            rows = [volumes.find(session, volume_id) for volume_id in volume_ids]
        for row in rows if counted else []:
            if row is not None and row.status == statuses.VolumeStatus.AVAILABLE:
                self.report.available += 1
            elif row is not None and row.status == statuses.VolumeStatus.ERROR:
                self.report.error += 1
                self.report.error_expected += self.expected.get(row.id) == MUST_FAIL
        self._record(self.check())
        for volume_id in volume_ids:
            self._verify_and_delete(volume_id)

    def _verify_and_delete(self, volume_id: str, *, count: bool = True) -> None:
        volume = self.hearth.get_volume(volume_id)
        if volume.status in (statuses.VolumeStatus.AVAILABLE, statuses.VolumeStatus.ERROR):
            self.hearth.delete_volume(volume_id)
            self.expected.pop(volume_id, None)
            if count:
                self._record(self.check())

    def _record(self, problems: list[str]) -> None:
        for problem in problems:
            kind = problem.split(":", 1)[0]
            if kind == "stuck":
                self.report.stuck += 1
            elif kind in ("orphan", "temporary", "process"):
                self.report.orphans += 1
            self.report.violations.append(f"round {self.report.rounds}: {problem}")
            self.log(f"VIOLATION (seed {self.report.seed}) round {self.report.rounds}: {problem}")

    # waiting and checking

    def _settled(self, volume_ids: list[str]) -> bool:
        with self.hearth.services.db.read() as session:
            rows = [volumes.find(session, i) for i in volume_ids]
            entries = image_cache.find_all(session)
        unsettled = {*statuses.CREATE_IN_PROGRESS, statuses.VolumeStatus.DELETING}
        unsettled |= {statuses.VolumeStatus.MAINTENANCE}  # migrating
        moving = {"migrating", "completing"}
        return all(
            r is None or (r.status not in unsettled and r.migration_status not in moving)
            for r in rows
        ) and all(e.status == "ready" for e in entries)

    def _wait_settled(self, volume_ids: list[str], deadline: float) -> None:
        while not self._settled(volume_ids) and time.monotonic() < deadline:
            time.sleep(0.02)

    def volume_file(self, backend: str, volume_id: str) -> Path:
        return self.settings.backend_directory(backend) / "volumes" / f"volume-{volume_id}"

    def check(self) -> list[str]:
        """Every invariant of the acceptance, as a list of problems (empty: all hold)."""
        problems: list[str] = []
        with self.hearth.services.db.read() as session:
            rows = list(volumes.find_all(session))
            snaps = list(snapshots.find_all(session))
            entries = list(image_cache.find_all(session))
            held = [b for b in backups.find_all(session) if b.status != "available"]
            told = {m.resource_uuid for m in user_messages.find_all(session)}
            claims = {
                b.name: (b.allocated_capacity_gb, backends.recount_allocated(session, b.name))
                for b in backends.find_all(session)
            }
        for row in rows:
            problems += self._check_volume(row, told)
        for name in BACKENDS:
            problems += self._check_backend(name, rows, snaps, entries)
        for name, (claimed, recounted) in claims.items():
            if claimed != recounted:
                problems.append(f"capacity: {name} claims {claimed} GiB, recount {recounted}")
        for backup in held:
            problems.append(f"stuck: backup {backup.id} is {backup.status}")
        for entry in entries:
            if entry.status != "ready" or entry.in_use:
                problems.append(f"cache: entry {entry.id} {entry.status}, in use {entry.in_use}")
        problems += [f"audit: {f.backend} {f.kind} {f.resource_id}" for f in self.hearth.audit()]
        problems += [f"quota: {d}" for d in self.hearth.check_quotas()]
        problems += [f"process: {c} still runs" for c in self._leftover_processes().values()]
        return problems

    def _check_volume(self, row: models.Volume, told: set[str | None]) -> list[str]:
        if row.status not in (statuses.VolumeStatus.AVAILABLE, statuses.VolumeStatus.ERROR):
            return [f"stuck: volume {row.id} is {row.status}"]
        if row.migration_status in ("migrating", "completing"):
            return [f"stuck: volume {row.id} is {row.migration_status} ({row.migration_host})"]
        if row.progress is not None:
            return [f"fields: {row.status} volume {row.id} shows progress {row.progress}"]
        if row.status == statuses.VolumeStatus.ERROR:
            if row.volume_image_metadata is not None:
                return [f"fields: failed volume {row.id} keeps image metadata"]
            return [] if row.id in told else [f"error: volume {row.id} has no user message"]
        if row.image_id is not None and not (row.volume_image_metadata and row.bootable):
            return [f"fields: volume {row.id} from an image lacks its image metadata"]
        assert row.host is not None
        path = self.volume_file(row.host, row.id)
        if not path.exists():
            return [f"data: available volume {row.id} has no file"]
        if path.stat().st_size != row.size * GiB:
            return [f"data: volume {row.id} holds {path.stat().st_size} bytes, not {row.size} GiB"]
        expected = self.expected.get(row.id, self.source_digest)
        if expected == MUST_FAIL:
            return [f"data: volume {row.id} from the corrupted image is available"]
        if digest(path) != expected:
            return [f"data: available volume {row.id} does not hold its source's bytes"]
        return []

    def _check_backend(
        self,
        name: str,
        rows: list[models.Volume],
        snaps: list[models.Snapshot],
        entries: list[models.ImageCacheEntry],
    ) -> list[str]:
        directory = self.settings.backend_directory(name)
        owned = {r.id for r in rows if r.host == name} | {e.id for e in entries if e.host == name}
        problems = [
            f"orphan: {name} holds volume-{i} with no row"
            for i in _ids(directory / "volumes", "volume-") - owned
        ]
        problems += [
            f"orphan: {name} holds snapshot-{i} with no row"
            for i in _ids(directory / "snapshots", "snapshot-") - {s.id for s in snaps}
        ]
        for entry in entries:
            if entry.host == name and not (directory / "volumes" / f"volume-{entry.id}").exists():
                problems.append(f"cache: entry {entry.id} has no file")
        leftovers = [*_listing(directory / "tmp"), *_listing(self.settings.image_directory / "tmp")]
        problems += [f"temporary: {name} left {leftover}" for leftover in leftovers]
        return problems

    def _outlived(self) -> None:
        """Just after a kill: a ``qemu-img`` of the dead manager must die with it (it
        would go on writing a file nobody will use, holding its space and competing with
        the restarted manager's conversion). Survivors are recorded, then killed."""
        deadline = time.monotonic() + 1.0
        while (running := self._leftover_processes()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid, command in running.items():
            self._record([f"process: {command} outlived its manager"])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _leftover_processes(self) -> dict[int, str]:
        """qemu-img processes of a killed manager that still run (reading our data)."""
        found = {}
        marker = str(self.work).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                command = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if b"qemu-img" in command and marker in command and state != "Z":
                    found[int(entry.name)] = command.replace(b"\0", b" ").decode(errors="replace")
        return found


def digest(path: Path) -> str:
    """A hash of a file's contents, read through its data extents only: equal for equal
    bytes whatever is a hole and what is written zeros, whatever the file's size."""
    result = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        for block in _data_blocks(fd, size):
            data = os.pread(fd, BLOCK, block)
            if data.count(0) != len(data):
                result.update(block.to_bytes(8, "little") + data)
    finally:
        os.close(fd)
    return result.hexdigest()


def _data_blocks(fd: int, size: int) -> Iterator[int]:
    """Offsets of the BLOCK-aligned blocks that hold any data extent, in order."""
    last = -1
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError:
            return
        end = os.lseek(fd, start, os.SEEK_HOLE)
        for block in range(start // BLOCK * BLOCK, end, BLOCK):
            if block > last:
                last = block
                yield block
        offset = end


EMPTY = hashlib.sha256().hexdigest()
"""The digest of an all-zero volume."""


def _ids(folder: Path, prefix: str) -> set[str]:
    return {p.name.removeprefix(prefix) for p in _listing(folder) if p.name.startswith(prefix)}


def _listing(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except FileNotFoundError:
        return []
