"""A real 3-master Redis Cluster and a real Sentinel (one master, one replica) for tests.

Both are started once per test session on free loopback ports, from the ``redis-server`` binary (the
cluster nodes with ``--cluster-enabled yes``, joined by ``redis-cli --cluster create``; the Sentinel as
``redis-server <conf> --sentinel``), and always stopped. The fixtures skip with the reason only when the
binaries are absent; ``scripts/test.sh`` installs them with apt.

    from tests.support.redis_topologies import redis_cluster, redis_sentinel  # noqa: F401
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = [
    "RedisCluster",
    "RedisSentinel",
    "redis_cluster",
    "redis_cluster_url",
    "redis_sentinel",
    "redis_sentinel_url",
]

_BASE = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(n: int, *, bus: bool = False) -> list[int]:
    """``n`` free loopback ports (with ``bus``: ``port + 10000`` free too, the cluster bus port)."""
    out: list[int] = []
    rng = random.Random()
    while len(out) < n:
        p = rng.randrange(20000, 45000)
        if p not in out and _bindable(p) and (not bus or _bindable(p + 10000)):
            out.append(p)
    return out


def _cli(port: int, *args: str, timeout: float = 10) -> str:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.stdout


def _wait_until(what: str, probe, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except (OSError, subprocess.SubprocessError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class RedisCluster:
    """Three ``redis-server --cluster-enabled yes`` masters in a temp dir, slots split by redis-cli."""

    def __init__(self, binary: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cf-rcluster-"))
        self.ports = free_ports(3, bus=True)
        self.procs: list[subprocess.Popen[bytes]] = []
        try:
            for port in self.ports:
                node = self.dir / str(port)
                node.mkdir()
                self.procs.append(
                    subprocess.Popen(
                        [binary, "--port", str(port), "--dir", str(node), *_BASE]
                        + ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
                        + ["--cluster-node-timeout", "2000"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            for port in self.ports:
                _wait_until(f"cluster node {port}", lambda port=port: _cli(port, "PING").strip() == "PONG")
            nodes = [f"127.0.0.1:{p}" for p in self.ports]
            out = subprocess.run(
                ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if out.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {out.stdout}{out.stderr}")
            for port in self.ports:
                _wait_until(
                    f"cluster_state:ok on {port}",
                    lambda port=port: "cluster_state:ok" in _cli(port, "CLUSTER", "INFO"),
                )
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def flush(self) -> None:
        for port in self.ports:
            _cli(port, "FLUSHALL")

    def stop(self) -> None:
        _stop(self.procs)
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisSentinel:
    """A master, a replica of it, and one Sentinel watching them as service ``cfmaster`` (quorum 1)."""

    service = "cfmaster"

    def __init__(self, binary: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cf-rsentinel-"))
        self.master_port, self.replica_port, self.sentinel_port = free_ports(3)
        self.procs: list[subprocess.Popen[bytes]] = []
        try:
            for name, port, extra in (
                ("master", self.master_port, []),
                ("replica", self.replica_port, ["--replicaof", "127.0.0.1", str(self.master_port)]),
            ):
                node = self.dir / name
                node.mkdir()
                self.procs.append(
                    self._spawn([binary, "--port", str(port), "--dir", str(node), *_BASE, *extra])
                )
            _wait_until(
                "the replica to sync",
                lambda: "master_link_status:up" in _cli(self.replica_port, "INFO", "replication"),
            )
            conf = self.dir / "sentinel.conf"
            conf.write_text(
                f"port {self.sentinel_port}\nbind 127.0.0.1\ndaemonize no\ndir {self.dir}\n"
                f"sentinel monitor {self.service} 127.0.0.1 {self.master_port} 1\n"
                f"sentinel down-after-milliseconds {self.service} 2000\n"
                f"sentinel failover-timeout {self.service} 10000\n"
                f"sentinel parallel-syncs {self.service} 1\n"
            )
            self.procs.append(self._spawn([binary, str(conf), "--sentinel"]))
            _wait_until(
                "the sentinel to see the replica",
                lambda: (
                    str(self.replica_port) in _cli(self.sentinel_port, "SENTINEL", "REPLICAS", self.service)
                ),
            )
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _spawn(argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.service}"

    def master(self) -> int:
        """The port Sentinel currently names as master."""
        out = _cli(self.sentinel_port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service).split()
        return int(out[1])

    def flush(self) -> None:
        _cli(self.master(), "FLUSHALL")
        master = self.master()
        _wait_until("the flush to replicate", lambda: self._synced(master))

    def _synced(self, master: int) -> bool:
        other = self.replica_port if master == self.master_port else self.master_port
        return _cli(other, "DBSIZE").strip() == "0"

    def failover(self) -> int:
        """``SENTINEL FAILOVER``: promote the replica; return the new master's port once Sentinel names it."""
        old = self.master()
        _cli(self.sentinel_port, "SENTINEL", "FAILOVER", self.service)
        _wait_until("the failover", lambda: self.master() != old, timeout=30)
        new = self.master()
        _wait_until(
            "the new master to accept writes", lambda: "role:master" in _cli(new, "INFO", "replication")
        )
        return new

    def wait_replicated(self) -> None:
        """Wait until the current master's replica is linked again (after a failover, the old master)."""
        master = self.master()
        other = self.replica_port if master == self.master_port else self.master_port
        _wait_until(
            "the replica to re-sync",
            lambda: "master_link_status:up" in _cli(other, "INFO", "replication"),
            timeout=60,
        )

    def stop(self) -> None:
        _stop(self.procs)
        shutil.rmtree(self.dir, ignore_errors=True)


def _binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server / redis-cli not found: install them with `apt-get install -y redis-server`")
    return binary


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    cluster = RedisCluster(_binary())
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisCluster) -> str:
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinel]:
    sentinel = RedisSentinel(_binary())
    try:
        yield sentinel
    finally:
        sentinel.stop()


@pytest.fixture
def redis_sentinel_url(redis_sentinel: RedisSentinel) -> str:
    redis_sentinel.flush()
    return redis_sentinel.url
