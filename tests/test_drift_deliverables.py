"""What ships with drift: the README demo snapshot, the auditor's ClusterRole, the metrics file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from gitops_tool.adapters.kube.live import CLUSTER_EXTRA_CANDIDATES, EXTRA_CANDIDATES
from gitops_tool.adapters.project import list_overlays
from gitops_tool.core.objects import group_of
from gitops_tool.services.rendering import render_overlay
from tests.conftest import REPO_ROOT, RunCli

EXAMPLE = "examples/live/three-node-ha.yaml"
REGENERATE = "regenerate it: .venv/bin/python scripts/update_golden.py"


def test_demo_snapshot_shows_exactly_the_scaled_scheduler(run_cli: RunCli) -> None:
    result = run_cli(
        "drift", "overlays/three-node-ha", "--worktree", "--live-file", EXAMPLE, "-o", "json", cwd=REPO_ROOT
    )
    assert result.code == 1, f"{result.err}; {REGENERATE}"
    report = json.loads(result.out)
    assert report["summary"]["modified"] == 1 and report["summary"]["missing"] == 0, REGENERATE
    assert report["summary"]["extra"] == 0 and report["summary"]["unknown"] == 0, REGENERATE
    assert report["resources"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "namespace": "airflow",
            "name": "airflow-scheduler-2",
            "status": "modified",
            "differences": [
                {
                    "path": "/spec/replicas",
                    "desired": 1,
                    "live": 2,
                    "reason": "changed",
                    "live_owner": {
                        "manager": "kubectl-scale",
                        "operation": "Update",
                        "time": "2026-11-26T09:30:00Z",
                    },
                }
            ],
        }
    ], REGENERATE
    snapshot = yaml.safe_load((REPO_ROOT / EXAMPLE).read_text(encoding="utf-8"))
    workers = [
        o
        for o in snapshot["items"]
        if o["kind"] == "Pod" and "kubernetes_executor" in o["metadata"]["labels"]
    ]
    assert len(workers) == 20
    assert all("managedFields" in o["metadata"] and "uid" in o["metadata"] for o in snapshot["items"])


def _rules() -> list[dict[str, Any]]:
    role = yaml.safe_load((REPO_ROOT / "components" / "drift-auditor" / "clusterrole.yaml").read_text())
    assert role["kind"] == "ClusterRole" and role["metadata"]["name"] == "gitops-drift-auditor"
    return list(role["rules"])


def test_auditor_role_is_read_only() -> None:
    for rule in _rules():
        assert sorted(rule["verbs"]) == ["get", "list"]
        assert "*" not in rule["resources"] and "*" not in rule["apiGroups"]


def test_auditor_role_reads_everything_drift_reads() -> None:
    granted = {
        (group, resource)
        for rule in _rules()
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    granted_kinds = {
        (group, resource.rstrip("s").replace("ie", "y") if resource.endswith("ies") else resource)
        for group, resource in granted
    }
    needed = {(group_of(gv), kind) for gv, kind in (*EXTRA_CANDIDATES, *CLUSTER_EXTRA_CANDIDATES)}
    needed.add(("", "Node"))
    for overlay in list_overlays(REPO_ROOT):
        for obj in render_overlay(str(overlay), root=REPO_ROOT).objects():
            needed.add((group_of(obj["apiVersion"]), obj["kind"]))
    plural = {(group, resource) for group, resource in granted}
    missing = sorted(
        (group, kind)
        for group, kind in needed
        if (group, _plural(kind)) not in plural and (group, kind) not in granted_kinds
    )
    assert missing == []


def _plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "ss")):
        return lower + "es"
    return lower + "s"


def test_metrics_file_is_written_for_findings_and_failures(run_cli: RunCli, tmp_path: Path) -> None:
    metrics = tmp_path / "drift.prom"
    result = run_cli(
        "drift",
        "overlays/three-node-ha",
        "--worktree",
        "--live-file",
        EXAMPLE,
        "--metrics-file",
        str(metrics),
        cwd=REPO_ROOT,
    )
    assert result.code == 1
    text = metrics.read_text()
    assert 'gitops_drift_drifted_resources{overlay="overlays/three-node-ha"} 1' in text
    assert 'gitops_drift_audit_success{overlay="overlays/three-node-ha"} 1' in text
    result = run_cli(
        "drift",
        "overlays/three-node-ha",
        "--worktree",
        "--live-file",
        str(tmp_path / "none.yaml"),
        "--metrics-file",
        str(metrics),
        cwd=REPO_ROOT,
    )
    assert result.code == 2
    assert 'gitops_drift_audit_success{overlay="overlays/three-node-ha"} 0' in metrics.read_text()
