"""A throw-away PostgreSQL cluster on a loopback port, for the tests that need a real server.

Uses Debian's `postgresql` package (installed by .ci/run where missing). As root, the
cluster runs as the `postgres` system user, since the server refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_cluster(base: Path) -> Iterator[dict[str, str]]:
    """Start a cluster under `base`; yields host, port, user, db. Stopped on exit."""
    bindir = _bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries missing: .ci/run should install them")
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    prefix: list[str] = []
    if os.geteuid() == 0:
        # pytest's temporary folders are private to root; the server's user needs its own
        base = Path(tempfile.mkdtemp(prefix="koryu-pg-"))
        shutil.chown(base, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data = base / "pgdata"
    port = _free_port()

    def run(*args: str) -> None:
        proc = subprocess.run([*prefix, *args], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(args[:1])} failed: {proc.stderr or proc.stdout}")

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(data / "log"), "-w", "start")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "koryu")
        yield {"host": "127.0.0.1", "port": str(port), "user": "postgres", "db": "koryu"}
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        if prefix:
            shutil.rmtree(base, ignore_errors=True)


def sqlalchemy_url(pg: dict[str, str]) -> str:
    """psycopg2, as the deployment's dagster.yaml names it for dagster-postgres."""
    return f"postgresql+psycopg2://{pg['user']}@{pg['host']}:{pg['port']}/{pg['db']}"
