"""Every command of the Typer app, on its error paths (and cheap happy paths), with canary
credentials planted: Secret data in a live file and in the emulated API server, kubeconfig tokens
and passwords, a repository URL with a password. No canary may appear, raw or base64-encoded, in
stdout, stderr or the log records. The commands are enumerated from the app: a new command without
an entry here fails the test. (tests/test_clusterops_canary.py covers the cluster commands'
happy paths and every kind of API failure in depth.)"""

from __future__ import annotations

import base64
import logging
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from gitops_tool.cli.app import _register, app
from tests.cluster_support import CANARY_TOKEN, CANARY_VALUE, secret_object
from tests.conftest import RunCli
from tests.kubeapi import KubeApiServer

CANARY_PASSWORD = "canary-password-91c4e7"
CANARY_KEY = "canary-client-key-3d8f0a"


def _forms(value: str) -> list[str]:
    return [value, base64.b64encode(value.encode()).decode().rstrip("=")]


CANARIES = [
    form for value in (CANARY_TOKEN, CANARY_VALUE, CANARY_PASSWORD, CANARY_KEY) for form in _forms(value)
]

K = "{kubeconfig}"  # replaced by a kubeconfig carrying the canary token, which the server rejects
LIVE = "{live}"  # replaced by a live-objects file holding a Secret with canary data
TMP = "{tmp}"
REPO = "{repo}"  # the copy of the repository each invocation runs in (never the checkout itself)

# command path -> invocations (arguments after the path). Each runs in a Git copy of the repository.
INVOCATIONS: dict[str, list[list[str]]] = {
    # Refusals only, as --dry-run at most (a success would commit in this repository).
    "init": [
        ["--repo-url", f"https://admin:{CANARY_PASSWORD}@git.example.com/x/y.git"],
        ["--repo-url", f"https://{CANARY_TOKEN}@git.example.com/x/y.git", "--dry-run"],
        ["--repo-url", "https://git.example.com/x/y.git", "--dag-repo", f"https://{CANARY_TOKEN}@h.io/x.git"],
    ],
    "render": [["overlays/nope"], ["overlays/three-node-ha"]],
    "validate": [["overlays/nope"]],
    "images": [["overlays/nope"], ["overlays/three-node-ha"]],
    "add-scheduler": [["0"], ["3", "--dry-run"]],
    "remove-scheduler": [["99", "--dry-run"]],
    "schedulers add": [["0"]],
    "schedulers remove": [["99", "--dry-run"]],
    "schedulers list": [[]],
    "restore": [["airflow-20261127T020000Z.dump"]],
    "backup restore": [
        ["airflow-20261127T020000Z.dump"],
        ["airflow-20261127T020000Z.dump", "--yes", "--kubeconfig", K],
    ],
    "drift adopt": [  # --dry-run: never a write into the checkout
        ["overlays/three-node-ha", "--live-file", LIVE, "--dry-run"],
        ["overlays/three-node-ha", "--live-file", LIVE, "--dry-run", "--include-extra"],
        ["overlays/three-node-ha", "--kubeconfig", K, "--dry-run"],
    ],
    # `drift OVERLAY ...` is `drift audit OVERLAY ...` (the group's default command)
    "drift audit": [
        ["overlays/three-node-ha", "--live-file", LIVE],
        ["overlays/three-node-ha", "--live-file", LIVE, "--output", "json"],
        ["overlays/three-node-ha", "--kubeconfig", K],
    ],
    "doctor": [["--kubeconfig", K]],
    "upgrade-airflow": [["not-a-version"]],
    "argocd app": [
        ["three-node-ha", "--repo-url", f"https://admin:{CANARY_PASSWORD}@git.example.com/x/y.git"]
    ],
    "secrets init": [["--kubeconfig", K], ["--output-file", f"{REPO}/secret.yaml"]],
    "secrets rotate": [["--kubeconfig", K], ["--admin-passwords", "--database-password", "--kubeconfig", K]],
    "nodes check": [["--kubeconfig", K]],
    "nodes apply": [["--yes", "--kubeconfig", K]],
    # Refusals only.
    "backup enable": [
        ["nope"],
        ["three-node-ha", "--retention", "0"],
        ["three-node-ha", "--schedule", "61 * * * *"],
    ],
    "backup disable": [["nope"], ["three-node-ha", "--all"]],
    "backup now": [["--kubeconfig", K]],
    "backup list": [["--kubeconfig", K]],
    "components list": [["nope"], ["--output", "yaml"]],
    "components enable": [
        ["nope", "three-node-ha"],
        ["git-sync", "three-node-ha"],
        ["drift-cronjob", "three-node-ha", "--all"],
    ],
    "components disable": [["nope", "--all"], ["drift-cronjob", "three-node-ha"]],
    "dags push": [[f"{TMP}/dags", "--kubeconfig", K]],
    "dags rollback": [["--kubeconfig", K]],
    "dags status": [["--kubeconfig", K]],
    # Refusals only; the password must not come back.
    "dags source set": [
        ["three-node-ha", "--url", f"https://admin:{CANARY_PASSWORD}@git.example.com/x/y.git"],
        ["three-node-ha", "--url", f"https://{CANARY_TOKEN}@git.example.com/x/y.git"],
        ["three-node-ha", "--url", f"https://git.example.com/x/y.git?private_token={CANARY_TOKEN}"],
        ["single-node-legacy", "--url", "https://git.example.com/x/y.git"],
    ],
    "dags source show": [["three-node-ha"], ["three-node-ha", "--output", "json"], ["nope"]],
    "logs retention show": [["three-node-ha"], ["nope", "-o", "json"]],
    # Refusals only (a success would commit in this repository).
    "logs retention set": [["0", "three-node-ha"], ["30", "nope"]],
    "migrate plan": [["--kubeconfig", K]],
    "migrate check": [["--kubeconfig", K]],
    "migrate switch": [["--to", "overlays/nope"]],
    "policy test": [["--policies", f"{TMP}/no-policies"]],
}


def _command_paths() -> list[str]:
    _register()

    def walk(command: Any, prefix: list[str]) -> Iterator[str]:
        # Typer vendors its own click (typer._click): recognise groups by their commands.
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, [*prefix, name])
        else:
            yield " ".join(prefix)

    return sorted(walk(typer.main.get_command(app), []))


def test_every_command_has_canary_invocations() -> None:
    assert sorted(INVOCATIONS) == _command_paths()


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    # The server expects another token: every cluster command takes its 401 path with the canary.
    with KubeApiServer(token="the-right-token") as server:
        server.add_all(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "airflow"}}, secret_object()]
        )
        yield server


def _kubeconfig(api: KubeApiServer, folder: Path) -> str:
    path = api.kubeconfig(folder, token=CANARY_TOKEN)
    config = yaml.safe_load(path.read_text())
    config["users"][0]["user"].update({"username": "admin", "password": CANARY_PASSWORD})
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _live_file(folder: Path) -> str:
    secret = secret_object()
    secret["metadata"]["labels"] = {
        "app.kubernetes.io/part-of": "airflow",
        "app.kubernetes.io/managed-by": "gitops-tool",
    }
    secret["stringData"] = {"extra": CANARY_VALUE}
    path = folder / "live.yaml"
    path.write_text(yaml.safe_dump(secret))
    return str(path)


@pytest.mark.parametrize(
    "invocation",
    [(path, args) for path, runs in INVOCATIONS.items() for args in runs],
    ids=lambda v: f"{v[0]} {' '.join(v[1])}"[:60],
)
def test_no_output_carries_a_canary(  # noqa: PLR0917 - pytest fixtures
    invocation: tuple[str, list[str]],
    api: KubeApiServer,
    tmp_path: Path,
    run_cli: RunCli,
    caplog: pytest.LogCaptureFixture,
    project_repo: Path,
) -> None:
    path, args = invocation
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "dag.py").write_text(f"PASSWORD = {CANARY_VALUE!r}\n")
    values = {K: _kubeconfig(api, tmp_path), LIVE: _live_file(tmp_path), TMP: str(tmp_path)}
    argv = [
        *path.split(),
        *(values.get(a, a.replace(TMP, str(tmp_path)).replace(REPO, str(project_repo))) for a in args),
    ]
    with caplog.at_level(logging.DEBUG):
        result = run_cli(*argv, cwd=project_repo)
    seen = result.out + result.err + caplog.text
    assert [c for c in CANARIES if c in seen] == [], argv
    if result.code == 2:  # one error line (an old spelling's deprecation warning may precede it)
        errors = [
            line for line in result.err.strip().splitlines() if not line.startswith("gitops-tool: warning: ")
        ]
        assert len(errors) == 1, result.err
    assert not (project_repo / "secret.yaml").exists()


def test_secrets_file_is_0600_outside_the_work_tree_and_refused_inside(
    tmp_path: Path, run_cli: RunCli, project_repo: Path
) -> None:
    target = tmp_path / "out" / "airflow-secrets.yaml"
    target.parent.mkdir()
    result = run_cli("secrets", "init", "--output-file", str(target), cwd=tmp_path)
    assert result.code == 0, result.err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    values = [base64.b64decode(v).decode() for v in yaml.safe_load(target.read_text())["data"].values()]
    assert values and all(v not in result.out + result.err for v in values)
    inside = run_cli("secrets", "init", "--output-file", str(project_repo / "secret.yaml"), cwd=project_repo)
    assert inside.code == 2 and "work tree" in inside.err
    assert not (project_repo / "secret.yaml").exists()
