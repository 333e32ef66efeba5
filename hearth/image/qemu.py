"""The one place that starts ``qemu-img``. Called by ``convert`` only, after inspection.

Every run names its input format explicitly (the callers pass ``-f``), dies with the
process that started it (a parent-death signal), optionally runs under resource limits
(``prlimit``: CPU seconds and address space, against images crafted to make ``qemu-img``
spin or balloon), and streams the tool's output to a callback so conversion
progress can be followed. A failure becomes :class:`hearth.errors.ImageConversionFailed`
whose user message names no path; the tool's own words go to the log and ``detail``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hearth import errors

LOG = logging.getLogger(__name__)
QEMU_IMG = "qemu-img"
PRLIMIT = "prlimit"
DIES_WITH_CALLER = ["setpriv", "--pdeathsig", "KILL", "--"]
"""util-linux's setpriv sets PR_SET_PDEATHSIG, kept across exec: qemu-img is killed when
the thread that started it (and waits for it) dies. Without it a killed manager's
``qemu-img convert`` goes on to the end (it ignores SIGPIPE), writing a file nobody will
use, holding its space, beside the restarted manager's own conversion."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one ``qemu-img`` process."""

    cpu_seconds: int
    address_space_bytes: int

    def prefix(self) -> list[str]:
        """The ``prlimit`` command that applies these limits to the command after it."""
        return [PRLIMIT, f"--cpu={self.cpu_seconds}", f"--as={self.address_space_bytes}", "--"]


def run(
    args: Sequence[str],
    *,
    image_id: str,
    limits: Limits | None = None,
    on_output: Callable[[str], None] | None = None,
) -> str:
    """Run ``qemu-img ARGS`` and return its standard output.

    ``on_output`` receives each piece of standard output as it arrives (pieces end at
    ``\\r`` or ``\\n``, as ``qemu-img -p`` writes its progress). Raises
    ImageConversionFailed when the tool fails or is killed by its limits.
    """
    command = [*DIES_WITH_CALLER, *(limits.prefix() if limits else []), QEMU_IMG, *args]
    LOG.debug("running %s", command)
    # stderr goes to a file: a pipe nobody reads while stdout streams could fill and stall
    with tempfile.TemporaryFile() as stderr_file:
        try:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=stderr_file, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise errors.ImageConversionFailed(
                image_id=image_id, reason="the image tool could not be started", detail=str(exc)
            ) from exc
        with process:
            try:
                output = _read_output(process, on_output)
            except BaseException:  # the callback failed: do not leave the tool running
                process.kill()
                raise
            returncode = process.wait()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode(errors="replace").strip()
    if returncode != 0:
        LOG.warning("qemu-img %s failed (%s): %s", args[0], returncode, stderr)
        raise errors.ImageConversionFailed(
            image_id=image_id, reason=_reason(returncode), detail=stderr
        )
    return output


def _read_output(process: subprocess.Popen[bytes], on_output: Callable[[str], None] | None) -> str:
    assert process.stdout is not None
    pieces: list[str] = []
    pending = b""
    while chunk := os.read(process.stdout.fileno(), 4096):
        pending += chunk
        *complete, pending = pending.replace(b"\r", b"\n").split(b"\n")
        for piece in complete:
            text = piece.decode(errors="replace")
            pieces.append(text)
            if on_output is not None and text.strip():
                on_output(text)
    pieces.append(pending.decode(errors="replace"))
    return "\n".join(pieces)


def _reason(returncode: int) -> str:
    if returncode < 0:  # killed by a signal: prlimit's CPU limit sends SIGKILL after SIGXCPU
        return "the image tool exceeded its resource limits"
    return "the image is corrupt or not supported"
