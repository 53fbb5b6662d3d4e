"""render and validate through the real CLI entry point and the real kustomize."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.conftest import RunCli


def test_render_prints_the_overlay(run_cli: RunCli, repo_root: Path) -> None:
    result = run_cli("render", "overlays/three-node-ha", cwd=repo_root)
    assert result.code == 0, result.err
    assert "kind: Namespace" in result.out


def test_render_output_is_written_atomically(run_cli: RunCli, repo_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n")
    result = run_cli("render", "overlays/three-node-ha", "--output-file", str(target), cwd=repo_root)
    assert result.code == 0, result.err
    assert "kind: Namespace" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.yaml"]


def test_validate_shipped_overlays_pass(run_cli: RunCli, repo_root: Path) -> None:
    result = run_cli("validate", "--output", "json", cwd=repo_root)
    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    assert report["ok"] is True
    shown = {o["overlay"] for o in report["overlays"]}
    assert shown >= {"overlays/three-node-ha", "overlays/single-node-legacy"}


def test_fast_render_path_parses_only_plain_forms() -> None:
    from gitops_tool.cli.entry import parse_fast_render

    assert parse_fast_render(["render", "o"]) == {"overlay": "o", "output": None, "kustomize": None}
    assert parse_fast_render(["render", "--output-file", "f", "o", "--kustomize=k"]) == {
        "overlay": "o",
        "output": "f",
        "kustomize": "k",
    }
    assert parse_fast_render(["render", "o", "-o", "yaml"]) == {
        "overlay": "o",
        "output": None,
        "kustomize": None,
    }
    for argv in (
        ["render"],
        ["render", "--help"],
        ["render", "o", "p"],
        ["render", "o", "--output-file"],
        ["render", "o", "--output-file", "a", "--output-file", "b"],
        ["render", "o", "-o", "json"],
        ["render", "o", "-o", "old-spelling-of-a-file.yaml"],
        ["render", "o", "--bogus"],
        ["validate", "o"],
    ):
        assert parse_fast_render(argv) is None, argv


def test_fast_and_full_render_paths_agree(
    run_cli: RunCli, repo_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Typer application prints the same bytes as the fast path for the same overlay."""
    from gitops_tool.cli.app import main as full_main

    fast = run_cli("render", "overlays/three-node-ha", cwd=repo_root)
    monkeypatch.chdir(repo_root)
    with pytest.raises(SystemExit) as exited:
        full_main(["render", "overlays/three-node-ha"])
    assert exited.value.code == 0
    assert fast.code == 0
    assert capsys.readouterr().out == fast.out != ""


def test_fast_path_errors_are_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("render", "overlays/none", cwd=tmp_path)
    assert result.code == 2
    assert result.err == "gitops-tool: error: unknown overlay overlays/none: no such folder\n"
