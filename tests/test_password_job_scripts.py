"""The programs the password Jobs run, run here for real: the Grafana Job's Python against an
emulated Grafana HTTP API on 127.0.0.1, the Airflow and PostgreSQL Jobs' shell lines with stand-in
`airflow` / `psql` executables that record what they were given."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gitops_tool.core import password_jobs as pj

# Passwords with characters a shell or JSON would mangle if they were ever spliced into text.
OLD = "old-pa$$ 'quoted' \"x\" \\n"
NEW = "new-pa$$ `id` 'y' \"z\" {}"


@dataclass
class FakeGrafana:
    user: str
    password: str
    calls: list[tuple[str, str]] = field(default_factory=list)


def _handler(grafana: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            expected = base64.b64encode(f"{grafana.user}:{grafana.password}".encode()).decode()
            return header == f"Basic {expected}"

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_PUT(self) -> None:
            grafana.calls.append(("PUT", self.path))
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            allowed = self.path == "/api/user/password" and self._authorised()
            if not allowed or body.get("oldPassword") != grafana.password:
                self._answer(401)
            else:
                grafana.password = body["newPassword"]
                self._answer(200)

        def do_GET(self) -> None:
            grafana.calls.append(("GET", self.path))
            self._answer(200 if self.path == "/api/user" and self._authorised() else 401)

    return Handler


@pytest.fixture
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    fake = FakeGrafana("grafana-root", OLD)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _container(job: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = job["spec"]["template"]["spec"]["containers"][0]
    return container


def _run_grafana_job(url: str, current: str) -> subprocess.CompletedProcess[str]:
    container = _container(pj.grafana_admin_job("g", "apache/airflow:2.11.0-python3.9", "grafana-root"))
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env |= {"GRAFANA_URL": url, "CURRENT_PASSWORD": current, pj.NEW_PASSWORD_ENV: NEW}
    command = container["command"]
    assert command[:2] == ["python", "-c"]
    return subprocess.run(
        [sys.executable, "-c", command[2]], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_grafana_job_changes_the_password_and_proves_the_new_one(
    grafana: tuple[FakeGrafana, str],
) -> None:
    fake, url = grafana
    done = _run_grafana_job(url, OLD)
    assert done.returncode == 0, done.stderr
    assert fake.password == NEW
    assert fake.calls == [("PUT", "/api/user/password"), ("GET", "/api/user")]
    assert OLD not in done.stdout + done.stderr and NEW not in done.stdout + done.stderr


def test_the_grafana_job_fails_without_change_when_the_current_password_is_wrong(
    grafana: tuple[FakeGrafana, str],
) -> None:
    fake, url = grafana
    done = _run_grafana_job(url, "not-the-current-one")
    assert done.returncode == 1
    assert "grafana refused the password change: HTTP 401" in done.stderr
    assert fake.password == OLD
    assert NEW not in done.stdout + done.stderr


def test_the_grafana_job_fails_when_grafana_is_unreachable(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = _run_grafana_job(f"http://127.0.0.1:{port}", OLD)
    assert done.returncode == 1 and "unreachable" in done.stderr


def _stand_in(folder: Path, name: str) -> None:
    """An executable that writes each argument (and stdin, for psql) on its own NUL-separated line."""
    script = folder / name
    script.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do printf "%s\\0" "$a"; done > "{folder}/{name}.args"\n'
        f'cat > "{folder}/{name}.stdin"\n'
    )
    script.chmod(0o755)


def _run_shell(job: dict[str, Any], folder: Path) -> list[str]:
    container = _container(job)
    line = (container.get("command") or container["args"])[2]
    env = {"PATH": f"{folder}:/usr/bin:/bin", pj.NEW_PASSWORD_ENV: NEW, "PGUSER": "airflow"}
    done = subprocess.run(
        ["/bin/sh", "-c", line],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return [a for a in next(folder.glob("*.args")).read_text().split("\0") if a]


def test_the_airflow_job_passes_the_password_as_one_argument(tmp_path: Path) -> None:
    _stand_in(tmp_path, "airflow")
    argv = _run_shell(pj.airflow_admin_job("a", "apache/airflow:2.11.0-python3.9"), tmp_path)
    assert argv == ["users", "reset-password", "--username", "admin", "--password", NEW]


def test_the_database_job_hands_the_password_to_psql_as_a_variable(tmp_path: Path) -> None:
    _stand_in(tmp_path, "psql")
    argv = _run_shell(pj.database_job("d", "postgres:16.9"), tmp_path)
    assert argv == ["-v", "ON_ERROR_STOP=1", "-v", f"newpw={NEW}"]
    # The SQL psql reads names the variable; psql quotes its value as a literal itself.
    assert (tmp_path / "psql.stdin").read_text() == "ALTER USER \"airflow\" WITH PASSWORD :'newpw';\n"
    assert os.environ.get(pj.NEW_PASSWORD_ENV) is None
