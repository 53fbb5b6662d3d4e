"""Bad inputs from the field, through the CLI: each ends in one stderr line, exit 2, nothing written,
no secret in the output. YAML is bounded everywhere the tool reads it (alias expansion, size before
reading, no repeated keys)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, RunCli, init_repo
from tests.scheduler_support import repo_state

HA = "overlays/three-node-ha"
LIVE = REPO_ROOT / "examples" / "live" / "three-node-ha.yaml"
LIVE_S = str(LIVE)
GIT_URL = "https://github.com/o/d.git"
SECRET = "ghp_SECRETtoken123"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9)
)
DUPLICATE_REPLICAS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: airflow-webserver
  namespace: airflow
spec:
  replicas: 1
  replicas: 3
"""

Setup = Callable[[Path], list[str]]


def _one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gitops-tool: error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


def _write(repo: Path, name: str, text: str) -> str:
    path = repo.parent / name
    path.write_text(text)
    return str(path)


def _roles(repo: Path, text: str) -> str:
    """Write the overlay's node-roles.yaml; returns a placeholder the case drops from its args."""
    (repo / HA / "node-roles.yaml").write_text(text)
    return ""


CASES: list[tuple[str, Setup, str]] = [
    (
        "duplicate-key-live-file",
        lambda r: ["drift", HA, "--worktree", "--live-file", _write(r, "live.yaml", DUPLICATE_REPLICAS)],
        "duplicate key 'replicas' (line 8",
    ),
    (
        "duplicate-key-desired-file",
        lambda r: [
            "drift",
            "--desired-file",
            _write(r, "d.yaml", DUPLICATE_REPLICAS),
            "--live-file",
            str(LIVE),
        ],
        "duplicate key 'replicas' (line 8",
    ),
    (
        "duplicate-key-json",
        lambda r: [
            "drift",
            "--desired-file",
            _write(r, "d.json", '{"kind": "A", "kind": "B"}'),
            "--live-file",
            LIVE_S,
        ],
        "duplicate key 'kind'",
    ),
    (
        "alias-bomb-live-file",
        lambda r: ["drift", HA, "--worktree", "--live-file", _write(r, "bomb.yaml", BOMB)],
        "alias bomb",
    ),
    (
        "alias-bomb-ignore-file",
        lambda r: [
            "drift",
            HA,
            "--worktree",
            "--live-file",
            str(LIVE),
            "--ignore-file",
            _write(r, "i.yaml", BOMB),
        ],
        "alias bomb",
    ),
    (
        "alias-bomb-node-roles-add-scheduler",
        lambda r: [_roles(r, BOMB), "add-scheduler", "3", "--node", "node-4", "--repo", str(r)][1:],
        "alias bomb",
    ),
    (
        "duplicate-key-node-roles-add-scheduler",
        lambda r: [
            _roles(r, "roles:\n  management: node-1\n  management: node-2\n"),
            "add-scheduler",
            "3",
            "--node",
            "node-4",
            "--repo",
            str(r),
        ][1:],
        "duplicate key",
    ),
    (
        "duplicate-key-node-roles-nodes-check",
        lambda r: [
            _roles(r, "roles:\n  management: node-1\n  management: node-2\n"),
            "nodes",
            "check",
            str(r / HA),
        ][1:],
        "duplicate key 'management' (line 3",
    ),
    (
        "duplicate-nodes",
        lambda r: [
            "drift",
            HA,
            "--worktree",
            "--live-file",
            _write(
                r,
                "nodes.yaml",
                LIVE.read_text() + "---\napiVersion: v1\nkind: Node\nmetadata: {name: node-1}\n"
                "---\napiVersion: v1\nkind: Node\nmetadata: {name: node-1}\n",
            ),
        ],
        "Node node-1 appears twice",
    ),
    (
        "period-overflow",
        lambda r: [
            "dags",
            "source",
            "set",
            "three-node-ha",
            "--url",
            "https://github.com/o/d.git",
            "--period",
            "99999999999h",
        ],
        "longer than git-sync can read",
    ),
    (
        "repo-url-token-in-query",
        lambda r: [
            "dags",
            "source",
            "set",
            "three-node-ha",
            "--url",
            f"https://github.com/o/d.git?access_token={SECRET}",
        ],
        "--url",
    ),
]


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


@pytest.mark.parametrize(("setup", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    run_cli: RunCli, repo: Path, setup: Setup, message: str
) -> None:
    args = setup(repo)
    before = repo_state(repo)
    result = run_cli(*args, cwd=repo)
    assert result.code == 2, result.out + result.err
    _one_line(result.err, message)
    assert SECRET not in result.out + result.err
    assert repo_state(repo) == before
    assert not (repo / ".git" / "gitops-tool.lock").exists()


def test_non_utf8_standard_input(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"kind: \xff\xfe\n")))
    result = run_cli("drift", "--desired-file", "-", "--live-file", str(LIVE), cwd=REPO_ROOT)
    assert result.code == 2 and result.out == ""
    _one_line(result.err, "desired file on standard input is not UTF-8 text")


@pytest.mark.slow
def test_an_endless_file_is_refused_not_read(run_cli: RunCli) -> None:
    result = run_cli("drift", HA, "--worktree", "--live-file", "/dev/zero", cwd=REPO_ROOT)
    assert result.code == 2 and result.out == ""
    _one_line(result.err, "live file /dev/zero is larger than 268435456 bytes")


def test_a_file_too_large_is_refused_before_reading(run_cli: RunCli, tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:  # sparse: its size says it all, reading it would take long
        handle.truncate(300 * 1024 * 1024)
    result = run_cli("drift", HA, "--worktree", "--live-file", str(big), cwd=REPO_ROOT)
    assert result.code == 2
    _one_line(result.err, f"live file {big} is larger than 268435456 bytes (314572800)")


def test_a_live_secret_given_as_string_data_is_compared_as_data(run_cli: RunCli, tmp_path: Path) -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "airflow"},
        "data": {"k": "dmFsdWU="},  # "value"
    }
    live = {**desired, "stringData": {"k": "value"}}
    live.pop("data")
    (tmp_path / "d.json").write_text(json.dumps(desired))
    (tmp_path / "l.json").write_text(json.dumps(live))
    args = ["drift", "--desired-file", str(tmp_path / "d.json"), "--live-file", str(tmp_path / "l.json")]
    result = run_cli(*args, "-o", "json", cwd=tmp_path)
    assert result.code == 0, result.out + result.err
    live["stringData"] = {"k": "other"}
    (tmp_path / "l.json").write_text(json.dumps(live))
    result = run_cli(*args, "-o", "json", cwd=tmp_path)
    assert result.code == 1
    assert "other" not in result.out and "dmFsdWU=" not in result.out


def test_drift_worktree_refuses_an_overlay_symlinked_outside(
    run_cli: RunCli, repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "kustomization.yaml").write_text("resources: []\n")
    (repo / "overlays" / "escape").symlink_to(outside)
    result = run_cli("drift", "overlays/escape", "--worktree", "--live-file", str(LIVE), cwd=repo)
    assert result.code == 2
    _one_line(result.err, "overlay overlays/escape leads outside the repository")
