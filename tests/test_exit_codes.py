"""The exit-code contract (docs/reference/exit-codes.md) through the real console script, in
subprocesses: an exception nobody expected in any command exits 3 with one stderr line naming a
crash file; Ctrl-C at any moment, the imports included, exits 130 without a traceback; a read-only
checkout or an overlay outside the repository is one line, exit 2, nothing written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git
from tests.inject import run_with_injected_error
from tests.test_canary_every_command import INVOCATIONS, LIVE, REPO, TMP, K

GITOPS_TOOL = str(Path(sys.executable).with_name("gitops-tool"))


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "GITOPS_TOOL_DEBUG": ""}


def _argv(path: str, args: list[str], tmp_path: Path, repo: Path) -> list[str]:
    values = {K: str(tmp_path / "kubeconfig"), LIVE: str(tmp_path / "live.yaml"), TMP: str(tmp_path)}
    return [
        *path.split(),
        *(values.get(a, a.replace(TMP, str(tmp_path)).replace(REPO, str(repo))) for a in args),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(INVOCATIONS))
def test_an_unexpected_exception_in_any_command_exits_3_with_one_line(
    path: str, tmp_path: Path, project_repo: Path
) -> None:
    argv = _argv(path, INVOCATIONS[path][0], tmp_path, project_repo)
    result = run_with_injected_error(argv, project_repo, _env(tmp_path))
    assert result.returncode == 3, (argv, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "internal error (RuntimeError)" in lines[0]
    crash = Path(lines[0].split("the traceback is in ", 1)[1].split(";", 1)[0])
    assert crash.parent == tmp_path / "cache" / "gitops-tool"
    assert "RuntimeError: injected failure" in crash.read_text()
    assert crash.stat().st_mode & 0o777 == 0o600
    assert git(project_repo, "status", "--porcelain") == ""


def test_debug_prints_the_traceback_too(tmp_path: Path, project_repo: Path) -> None:
    result = run_with_injected_error(["--debug", "schedulers", "list"], project_repo, _env(tmp_path))
    assert result.returncode == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("gitops-tool: error: internal error")


def test_verbose_logs_and_default_is_silent(tmp_path: Path, project_repo: Path) -> None:
    quiet = subprocess.run(
        [GITOPS_TOOL, "schedulers", "list"], cwd=project_repo, capture_output=True, text=True, check=False
    )
    loud = subprocess.run(
        [GITOPS_TOOL, "-vv", "schedulers", "list"],
        cwd=project_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert quiet.returncode == loud.returncode == 0
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "after",
    ["gitops_tool.cli.entry", "typer", "kubernetes_validate", "gitops_tool.cli.app", "validate running"],
)
def test_ctrl_c_at_any_moment_exits_130_without_traceback(
    after: str, tmp_path: Path, project_repo: Path
) -> None:
    """SIGINT right after a given import finished (Python reports each one with PYTHONPROFILEIMPORTTIME:
    the entry point, Typer, the command modules), and while validate runs."""
    process = subprocess.Popen(
        [GITOPS_TOOL, "validate"],
        cwd=project_repo,
        env={**_env(tmp_path), "PYTHONPROFILEIMPORTTIME": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line)
        if after == "validate running" and "gitops_tool.services.validation" in line:
            time.sleep(1.0)
            break
        if line.rstrip().endswith(f"| {after}") or line.rstrip().endswith(f"|   {after}"):
            break
        if line.split("|")[-1].strip() == after:
            break
    process.send_signal(signal.SIGINT)
    _out, rest = process.communicate(timeout=120)
    text = "".join([*seen, rest])
    err = "\n".join(line for line in text.splitlines() if not line.startswith("import time:"))
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    # validate may already have reported an overlay's warnings (the placeholder DAG repository)
    # before the interruption: the one error line is the last line, nothing else is an error.
    assert [line for line in err.splitlines() if not line.startswith("warning: ")] == [
        "gitops-tool: error: interrupted"
    ], err


def _read_only(folder: Path, argv: list[str]) -> list[str]:
    """``argv`` run with ``folder`` mounted read-only (a private mount namespace when root)."""
    if os.geteuid() != 0:
        return argv
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(folder), *argv]


@pytest.mark.parametrize(
    "args",
    [
        ["add-scheduler", "3"],
        ["upgrade-airflow", "2.11.1"],
        ["backup", "enable", "three-node-ha"],
        ["render", "overlays/three-node-ha", "--output-file", "out.yaml"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_read_only_checkout_is_one_line_and_exit_2(
    args: list[str], tmp_path: Path, project_repo: Path
) -> None:
    if os.geteuid() != 0:
        for path in sorted(project_repo.rglob("*"), reverse=True):
            path.chmod(path.stat().st_mode & ~0o222)
        project_repo.chmod(0o555)
    head = git(project_repo, "rev-parse", "HEAD")
    result = subprocess.run(
        _read_only(project_repo, [GITOPS_TOOL, *args]),
        cwd=project_repo,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if os.geteuid() != 0:
        project_repo.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "read-only file system" in result.stderr or "permission denied" in result.stderr
    assert git(project_repo, "status", "--porcelain", "--ignored") == ""
    assert git(project_repo, "rev-parse", "HEAD") == head


@pytest.mark.parametrize("how", ["absolute", "symlink"])
def test_upgrade_refuses_an_overlay_outside_the_repository(
    how: str, tmp_path: Path, project_repo: Path
) -> None:
    outside = tmp_path / "outside"
    (project_repo / "overlays" / "three-node-ha").rename(outside)
    (project_repo / "overlays" / "three-node-ha").symlink_to(outside)
    git(project_repo, "add", "-A")
    git(project_repo, "commit", "-q", "-m", "overlay elsewhere")
    given = str(outside) if how == "absolute" else "overlays/three-node-ha"
    head = git(project_repo, "rev-parse", "HEAD")
    result = subprocess.run(
        [GITOPS_TOOL, "upgrade-airflow", "2.11.1", given],
        cwd=project_repo,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"gitops-tool: error: overlay {given} is outside the repository {project_repo.resolve()}"
    ]
    assert git(project_repo, "status", "--porcelain") == ""
    assert git(project_repo, "rev-parse", "HEAD") == head
