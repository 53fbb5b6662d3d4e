"""Pod Security Admission: namespace airflow enforces `restricted`, and what needs more runs in
namespace airflow-infra only. Proven through the real `gitops-tool validate` (its
pod-security-restricted policy mirrors the admission check) on every shipped overlay, with the
optional components enabled too, and against docs/security.md's statement of the labels."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.adapters.policy import PolicyEngine
from gitops_tool.core import backup_jobs, password_jobs
from gitops_tool.core.conventions import INFRA_NAMESPACE, NAMESPACE, NAMESPACES
from gitops_tool.core.dags.agent import AgentSpec, agent_pod
from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.images import pod_spec
from gitops_tool.core.objects import Manifest, describe
from gitops_tool.core.policy import OverlayLayout, policy_input
from tests.conftest import REPO_ROOT, RunCli
from tests.manifests_support import HA, LEGACY, OVERLAYS, find, rendered, rendered_with_backup

PSA = "pod-security.kubernetes.io/"
# Everything that needs more than `restricted`: privileged, host namespaces, hostPath, an nfs volume.
BEYOND_RESTRICTED = {
    "Deployment/airflow-infra/nfs-server",
    "Deployment/airflow-infra/nfs-client-provisioner",
    "DaemonSet/airflow-infra/node-exporter",
}
# The optional components, all at once (git-sync is in the HA overlay already; drift-cronjob writes a
# hostPath and therefore runs in airflow-infra too).
OPTIONAL_COMPONENTS = ("backup", "drift-auditor", "drift-cronjob", "git-sync-ssh")


def _validate(run_cli: RunCli, project: Path, overlay: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("validate", overlay, "--output", "json", cwd=project)
    assert result.code in (0, 1), result.err
    reports = {o["overlay"]: o for o in json.loads(result.out)["overlays"]}
    return result.code, reports[overlay]


def _restricted_violations(report: dict[str, Any]) -> set[str]:
    return {v["object"] for v in report["violations"] if v["rule"] == "pod-security-restricted"}


def _with_all_components(project: Path) -> str:
    """The HA overlay of ``project`` with every optional component enabled."""
    path = project / HA / "kustomization.yaml"
    kustomization = yaml.safe_load(path.read_text(encoding="utf-8"))
    kustomization.setdefault("components", []).extend(f"../../components/{c}" for c in OPTIONAL_COMPONENTS)
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")
    return HA


def _labels(objects: tuple[Manifest, ...] | list[Manifest], namespace: str) -> dict[str, str]:
    labels = find(objects, "Namespace", namespace)["metadata"]["labels"]
    return {k.removeprefix(PSA): v for k, v in labels.items() if k.startswith(PSA)}


@pytest.mark.parametrize("overlay", [HA, LEGACY, "all-components"])
def test_every_pod_of_namespace_airflow_passes_the_enforced_restricted_profile(
    run_cli: RunCli, project_copy: Path, overlay: str
) -> None:
    if overlay == "all-components":
        overlay = _with_all_components(project_copy)
    code, report = _validate(run_cli, project_copy, overlay)
    assert code == 0, report["violations"]
    rendered_ = parse_manifests(run_cli("render", overlay, cwd=project_copy).out, overlay)
    # The policy checks what the API server would: the namespace really enforces `restricted`.
    assert _labels(rendered_, NAMESPACE)["enforce"] == "restricted"
    # An object rendered without a namespace (components/backup) lands in the Application's
    # destination, airflow, and validate checks it there.
    where = [o["metadata"].get("namespace", NAMESPACE) for o in rendered_ if pod_spec(o) is not None]
    assert set(where) == set(NAMESPACES)
    assert where.count(NAMESPACE) >= 10


@pytest.mark.parametrize("overlay", [HA, LEGACY, "all-components"])
def test_only_the_infrastructure_namespace_holds_pods_beyond_restricted(
    run_cli: RunCli, project_copy: Path, overlay: str
) -> None:
    """Enforcing `restricted` on airflow-infra as well names exactly the host-access workloads there:
    nothing else needs its privileged label, and nothing of Airflow hides in it."""
    overlay_name = overlay
    if overlay == "all-components":
        overlay = _with_all_components(project_copy)
    namespace_file = project_copy / "base/namespace/namespace-infra.yaml"
    text = namespace_file.read_text(encoding="utf-8")
    assert f"{PSA}enforce: privileged" in text
    namespace_file.write_text(text.replace("enforce: privileged", "enforce: restricted"), encoding="utf-8")
    code, report = _validate(run_cli, project_copy, overlay)
    assert code == 1
    expected = set(BEYOND_RESTRICTED)
    if overlay_name == "all-components":
        expected.add("CronJob/airflow-infra/gitops-drift-audit")  # hostPath for the textfile collector
    assert _restricted_violations(report) == expected
    problems = {v["message"].rsplit(": ", 1)[1] for v in report["violations"]}
    assert {"it is privileged", "the pod sets hostNetwork", "the pod mounts a nfs volume"} <= problems


def test_a_host_access_pod_moved_into_namespace_airflow_is_refused(
    run_cli: RunCli, project_copy: Path
) -> None:
    daemonset = project_copy / "base/node-exporter/daemonset.yaml"
    text = daemonset.read_text(encoding="utf-8")
    assert f"  namespace: {INFRA_NAMESPACE}\n" in text
    daemonset.write_text(text.replace(f"  namespace: {INFRA_NAMESPACE}\n", "", 1), encoding="utf-8")
    code, report = _validate(run_cli, project_copy, HA)
    assert code == 1
    assert _restricted_violations(report) == {"DaemonSet/airflow/node-exporter"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_host_access_only_in_the_privileged_namespace(overlay: str) -> None:
    """Read from the render alone: the pods using host access and the namespace labels agree."""
    objects = rendered(overlay)
    host_access = set()
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        containers = [*(spec.get("initContainers") or []), *spec["containers"]]
        if (
            spec.get("hostNetwork")
            or spec.get("hostPID")
            or any("hostPath" in v or "nfs" in v for v in spec.get("volumes") or [])
            or any((c.get("securityContext") or {}).get("privileged") for c in containers)
        ):
            host_access.add(describe(obj))
    assert host_access == BEYOND_RESTRICTED
    assert _labels(objects, INFRA_NAMESPACE)["enforce"] == "privileged"


def _runtime_pods() -> list[Manifest]:
    """The pods the tool creates at run time in namespace airflow, which no render holds: the
    password rotation Jobs, the backup/list/restore Jobs (from the enabled CronJob) and the DAG
    agent pods."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cronjob = find(rendered_with_backup(HA), "CronJob", "airflow-db-backup")
    return [
        password_jobs.database_job("airflow-db-password", "postgres:16.9"),
        password_jobs.airflow_admin_job("airflow-admin-password", "apache/airflow:2.11.0-python3.9"),
        password_jobs.grafana_admin_job("grafana-admin-password", "apache/airflow:2.11.0-python3.9", "admin"),
        backup_jobs.backup_job(cronjob, now),
        backup_jobs.list_job(cronjob, now),
        backup_jobs.restore_job(cronjob, "airflow-20260101T000000Z.dump", now),
        *(agent_pod(AgentSpec(f"dags-{a}", NAMESPACE, a)) for a in ("publish", "rollback", "status")),
    ]


def _restricted_findings(objects: list[Manifest]) -> set[str]:
    engine = PolicyEngine(REPO_ROOT / "policies")
    document = policy_input("runtime", OverlayLayout("ha", "test"), objects, {})
    return {
        f["object"]
        for findings in engine.evaluate(document).findings.values()
        for f in findings
        if f["rule"] == "pod-security-restricted"
    }


def test_pods_the_tool_creates_at_run_time_pass_restricted_too() -> None:
    namespace = find(rendered(HA), "Namespace", NAMESPACE)
    pods = _runtime_pods()
    assert {p["metadata"].get("namespace", NAMESPACE) for p in pods} == {NAMESPACE}
    assert _restricted_findings([namespace, *pods]) == set()
    # The check bites: the same agent pod allowed to run as root is refused.
    root = copy.deepcopy(pods[-1])
    del root["spec"]["securityContext"]["runAsNonRoot"]
    root["metadata"]["name"] = "dags-as-root"
    assert _restricted_findings([namespace, root]) == {f"Pod/{NAMESPACE}/dags-as-root"}


SECURITY_PAGE = Path("docs") / "security.md"


def _pod_security_section(repo_root: Path) -> str:
    """The "Pod Security" section of the security model page, up to the next section."""
    text = (repo_root / SECURITY_PAGE).read_text(encoding="utf-8")
    return text.split("\n## Pod Security\n", 1)[1].split("\n## ", 1)[0]


def _documented_levels(section: str) -> dict[str, dict[str, str]]:
    rows = re.findall(r"^\| `([a-z-]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|", section, re.M)
    assert rows, f"{SECURITY_PAGE} Pod Security: no namespace table"
    levels = {}
    for name, enforce, warn, audit in rows:
        stated = {"enforce": enforce, "warn": warn, "audit": audit}
        levels[name] = {mode: value.strip().strip("`") for mode, value in stated.items() if "`" in value}
    return levels


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_docs_state_each_namespaces_labels(repo_root: Path, overlay: str) -> None:
    stated = _documented_levels(_pod_security_section(repo_root))
    objects = rendered(overlay)
    assert stated == {ns: _labels(objects, ns) for ns in NAMESPACES}


def test_the_docs_map_the_seeds_commands_on_moved_objects(repo_root: Path) -> None:
    """Every seed command naming an object that moved to airflow-infra has a row in the security
    page's mapping table, which gives the command for the new namespace."""
    section = _pod_security_section(repo_root)
    rows = re.findall(r"^\| `(kubectl [^`]+)` \| (.+) \|$", section, re.M)
    mapped = {seed_command: now for seed_command, now in rows}
    moved = ("nfs-server", "nfs-client-provisioner", "node-exporter")
    for command in SEED_COMMANDS_ON_MOVED_OBJECTS:
        assert command in mapped, f"{SECURITY_PAGE} Pod Security: no row for `{command}`"
        assert f"-n {INFRA_NAMESPACE}" in mapped[command]
    for command in mapped:
        assert command.endswith(f"-n {NAMESPACE}") or f" -n {NAMESPACE} " in command
    assert any(any(name in command for name in moved) for command in mapped)


# The seed's commands, verbatim (its verification, troubleshooting and migration sections), whose
# target or output moved: the NFS pods' logs, and the listings and clean-up that covered the NFS
# server, its provisioner and node-exporter.
SEED_COMMANDS_ON_MOVED_OBJECTS = (
    "kubectl get pods -n airflow -o wide",
    "kubectl get svc -n airflow",
    "kubectl get events -n airflow --sort-by='.lastTimestamp'",
    "kubectl describe pod <pod-name> -n airflow",
    "kubectl logs -l app=nfs-server -n airflow",
    "kubectl logs -l app=nfs-client-provisioner -n airflow",
    "kubectl delete deployment --all -n airflow",
)
