"""``drift --blame``: each difference's desired value traced through the kustomization to a file, a
line and the commit that last changed it, in a real Git repository with two authors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.adapters.kustomize import KustomizeRenderer, resolve_kustomize
from gitops_tool.core import conventions as c
from gitops_tool.core.documents import parse_manifests
from tests import livestate as ls
from tests.conftest import REPO_ROOT, RunCli, git

pytestmark = pytest.mark.slow  # renders the overlay and runs the CLI in a copy of the repository

OVERLAY = "overlays/three-node-ha"
ROLES = yaml.safe_load((REPO_ROOT / OVERLAY / c.NODE_ROLES_FILE).read_text())["roles"]
DEPLOYMENT = "base/scheduler/deployment.yaml"
LB = f"{OVERLAY}/lb-source-ranges.yaml"
SCHEDULER_1 = f"{OVERLAY}/schedulers/scheduler-1/kustomization.yaml"


def _commit_as(repo: Path, name: str, message: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": f"{name.lower()}@example.com"}
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, env=env, check=True)
    return git(repo, "rev-parse", "HEAD").strip()


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def history(project_copy: Path) -> tuple[Path, str, str]:
    """The repository with a first commit by Test and a second by Alice (limits and LB ranges)."""
    repo = project_copy
    git(repo, "init", "-q", "-b", "main")
    first = _commit_as(repo, "Test", "initial")
    deployment = repo / DEPLOYMENT
    deployment.write_text(deployment.read_text().replace("memory: 1280Mi", "memory: 1536Mi", 1))
    lb = repo / LB
    lb.write_text(lb.read_text().replace("    - 10.0.0.0/8\n", "    - 10.0.0.0/8\n    - 192.168.0.0/16\n"))
    second = _commit_as(repo, "Alice", "more scheduler memory; office range")
    return repo, first, second


def test_blame_names_file_line_and_commit_through_resources_patches_replacements_and_generators(
    run_cli: RunCli, history: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, first, second = history
    desired = parse_manifests(KustomizeRenderer(resolve_kustomize()).build(repo / OVERLAY), "render")
    live = ls.cluster_state(desired, workers=0, roles=ROLES)
    scheduler = ls.find(live, "Deployment", "airflow-scheduler-1")
    ls.kubectl_set_resources(scheduler, "airflow-scheduler", limits={"memory": "2Gi"})
    affinity = scheduler["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0][
        "values"
    ] = ["management"]
    webserver = ls.find(live, "Service", "airflow-webserver")
    webserver["spec"]["loadBalancerSourceRanges"] = ["0.0.0.0/0"]
    config = next(
        o for o in live if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("airflow-git-sync-")
    )
    key = sorted(config["data"])[0]
    ls.kubectl_edit_data(config, key, "edited")
    snapshot = tmp_path / "live.yaml"
    snapshot.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": live}))

    result = run_cli("drift", OVERLAY, "--live-file", str(snapshot), "--blame", "-o", "json", cwd=repo)
    assert result.code == 1, result.err
    sources: dict[tuple[str, str], Any] = {
        (r["name"], d["path"]): d["git_source"]
        for r in json.loads(result.out)["resources"]
        for d in r["differences"]
    }
    container = "/spec/template/spec/containers/0"
    assert sources[("airflow-scheduler-1", f"{container}/resources/limits/memory")] == {
        "file": DEPLOYMENT,
        "line": _line_of(repo / DEPLOYMENT, "memory: 1536Mi"),
        "commit": second,
        "author": "Alice",
        "date": sources[("airflow-scheduler-1", f"{container}/resources/limits/memory")]["date"],
    }
    affinity_path = (
        "/spec/template/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution"
        "/nodeSelectorTerms/0/matchExpressions/0/values"
    )
    replacement = sources[("airflow-scheduler-1", affinity_path)]
    assert (replacement["file"], replacement["commit"], replacement["author"]) == (SCHEDULER_1, first, "Test")
    assert replacement["line"] == _line_of(
        repo / SCHEDULER_1, "nodeSelectorTerms.0.matchExpressions.0.values.0"
    )
    patch = sources[("airflow-webserver", "/spec/loadBalancerSourceRanges")]
    assert (patch["file"], patch["commit"], patch["author"]) == (LB, second, "Alice")
    assert patch["line"] == _line_of(repo / LB, "- 10.0.0.0/8")  # the list, whose last line Alice added
    assert sources[(config["metadata"]["name"], f"/data/{key}")] == {
        "file": "generated",
        "line": None,
        "commit": None,
        "author": None,
        "date": None,
    }

    text = run_cli("drift", OVERLAY, "--live-file", str(snapshot), "--blame", cwd=repo)
    line = _line_of(repo / DEPLOYMENT, "memory: 1536Mi")
    assert f"    desired value: from {DEPLOYMENT}:{line} @ {second[:12]} (Alice, " in text.out
    assert "    desired value: generated" in text.out


def test_blame_needs_a_commit(run_cli: RunCli, history: tuple[Path, str, str]) -> None:
    repo, _, _ = history
    example = str(REPO_ROOT / "examples" / "live" / "three-node-ha.yaml")
    for extra in (["--worktree"], ["--desired-file", example]):
        result = run_cli("drift", OVERLAY, "--live-file", example, "--blame", *extra, cwd=repo)
        assert result.code == 2
        assert len(result.err.strip().splitlines()) == 1 and "--blame" in result.err
