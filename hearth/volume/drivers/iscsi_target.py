"""iSCSI exports through tgtd, the Linux SCSI target framework's user-space daemon (Debian
``tgt``; no kernel module), configured with ``tgtadm``. Used by the file driver.

One target per attachment, named ``<prefix>attachment-<id>``, with the volume's file as LUN
1 (LUN 0 is tgtd's controller), bound to the connector's initiator name only (the ACL)
and to a CHAP account made for it. tgtd keeps its configuration in memory only: a
restarted tgtd has no targets, and the manager's reconciliation makes them again from the
attachments' ``connection_info`` (same name, same credentials).

Who starts tgtd is a deployment decision: a system service (``tgtd`` on port 3260, control
port 0), or, with ``target_supervise``, this module, as a child of the volume manager's
process (``tgtd -f -C <control port> --iscsi portal=<ip>:<port>``), started again by the
reconciliation when it died; it outlives a crash of that process (its consumers stay
connected) and is adopted by the restarted manager, and is stopped by a clean stop.
Every failure of tgtadm becomes ExportFailed, with tgtadm's words as the reason (they
name targets and accounts, never a host path).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from hearth import errors

LOG = logging.getLogger(__name__)
LUN = 1
TGTADM_TIMEOUT = 30.0
START_TIMEOUT = 10.0
_TARGET_LINE = re.compile(r"^Target (\d+): (\S+)$")
_LOCKS: dict[int, threading.Lock] = {}
"""One lock per tgtd (control port): target ids are chosen as the highest plus one."""


class TgtTarget:
    """The tgtd that one backend exports through."""

    def __init__(
        self,
        *,
        ip_address: str,
        port: int,
        prefix: str,
        control_port: int = 0,
        supervise: bool = False,
        log_file: Path | None = None,
        pid_file: Path | None = None,
    ) -> None:
        self.portal = f"{ip_address}:{port}"
        self.prefix = prefix
        self.control_port = control_port
        self.supervise = supervise
        self._log_file = log_file
        self._pid_file = pid_file
        self._daemon: subprocess.Popen[bytes] | None = None
        self._lock = _LOCKS.setdefault(control_port, threading.Lock())

    def iqn(self, attachment_id: str) -> str:
        """The target name of an attachment's export."""
        return f"{self.prefix}attachment-{attachment_id}"

    def start(self) -> None:
        """With ``supervise``, start tgtd (unless one answers already); then check that
        tgtd answers. Raises ExportFailed if it does not."""
        if self.supervise and not self._answers():
            self._spawn()
        self.targets()

    def ensure_running(self) -> None:
        """Start a supervised tgtd again if it died (its targets are gone with it)."""
        dead = self._daemon is None or self._daemon.poll() is not None
        if self.supervise and dead and not self._answers():
            LOG.warning("tgtd on control port %s is not running; starting it", self.control_port)
            self._spawn()

    def stop(self) -> None:
        """Stop the supervised tgtd (the one this process started, or the one it adopted
        after a crash, by the pid file); a system tgtd is left alone. SIGKILL: tgtd ignores
        SIGTERM, and it keeps nothing that a kill could lose."""
        if self._daemon is not None and self._daemon.poll() is None:
            self._daemon.kill()
            self._daemon.wait()
        elif self.supervise and self._pid_file is not None:
            pid = self._recorded_pid()
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
        self._daemon = None

    def export(
        self,
        attachment_id: str,
        path: Path,
        *,
        initiator: str,
        username: str,
        password: str,
        readonly: bool,
    ) -> None:
        """Export the file at ``path`` to ``initiator`` with CHAP; an existing target of
        the attachment is kept as it is (a connected consumer stays connected)."""
        name = self.iqn(attachment_id)
        with self._lock:
            found = self.targets()
            if name in found:
                return
            tid = str(max(found.values(), default=0) + 1)
            try:
                self._adm("--op", "new", "--mode", "target", "--tid", tid, "-T", name)
                self._adm(
                    "--op", "new", "--mode", "logicalunit", "--tid", tid, "--lun", str(LUN),
                    "-b", str(path), "--bstype", "rdwr",
                )  # fmt: skip
                if readonly:
                    self._adm(
                        "--op", "update", "--mode", "logicalunit", "--tid", tid,
                        "--lun", str(LUN), "--params", "readonly=1",
                    )  # fmt: skip
                self._adm("--op", "bind", "--mode", "target", "--tid", tid, "-Q", initiator)
                self._account(username, password)
                self._adm("--op", "bind", "--mode", "account", "--tid", tid, "--user", username)
            except errors.ExportFailed:
                self._delete(tid, username)
                raise

    def remove(self, attachment_id: str) -> None:
        """Remove an attachment's target and its account; one already gone is fine."""
        with self._lock:
            shown = self._show()
            tid = _tid_of(shown, self.iqn(attachment_id))
            if tid is not None:
                self._delete(tid, _account_of(shown, tid))

    def exported(self) -> list[str]:
        """Attachment ids of the targets tgtd holds under this prefix."""
        marker = f"{self.prefix}attachment-"
        return [name[len(marker) :] for name in self.targets() if name.startswith(marker)]

    def targets(self) -> dict[str, int]:
        """Target names tgtd holds, with their ids."""
        return {name: tid for tid, name in _parse_targets(self._show())}

    def _delete(self, tid: str, username: str | None) -> None:
        try:
            self._adm("--op", "delete", "--mode", "target", "--tid", tid, "--force")
        except errors.ExportFailed as exc:
            if "can't find the target" not in str(exc):
                raise
        if username:
            try:
                self._adm("--op", "delete", "--mode", "account", "--user", username)
            except errors.ExportFailed as exc:  # an account left over only costs a line
                LOG.warning("could not delete CHAP account %s: %s", username, exc)

    def _account(self, username: str, password: str) -> None:
        try:
            self._adm(
                "--op", "new", "--mode", "account", "--user", username, "--password", password
            )
        except errors.ExportFailed as exc:
            if "exists" not in str(exc):
                raise

    def _show(self) -> str:
        return self._adm("--op", "show", "--mode", "target")

    def _answers(self) -> bool:
        try:
            self._show()
        except errors.ExportFailed:
            return False
        return True

    def _spawn(self) -> None:
        """Start tgtd in its own session, without a parent-death signal: a manager that
        crashes leaves it serving its consumers, and the restarted manager adopts it (it
        answers on the control port) with every target in place."""
        if shutil.which("tgtd") is None:
            raise errors.ExportFailed(reason="tgtd is not installed (Debian package tgt)")
        command = ["tgtd", "-f", "-C", str(self.control_port), "--iscsi", f"portal={self.portal}"]
        log = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._daemon = subprocess.Popen(
                command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        finally:
            if self._log_file:
                log.close()  # type: ignore[union-attr]
        if self._pid_file is not None:
            self._pid_file.write_text(f"{self._daemon.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self._daemon.poll() is not None or time.monotonic() > deadline:
                raise errors.ExportFailed(reason=f"tgtd did not start on portal {self.portal}")
            time.sleep(0.05)
        LOG.info("started tgtd (pid %s) on portal %s", self._daemon.pid, self.portal)

    def _recorded_pid(self) -> int | None:
        """The pid in the pid file, if that process is a tgtd on this control port."""
        assert self._pid_file is not None
        try:
            pid = int(self._pid_file.read_text().strip())
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        port = str(self.control_port).encode()
        return pid if argv[:1] == [b"tgtd"] and port in argv else None

    def _adm(self, *arguments: str) -> str:
        command = ["tgtadm", "-C", str(self.control_port), "--lld", "iscsi", *arguments]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=TGTADM_TIMEOUT, check=False
            )
        except FileNotFoundError as exc:
            raise errors.ExportFailed(
                reason="tgtadm is not installed (Debian package tgt)"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise errors.ExportFailed(reason="tgtd did not answer in time") from exc
        if done.returncode != 0:
            words = (done.stderr or done.stdout).strip().splitlines()
            raise errors.ExportFailed(
                reason=words[0] if words else f"tgtadm exited {done.returncode}"
            )
        return done.stdout


def _parse_targets(shown: str) -> list[tuple[int, str]]:
    found = []
    for line in shown.splitlines():
        match = _TARGET_LINE.match(line.strip())
        if match and not line.startswith(" "):
            found.append((int(match.group(1)), match.group(2)))
    return found


def _tid_of(shown: str, name: str) -> str | None:
    for tid, found in _parse_targets(shown):
        if found == name:
            return str(tid)
    return None


def _account_of(shown: str, tid: str) -> str | None:
    """The first CHAP account bound to target ``tid`` in tgtadm's show output."""
    inside = in_accounts = False
    for line in shown.splitlines():
        if not line.startswith(" "):
            inside = line.startswith(f"Target {tid}:")
            continue
        if inside and line.strip() == "Account information:":
            in_accounts = True
        elif inside and in_accounts:
            if line.startswith("        ") and line.strip():
                return line.strip()
            in_accounts = False
    return None


def connection_info(
    target: TgtTarget,
    *,
    attachment_id: str,
    volume_id: str,
    username: str,
    password: str,
    access_mode: str,
) -> dict[str, Any]:
    """The ``connection_info`` of an attachment's export, as os-brick's iSCSI connector
    reads it (single path: the ``*s`` lists hold the one portal, name and LUN)."""
    iqn = target.iqn(attachment_id)
    return {
        "driver_volume_type": "iscsi",
        "data": {
            "target_discovered": False,
            "target_portal": target.portal,
            "target_portals": [target.portal],
            "target_iqn": iqn,
            "target_iqns": [iqn],
            "target_lun": LUN,
            "target_luns": [LUN],
            "auth_method": "CHAP",
            "auth_username": username,
            "auth_password": password,
            "volume_id": volume_id,
            "encrypted": False,
            "qos_specs": None,
            "access_mode": access_mode,
            "discard": False,
        },
    }


def new_credentials() -> tuple[str, str]:
    """A CHAP user name and secret for one export (made per attachment, never reused)."""
    return f"hearth{secrets.token_hex(6)}", secrets.token_hex(12)
