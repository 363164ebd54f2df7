"""A real PostgreSQL server for tests: ``initdb`` into a temp dir, started on a free loopback port.

Started once per test session from Debian's packages (``/usr/lib/postgresql/<v>/bin``), its unix socket
in the temp dir, and always stopped. As root (CI) the server runs as the ``postgres`` user through
``setpriv`` (PostgreSQL refuses to run as root). The fixture skips with the reason only when the binaries
are absent; ``scripts/test.sh`` installs them with apt.

    from tests.support.postgres_server import postgres_server, postgres_dsn  # noqa: F401

``postgres_dsn`` gives the server's DSN; ``postgres_schema`` a fresh schema name for one test's tables.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator

import pytest

from .redis_topologies import free_ports

__all__ = ["PostgresServer", "find_postgres_bin", "postgres_dsn", "postgres_server"]


def find_postgres_bin() -> str | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` holding ``initdb`` and ``postgres`` (or PATH's)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


class PostgresServer:
    """``postgres`` in a temp data dir, listening on 127.0.0.1 only, trust auth, user ``cascadeflow``.

    ``durable=False`` turns ``fsync`` off (tests); benchmarks pass ``durable=True``.
    """

    user = "cascadeflow"

    def __init__(self, bindir: str, *, durable: bool = False) -> None:
        self.dir = tempfile.mkdtemp(prefix="cf-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_ports(1)[0]
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses root: run it as the postgres user
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            # setpriv execs (no parent left between us and postgres), so terminate() reaches postgres
            self._as = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups"]
        subprocess.run(
            [*self._as, f"{bindir}/initdb", "-D", self.data, "-A", "trust", "-U", self.user, "-E", "UTF8"],
            capture_output=True,
            check=True,
            timeout=120,
        )
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": self.dir,
            "max_connections": "300",
            "fsync": "on" if durable else "off",
            "full_page_writes": "on" if durable else "off",
        }
        argv = [f"{bindir}/postgres", "-D", self.data, "-p", str(self.port)]
        for k, v in settings.items():
            argv += ["-c", f"{k}={v}"]
        self.proc = subprocess.Popen([*self._as, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(bindir)

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _wait(self, bindir: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with code {self.proc.returncode}")
            ready = subprocess.run(
                [f"{bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not accept connections within 30 s")

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM: smart shutdown; our clients are gone by now
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not found: install them with `apt-get install -y postgresql`")
    server = PostgresServer(bindir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> str:
    return postgres_server.dsn


@pytest.fixture
def postgres_schema() -> str:
    return f"cf_{uuid.uuid4().hex[:12]}"
