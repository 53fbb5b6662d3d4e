"""Bad input to render and validate: one line on stderr naming the problem, exit 2, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import RunCli


def _project(tmp_path: Path, overlays: dict[str, dict[str, str]]) -> Path:
    for overlay, files in overlays.items():
        folder = tmp_path / "overlays" / overlay
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text)
    return tmp_path


def _assert_one_line_error(result_err: str, *needles: str) -> None:
    lines = result_err.strip().splitlines()
    assert len(lines) == 1, result_err
    assert lines[0].startswith("gitops-tool: error: ")
    assert "Traceback" not in result_err
    for needle in needles:
        assert needle in lines[0]


def test_unknown_overlay(run_cli: RunCli, tmp_path: Path) -> None:
    _project(tmp_path, {"real": {"kustomization.yaml": "resources: []\n"}})
    result = run_cli("render", "overlays/nope", cwd=tmp_path)
    assert result.code == 2
    _assert_one_line_error(result.err, "unknown overlay overlays/nope")


def test_folder_without_kustomization(run_cli: RunCli, tmp_path: Path) -> None:
    _project(tmp_path, {"empty": {"README.md": "nothing\n"}})
    result = run_cli("render", "overlays/empty", cwd=tmp_path)
    assert result.code == 2
    _assert_one_line_error(result.err, "overlays/empty is not a kustomization")


def test_invalid_yaml_in_kustomization(run_cli: RunCli, tmp_path: Path) -> None:
    _project(tmp_path, {"bad": {"kustomization.yaml": "resources:\n  - a.yaml\n  bad: [\n"}})
    result = run_cli("validate", "overlays/bad", cwd=tmp_path)
    assert result.code == 2
    _assert_one_line_error(result.err, "kustomize could not render overlays/bad", "kustomize", "yaml: line")


def test_kustomization_referencing_a_missing_file(run_cli: RunCli, tmp_path: Path) -> None:
    _project(tmp_path, {"missing": {"kustomization.yaml": "resources:\n  - nothere.yaml\n"}})
    result = run_cli("render", "overlays/missing", cwd=tmp_path)
    assert result.code == 2
    _assert_one_line_error(result.err, "overlays/missing", "missing file or folder", "nothere.yaml")


def test_kustomize_not_found_by_option(run_cli: RunCli, tmp_path: Path) -> None:
    _project(tmp_path, {"ok": {"kustomization.yaml": "resources: []\n"}})
    result = run_cli("render", "overlays/ok", "--kustomize", str(tmp_path / "no-kustomize"), cwd=tmp_path)
    assert result.code == 2
    _assert_one_line_error(result.err, "kustomize not found", "--kustomize")


def test_kustomize_not_found_by_environment(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, {"ok": {"kustomize.yaml": ""}})
    monkeypatch.setenv("GITOPS_TOOL_KUSTOMIZE", "definitely-not-a-kustomize-binary")
    (tmp_path / "overlays" / "ok" / "kustomization.yaml").write_text("resources: []\n")
    result = run_cli("render", "overlays/ok", cwd=tmp_path)
    assert result.code == 2
    _assert_one_line_error(result.err, "kustomize not found", "GITOPS_TOOL_KUSTOMIZE")


def test_override_runs_the_named_kustomize(run_cli: RunCli, tmp_path: Path) -> None:
    """An override binary is run as `kustomize build DIR`: a stand-in script records its arguments."""
    _project(tmp_path, {"ok": {"kustomization.yaml": "resources: []\n"}})
    fake = tmp_path / "kustomize"
    fake.write_text('#!/bin/sh\necho "# built by stand-in: $*"\n')
    fake.chmod(0o755)
    result = run_cli("render", "overlays/ok", "--kustomize", str(fake), cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.out.strip() == f"# built by stand-in: build {tmp_path / 'overlays' / 'ok'}"


@pytest.mark.parametrize("version", ["1.20", "2.0", "latest", "1.38"])
def test_unsupported_kubernetes_version(run_cli: RunCli, tmp_path: Path, version: str) -> None:
    _project(tmp_path, {"ok": {"kustomization.yaml": "resources: []\n"}})
    result = run_cli("validate", "overlays/ok", "--kubernetes-version", version, cwd=tmp_path)
    assert result.code == 2
    _assert_one_line_error(result.err, "unsupported Kubernetes version", "1.30-1.37")


def test_output_into_a_missing_folder(run_cli: RunCli, tmp_path: Path) -> None:
    _project(tmp_path, {"ok": {"kustomization.yaml": "resources: []\n"}})
    target = tmp_path / "no" / "such" / "out.yaml"
    result = run_cli("render", "overlays/ok", "--output-file", str(target), cwd=tmp_path)
    assert result.code == 2
    _assert_one_line_error(result.err, "folder", "does not exist")
    assert not target.parent.exists()


def test_not_in_a_gitops_repository(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("validate", cwd=tmp_path)
    assert result.code == 2
    _assert_one_line_error(result.err, "no gitops repository here")


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    """The installed entry point itself, in a subprocess: one line, exit 2."""
    import subprocess
    import sys

    script = Path(sys.executable).parent / "gitops-tool"
    proc = subprocess.run(
        [str(script), "render", "overlays/nope"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert proc.returncode == 2
    _assert_one_line_error(proc.stderr, "unknown overlay")
