"""components/drift-cronjob: the audit as a CronJob whose metrics node-exporter serves."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gitops_tool.core.conventions import INFRA_NAMESPACE
from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.objects import Manifest
from gitops_tool.services.rendering import render_overlay
from tests.conftest import REPO_ROOT, RunCli

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


@pytest.fixture(scope="module")
def audit_script(tmp_path_factory: pytest.TempPathFactory) -> str:
    project = tmp_path_factory.mktemp("project")
    for name in ("base", "overlays", "components", "policies", "argocd", "schemas"):
        shutil.copytree(REPO_ROOT / name, project / name)
    objects = _render(project)
    script: str = _pod(_one(objects, "CronJob", "gitops-drift-audit"))["containers"][0]["args"][0]
    return script


def _fake(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("code", "job_code", "writes"),
    [
        (0, 0, True),
        (1, 0, True),
        (2, 2, True),
        (3, 3, True),
        (3, 3, False),
        (130, 130, False),
        (137, 137, False),
    ],
)
def test_the_job_fails_on_anything_but_0_and_1_with_the_failure_metrics(
    code: int, job_code: int, writes: bool, audit_script: str, tmp_path: Path
) -> None:
    """The container's script run by sh, with stand-ins for git and gitops-tool that exit ``code``
    (and write their metrics file or die before it)."""
    script = audit_script
    work, textfile, tmp, bin_dir = (tmp_path / n for n in ("work", "textfile", "tmp", "bin"))
    for folder in (work, textfile, tmp, bin_dir):
        folder.mkdir()
    # /tmp first: the replacements are themselves under /tmp.
    script = script.replace("/tmp", str(tmp)).replace("/work", str(work)).replace("/textfile", str(textfile))
    _fake(bin_dir, "git", 'mkdir -p "$8"')
    ready = tmp_path / "ready.prom"
    ready.write_text('gitops_drift_audit_success{overlay="o"} 1\n')
    tool = f'[ {int(writes)} = 1 ] && cp "{ready}" "$7"; exit {code}'
    _fake(bin_dir, "gitops-tool", tool)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "REPO_URL": "u", "REPO_REVISION": "main", "OVERLAY": "o"}
    result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == job_code, result.stderr
    text = (textfile / "gitops_drift.prom").read_text()
    if writes:
        assert text.strip() == 'gitops_drift_audit_success{overlay="o"} 1'
    else:
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["gitops_drift_audit_success"].samples[0].value == 0
        assert families["gitops_drift_audit_errors"].samples[0].value == 1


def test_overlay_with_the_component_validates(project_copy: Path, run_cli: RunCli) -> None:
    overlay = _enable(project_copy)
    result = run_cli("validate", str(overlay), cwd=project_copy)
    assert result.code == 0, result.out + result.err


def test_shipped_overlays_do_not_enable_it() -> None:
    # Optional: it needs the gitops-tool image and egress to the Git server.
    root = Path(__file__).resolve().parent.parent
    for path in (root / "overlays").glob("*/kustomization.yaml"):
        assert COMPONENT not in (yaml.safe_load(path.read_text(encoding="utf-8")).get("components") or [])
