"""render and validate through the real CLI entry point and the real kustomize."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.conftest import RunCli


def test_render_prints_the_overlay(run_cli: RunCli, repo_root: Path) -> None:
    result = run_cli("render", "overlays/three-node-ha", cwd=repo_root)
    assert result.code == 0, result.err
    assert "kind: Namespace" in result.out


def test_render_output_is_written_atomically(run_cli: RunCli, repo_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old\n")
    result = run_cli("render", "overlays/three-node-ha", "--output", str(target), cwd=repo_root)
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
