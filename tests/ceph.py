"""A real Ceph cluster for the RBD backend's tests: ``scripts/ceph``, once per test session.

``ceph_cluster`` starts one single-node cluster (mon, mgr, one bluestore OSD on a sparse
file, cephx, 127.0.0.1 on a free port) under the session's temporary directory the first
time a test asks for it, and purges it at the end of the session, failed tests or not.
``rbd_namespace`` gives each test its own RADOS namespace in the cluster's pool, so tests
see an empty backend without a pool (or a cluster) of their own.

Without Ceph's packages or Python bindings the tests that use it skip, and fail under
``CI=true`` (``tests.conftest.require``); ``scripts/setup`` installs both.

Test modules import the fixtures (``from tests.ceph import ceph_cluster, rbd_namespace``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hearth.volume.drivers import rbd as rbd_driver
from tests.conftest import require

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ceph"
POOL = "hearth"
USER = "hearth"


@dataclass
class CephCluster:
    """A running cluster: where its conf is, and an admin connection for checks."""

    directory: Path
    conf: Path
    pool: str = POOL
    user: str = USER
    _client: Any = None

    @property
    def keyring(self) -> Path:
        """The keyring of Hearth's user, ``client.hearth`` (caps limited to the pool)."""
        return self.directory / f"client.{self.user}.keyring"

    def driver_cluster(self, namespace: str = "") -> rbd_driver.Cluster:
        """The driver's view of the cluster, as Hearth's user in ``namespace``."""
        return rbd_driver.Cluster(
            pool=self.pool,
            namespace=namespace,
            ceph_conf=self.conf,
            user=self.user,
            keyring=self.keyring,
            op_timeout=10.0,
            connect_timeout=10.0,
        )

    def ioctx(self, namespace: str = "") -> Any:
        """An admin I/O context on the pool (in ``namespace``); close it after use."""
        import rados

        if self._client is None:
            self._client = rados.Rados(conffile=str(self.conf), rados_id="admin")
            self._client.connect(timeout=10)
        ioctx = self._client.open_ioctx(self.pool)
        ioctx.set_namespace(namespace)
        return ioctx

    def new_namespace(self) -> str:
        """A fresh, empty RADOS namespace in the pool."""
        import rbd

        name = f"t{uuid.uuid4().hex[:12]}"
        ioctx = self.ioctx()
        try:
            rbd.RBD().namespace_create(ioctx, name)
        finally:
            ioctx.close()
        return name

    def images(self, namespace: str = "") -> list[str]:
        """The names of the images in the pool's ``namespace`` (what ``rbd ls`` shows)."""
        import rbd

        ioctx = self.ioctx(namespace)
        try:
            return sorted(rbd.RBD().list(ioctx))
        finally:
            ioctx.close()

    def shutdown(self) -> None:
        if self._client is not None:
            self._client.shutdown()
            self._client = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _clean_environment() -> dict[str, str]:
    """The environment without libceph's variables, which would beat the cluster's conf."""
    return {
        k: v for k, v in os.environ.items() if k not in ("CEPH_CONF", "CEPH_KEYRING", "CEPH_ARGS")
    }


_running: dict[str, CephCluster] = {}
"""The session's cluster, once some module's copy of ``ceph_cluster`` has started it (pytest
makes one session fixture per module that imports it: this keeps it to one cluster)."""


@pytest.fixture(scope="session")
def ceph_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CephCluster]:
    """One single-node Ceph cluster for the whole session."""
    if "cluster" in _running:
        yield _running["cluster"]
        return
    require(shutil.which("ceph-mon") is not None, "Ceph is not installed (scripts/setup)")
    have_bindings = all(importlib.util.find_spec(name) for name in ("rados", "rbd"))
    require(have_bindings, "Ceph's Python bindings are not in this Python (scripts/setup)")
    directory = tmp_path_factory.mktemp("ceph") / "cluster"
    command = [str(SCRIPT), "start", str(directory), str(_free_port())]
    started = subprocess.run(
        command, check=False, capture_output=True, text=True, env=_clean_environment(), timeout=300
    )
    try:
        assert started.returncode == 0, f"scripts/ceph start failed: {started.stderr[-2000:]}"
        cluster = CephCluster(directory=directory, conf=Path(started.stdout.strip()))
        _running["cluster"] = cluster
        yield cluster
        cluster.shutdown()
    finally:
        _running.pop("cluster", None)
        subprocess.run(
            [str(SCRIPT), "purge", str(directory)], env=_clean_environment(), check=False
        )


@pytest.fixture
def rbd_namespace(ceph_cluster: CephCluster) -> str:
    """A fresh RADOS namespace of the session's pool, for one test."""
    return ceph_cluster.new_namespace()
