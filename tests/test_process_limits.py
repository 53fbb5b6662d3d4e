"""The kustomize child runs with a memory and a time limit; its death is one line (real kustomize and
stand-in scripts through the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.overlay_inputs import BILLION_LAUGHS, write_overlay

ALIAS_BOMB = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\n" + BILLION_LAUGHS


def _script(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-kustomize"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed orphan may wait for a reaper that never comes here)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitops-tool: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.slow
def test_an_alias_bomb_in_a_kustomization_stops_at_the_memory_limit(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_overlay(tmp_path, "x", {"bomb.yaml": ALIAS_BOMB})
    monkeypatch.setenv("GITOPS_TOOL_KUSTOMIZE_MEMORY_MB", "1024")
    result = run_cli("render", "overlays/x", cwd=root)
    assert result.code == 2 and result.out == ""
    _one_line(result.err, "kustomize could not render", "ran out of memory at its 1024 MiB limit")
    assert "GITOPS_TOOL_KUSTOMIZE_MEMORY_MB" in result.err


def test_a_kustomize_that_hangs_is_killed_at_the_time_limit(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_overlay(tmp_path, "x", {})
    pids = tmp_path / "pids"
    # The child and its own child both hang; the whole process group must go.
    fake = _script(tmp_path, f"sleep 60 & echo $! > {pids}; echo $$ >> {pids}; wait")
    monkeypatch.setenv("GITOPS_TOOL_KUSTOMIZE_TIMEOUT_S", "1")
    result = run_cli("render", "overlays/x", "--kustomize", fake, cwd=root)
    assert result.code == 2
    _one_line(result.err, "timed out after 1s", "GITOPS_TOOL_KUSTOMIZE_TIMEOUT_S")
    for pid in map(int, pids.read_text().split()):
        assert not _running(pid)


def test_a_kustomize_killed_by_a_signal_is_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    root = write_overlay(tmp_path, "x", {})
    fake = _script(tmp_path, "echo partial; kill -9 $$")
    result = run_cli("render", "overlays/x", "--kustomize", fake, cwd=root)
    assert result.code == 2 and result.out == ""
    _one_line(result.err, "kustomize could not render", "(exit -9)", "killed by signal SIGKILL")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GITOPS_TOOL_KUSTOMIZE_MEMORY_MB", "lots"),
        ("GITOPS_TOOL_KUSTOMIZE_MEMORY_MB", "10"),
        ("GITOPS_TOOL_KUSTOMIZE_TIMEOUT_S", "nan"),
        ("GITOPS_TOOL_KUSTOMIZE_TIMEOUT_S", "-5"),
    ],
)
def test_bad_limits_are_refused(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    root = write_overlay(tmp_path, "x", {})
    monkeypatch.setenv(name, value)
    result = run_cli("render", "overlays/x", cwd=root)
    assert result.code == 2
    _one_line(result.err, name, "is not a number of at least")


def test_a_normal_render_fits_the_default_limits(run_cli: RunCli, tmp_path: Path) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: small}\ndata: {a: b}\n"
    root = write_overlay(tmp_path, "x", {"cm.yaml": cm})
    result = run_cli("render", "overlays/x", cwd=root)
    assert result.code == 0, result.err
    assert "name: small" in result.out
