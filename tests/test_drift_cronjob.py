"""components/drift-cronjob: the audit as a CronJob whose metrics node-exporter serves."""

from __future__ import annotations

import shlex
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from gitops_tool.core.conventions import INFRA_NAMESPACE
from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.objects import Manifest
from gitops_tool.services.rendering import render_overlay
from tests.conftest import RunCli

COMPONENT = "../../components/drift-cronjob"
AUDITOR = "../../components/drift-auditor"


def _enable(project: Path, overlay: str = "three-node-ha") -> Path:
    path = project / "overlays" / overlay / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text(encoding="utf-8"))
    # The CronJob binds the auditor's read-only ClusterRole, which components/drift-auditor ships.
    kustomization.setdefault("components", []).extend([AUDITOR, COMPONENT])
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")
    return path.parent


def _render(project: Path) -> list[Manifest]:
    overlay = _enable(project)
    return parse_manifests(render_overlay(str(overlay), root=project).text, "three-node-ha + drift-cronjob")


def _one(objects: list[Manifest], kind: str, name: str) -> Manifest:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1
    return found[0]


def _pod(cronjob: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def test_metrics_file_lands_where_node_exporter_reads_textfiles(project_copy: Path) -> None:
    objects = _render(project_copy)
    pod = _pod(_one(objects, "CronJob", "gitops-drift-audit"))
    container = pod["containers"][0]
    script = container["args"][0]
    words = shlex.split(script.replace("\\\n", " "))
    metrics_file = PurePosixPath(words[words.index("--metrics-file") + 1])
    assert metrics_file.suffix == ".prom"  # the textfile collector reads *.prom only
    mount = next(m for m in container["volumeMounts"] if metrics_file.is_relative_to(m["mountPath"]))
    host_path = next(v for v in pod["volumes"] if v["name"] == mount["name"])["hostPath"]["path"]

    exporter = _one(objects, "DaemonSet", "node-exporter")["spec"]["template"]["spec"]
    args = exporter["containers"][0]["args"]
    textfile_dir = next(a for a in args if a.startswith("--collector.textfile.directory=")).split("=", 1)[1]
    rootfs = next(a for a in args if a.startswith("--path.rootfs=")).split("=", 1)[1]
    # node-exporter sees the host's root at --path.rootfs: the directory it reads is the host folder.
    assert PurePosixPath(textfile_dir) == PurePosixPath(rootfs) / PurePosixPath(host_path).relative_to("/")
    root_mount = next(m for m in exporter["containers"][0]["volumeMounts"] if m["mountPath"] == rootfs)
    assert next(v for v in exporter["volumes"] if v["name"] == root_mount["name"])["hostPath"]["path"] == "/"
    # Always the same node, so no stale file from an older run is served by another node-exporter.
    assert pod["nodeSelector"] == {"node-role.kubernetes.io/airflow": "management"}


def test_the_audit_runs_read_only_and_unprivileged(project_copy: Path) -> None:
    objects = _render(project_copy)
    cronjob = _one(objects, "CronJob", "gitops-drift-audit")
    pod = _pod(cronjob)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    binding = _one(objects, "ClusterRoleBinding", "gitops-drift-auditor-cronjob")
    assert binding["roleRef"]["kind"] == "ClusterRole"
    role = _one(objects, "ClusterRole", binding["roleRef"]["name"])
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    # It can read what it audits: the workloads and Nodes (role labels).
    readable = {
        (group, r) for rule in role["rules"] for group in rule["apiGroups"] for r in rule["resources"]
    }
    assert {("apps", "deployments"), ("", "nodes"), ("", "configmaps")} <= readable
    # It runs in the infrastructure namespace: its hostPath is refused where `restricted` is enforced.
    assert cronjob["metadata"]["namespace"] == INFRA_NAMESPACE
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": pod["serviceAccountName"], "namespace": INFRA_NAMESPACE}
    ]
    # Drift (exit 1) is a finding, not a failed Job; errors (exit 2) fail it.
    assert '[ "$code" -le 1 ]' in pod["containers"][0]["args"][0]


def test_overlay_with_the_component_validates(project_copy: Path, run_cli: RunCli) -> None:
    overlay = _enable(project_copy)
    result = run_cli("validate", str(overlay), cwd=project_copy)
    assert result.code == 0, result.out + result.err


def test_shipped_overlays_do_not_enable_it() -> None:
    # Optional: it needs the gitops-tool image and egress to the Git server.
    root = Path(__file__).resolve().parent.parent
    for path in (root / "overlays").glob("*/kustomization.yaml"):
        assert COMPONENT not in (yaml.safe_load(path.read_text(encoding="utf-8")).get("components") or [])
