"""Real third-party software for the `real` test tier: a throw-away PostgreSQL server and the pinned
Airflow virtualenvs that scripts/ci/install_real_software.sh builds.

Nothing here downloads: a missing install is a test failure that names the install script, never a
silent skip (the tier is opted out of with ``-m 'not real'``, not by a missing binary).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "run scripts/ci/install_real_software.sh first"


def cache_dir() -> Path:
    explicit = os.environ.get("GITOPS_TOOL_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gitops-tool"


def airflow_venv(version: str) -> Path:
    """The virtualenv holding Airflow ``version`` (its ``bin/airflow`` must exist)."""
    venv = cache_dir() / f"airflow-{version}"
    if not (venv / "bin" / "airflow").is_file():
        raise AssertionError(f"Airflow {version} is not installed at {venv}: {INSTALL_HINT}")
    return venv


def postgres_bin_dir() -> Path:
    """The folder of Debian's PostgreSQL server binaries (initdb, pg_ctl, postgres)."""
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if roots:
        return roots[0].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise AssertionError(f"PostgreSQL server binaries not found: {INSTALL_HINT}")


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        raise AssertionError(f"promtool not found: {INSTALL_HINT}")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Postgres:
    """A running server on 127.0.0.1; ``superuser`` connects without a password (trust on loopback)."""

    host: str
    port: int
    superuser: str
    bin_dir: Path
    data_dir: Path

    def dsn(self, database: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        auth = user or self.superuser
        if password is not None:
            auth += f":{password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres", user: str | None = None) -> str:
        """Runs ``sql`` with psql (ON_ERROR_STOP); returns unaligned, tuples-only output."""
        result = subprocess.run(
            [
                "psql",
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                user or self.superuser,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, name: str, owner: str, password: str) -> None:
        """A role ``owner`` with ``password`` (scram) owning a new database ``name``."""
        self.psql(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{password}'")
        self.psql(f'CREATE DATABASE "{name}" OWNER "{owner}"')


def _run_as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its binaries as the `postgres` user."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """Starts a fresh PostgreSQL cluster on a free loopback port; stops and removes it after.

    Its folder is a new one under the system temp folder, not pytest's (pytest's parents are private
    to root, and the server runs as the `postgres` user when the tests run as root).
    """
    bin_dir = postgres_bin_dir()
    workdir = Path(tempfile.mkdtemp(prefix="gitops-tool-pg-"))
    data = workdir / "pgdata"
    sock = workdir / "pgsock"
    data.mkdir(parents=True)
    sock.mkdir()
    prefix = _run_as_postgres_user()
    if prefix:
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(sock, "postgres")
    superuser = "postgres"
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", superuser, "-A", "trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    log = workdir / "postgres.log"
    if prefix:
        log.touch()
        shutil.chown(log, "postgres")
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "start"],
        check=True,
        capture_output=True,
        timeout=90,
    )
    server = Postgres("127.0.0.1", port, superuser, bin_dir, data)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                server.psql("SELECT 1")
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)
