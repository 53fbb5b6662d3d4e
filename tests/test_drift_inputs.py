"""Where desired and live state come from: Git revisions, the work tree, files, stdin; bad input."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT, RunCli, git

CASES = REPO_ROOT / "tests" / "fixtures" / "peer-diff-cases"


def _cm(name: str, value: str, namespace: str = "apps") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"key": value},
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A Git repository with one overlay whose ConfigMap says "committed"."""
    root = tmp_path / "repo"
    (root / "overlays" / "demo").mkdir(parents=True)
    (root / "overlays" / "demo" / "kustomization.yaml").write_text("resources:\n  - cm.yaml\n")
    (root / "overlays" / "demo" / "cm.yaml").write_text(yaml.safe_dump(_cm("settings", "committed")))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def _live(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(_cm("settings", value)))
    return path


def test_desired_comes_from_the_commit_not_the_dirty_work_tree(
    run_cli: RunCli, repo: Path, tmp_path: Path
) -> None:
    (repo / "overlays" / "demo" / "cm.yaml").write_text(yaml.safe_dump(_cm("settings", "uncommitted")))
    status_before = git(repo, "status", "--porcelain")
    result = run_cli(
        "drift", "overlays/demo", "--live-file", str(_live(tmp_path, "committed")), "-o", "json", cwd=repo
    )
    assert result.code == 0, result.err
    report = json.loads(result.out)
    head = git(repo, "rev-parse", "HEAD").strip()
    assert report["ref"] == f"HEAD ({head[:12]})"
    assert report["overlay"] == "overlays/demo"
    assert git(repo, "status", "--porcelain") == status_before
    assert (repo / "overlays" / "demo" / "cm.yaml").read_text() == yaml.safe_dump(
        _cm("settings", "uncommitted")
    )
    # --worktree renders the uncommitted file instead.
    result = run_cli(
        "drift",
        "overlays/demo",
        "--worktree",
        "--live-file",
        str(_live(tmp_path, "committed")),
        "-o",
        "json",
        cwd=repo,
    )
    assert result.code == 1
    [resource] = json.loads(result.out)["resources"]
    assert resource["differences"] == [
        {
            "path": "/data/key",
            "desired": "uncommitted",
            "live": "committed",
            "reason": "changed",
            "live_owner": None,  # the hand-written snapshot records no managedFields
        }
    ]


def test_ref_renders_an_older_commit_and_an_overlay_only_there(
    run_cli: RunCli, repo: Path, tmp_path: Path
) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "overlays" / "demo" / "cm.yaml").write_text(yaml.safe_dump(_cm("settings", "second")))
    git(repo, "commit", "-q", "-am", "second")
    git(repo, "tag", "v2")
    shutil.rmtree(repo / "overlays" / "demo")
    git(repo, "commit", "-q", "-am", "remove the overlay")
    live = _live(tmp_path, "committed")
    result = run_cli(
        "drift", "overlays/demo", "--ref", first, "--live-file", str(live), "-o", "json", cwd=repo
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["ref"] == f"{first} ({first[:12]})"
    # The overlay's short name, as every command takes it, finds it in the commit too.
    short = run_cli("drift", "demo", "--ref", first, "--live-file", str(live), "-o", "json", cwd=repo)
    assert short.code == 0, short.err
    assert json.loads(short.out)["overlay"] == "overlays/demo"
    result = run_cli("drift", "overlays/demo", "--ref", "v2", "--live-file", str(live), cwd=repo)
    assert result.code == 1
    result = run_cli("drift", "overlays/demo", "--live-file", str(live), cwd=repo)
    assert result.code == 2
    assert "overlay overlays/demo does not exist at HEAD" in result.err


def test_unknown_ref_is_one_line_exit_2(run_cli: RunCli, repo: Path, tmp_path: Path) -> None:
    for ref in ("no-such-branch", "deadbeef" * 5, "--upload-pack=x"):
        result = run_cli(
            "drift", "overlays/demo", "--ref", ref, "--live-file", str(_live(tmp_path, "x")), cwd=repo
        )
        assert result.code == 2
        assert result.out == ""
        assert result.err.count("\n") == 1 and "unknown ref" in result.err


def test_desired_from_stdin(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO((CASES / "deployment-config.json").read_text()))
    result = run_cli("drift", "--desired-file", "-", "--live-file", str(CASES / "deployment-live.json"))
    assert result.code == 0, result.err
    assert result.out.startswith("no drift: desired manifests:")


def _bad(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{ not json", "invalid JSON"),
        ("a: [unclosed\n", "invalid YAML"),
        (
            '{"apiVersion": "v1", "kind": "List", "items": [1, 2]}',
            "a List holds a int, not a Kubernetes object",
        ),
        ('{"apiVersion": "v1", "metadata": {"name": "x"}}', "has no kind"),
        ('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}', "has no metadata.name"),
        (
            "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a, namespace: n}\n---\n"
            "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a, namespace: n}\n",
            "ConfigMap/n/a appears twice",
        ),
    ],
    ids=["unreadable", "json", "yaml", "list-of-non-objects", "no-kind", "no-name", "duplicate"],
)
@pytest.mark.parametrize("side", ["--desired-file", "--live-file"])
def test_bad_input_is_one_line_exit_2(
    run_cli: RunCli, tmp_path: Path, content: str | None, message: str, side: str
) -> None:
    bad = str(tmp_path / "missing.yaml") if content is None else _bad(tmp_path, "bad.yaml", content)
    good = str(CASES / "deployment-config.json")
    other = "--live-file" if side == "--desired-file" else "--desired-file"
    result = run_cli("drift", side, bad, other, good)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert message in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ref", "HEAD", "--worktree"], "--ref and --worktree exclude each other"),
        (["--live-file", "x", "--kubeconfig", "k"], "--live-file excludes --kubeconfig"),
        (["--output", "yaml", "--live-file", "x"], "'yaml' is not one of 'text', 'json', 'markdown'"),
        (["--desired-file", "-", "--live-file", "-"], "only one of --desired-file and --live-file"),
    ],
)
def test_contradictory_options(run_cli: RunCli, args: list[str], message: str) -> None:
    result = run_cli("drift", *args)
    assert result.code == 2
    assert result.err.count("\n") == 1 and message in result.err


def test_ignore_file_and_bad_ignore_file(run_cli: RunCli, tmp_path: Path) -> None:
    config = json.loads((CASES / "elasticsearch-config.json").read_text())
    config["metadata"]["labels"]["chart"] = "elasticsearch-1.7.1"
    desired = _bad(tmp_path, "desired.json", json.dumps(config))
    live = str(CASES / "elasticsearch-live.json")
    rules = _bad(
        tmp_path,
        "ignore.yaml",
        yaml.safe_dump(
            {
                "ignoreDifferences": [
                    {"group": "apps", "kind": "StatefulSet", "jsonPointers": ["/metadata/labels/chart"]}
                ]
            }
        ),
    )
    assert run_cli("drift", "--desired-file", desired, "--live-file", live).code == 1
    assert run_cli("drift", "--desired-file", desired, "--live-file", live, "--ignore-file", rules).code == 0
    broken = _bad(tmp_path, "broken.yaml", "ignoreDifferences:\n  - jsonPointers: [/a]\n")
    result = run_cli("drift", "--desired-file", desired, "--live-file", live, "--ignore-file", broken)
    assert result.code == 2 and "ignore rule #1 needs a kind" in result.err


def test_a_copy_without_git_history_renders_its_files(run_cli: RunCli, project_copy: Path) -> None:
    example = str(REPO_ROOT / "examples" / "live" / "three-node-ha.yaml")
    result = run_cli(
        "drift", "overlays/three-node-ha", "--live-file", example, "-o", "json", cwd=project_copy
    )
    assert result.code == 1, result.err
    assert json.loads(result.out)["ref"] == "worktree"
    assert result.err.strip() == (
        "gitops-tool: warning: not inside a Git repository: rendered the files as they are (--worktree)"
    )
    result = run_cli(
        "drift", "overlays/three-node-ha", "--ref", "HEAD", "--live-file", example, cwd=project_copy
    )
    assert result.code == 2
    assert "not a git repository" in result.err
