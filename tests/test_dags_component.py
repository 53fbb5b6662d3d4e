"""The git-sync component, rendered with the real kustomize: one writer, every reader read-only,
everyone on the same published path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core import conventions
from gitops_tool.core.objects import Manifest
from gitops_tool.services.rendering import render_overlay

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}
GIT_SYNC_IMAGE = re.compile(r"^registry\.k8s\.io/git-sync/git-sync:v4\.\d+\.\d+$")


def _render(overlay: Path) -> list[Manifest]:
    return render_overlay(str(overlay)).objects()


def _pod_spec(obj: Manifest) -> dict[str, Any]:
    if obj["kind"] == "Pod":
        return dict(obj["spec"])
    if obj["kind"] == "CronJob":
        return dict(obj["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return dict(obj["spec"]["template"]["spec"])


def _pod_specs(objects: list[Manifest]) -> list[tuple[str, dict[str, Any]]]:
    """Every pod spec: workloads, plus the worker pod templates held as strings in ConfigMaps."""
    specs = [
        (f"{o['kind']}/{o['metadata']['name']}", _pod_spec(o)) for o in objects if o["kind"] in WORKLOADS
    ]
    for obj in objects:
        if obj["kind"] == "ConfigMap" and "pod_template_file.yaml" in (obj.get("data") or {}):
            template = yaml.safe_load(obj["data"]["pod_template_file.yaml"])
            specs.append((f"worker template in {obj['metadata']['name']}", template["spec"]))
    return specs


def _dags_mounts(spec: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(container, mountPath, readOnly) of every mount of the airflow-dags claim."""
    claims = {
        v["name"]
        for v in spec.get("volumes") or []
        if (v.get("persistentVolumeClaim") or {}).get("claimName") == "airflow-dags"
    }
    return [
        (c["name"], m["mountPath"], bool(m.get("readOnly")))
        for c in [*(spec.get("initContainers") or []), *spec["containers"]]
        for m in c.get("volumeMounts") or []
        if m["name"] in claims
    ]


def _config(objects: list[Manifest], prefix: str) -> dict[str, str]:
    found = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and re.fullmatch(rf"{prefix}(-[a-z0-9]{{10}})?", o["metadata"]["name"])
    ]
    assert len(found) == 1, prefix
    return dict(found[0]["data"])


def test_three_node_ha_has_one_git_sync_writer_and_read_only_readers_of_the_same_path(
    repo_root: Path,
) -> None:
    objects = _render(repo_root / "overlays" / "three-node-ha")
    specs = _pod_specs(objects)
    git_sync = [(where, c) for where, spec in specs for c in spec["containers"] if "git-sync" in c["image"]]
    assert [where for where, _ in git_sync] == [f"Deployment/{conventions.GIT_SYNC_DEPLOYMENT}"]
    container = git_sync[0][1]
    assert GIT_SYNC_IMAGE.match(container["image"])
    deployment = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "airflow-git-sync"
    )
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # never two writers during a rollout
    pod = _pod_spec(deployment)
    assert pod["nodeSelector"] == {conventions.NODE_ROLE_LABEL: conventions.MANAGEMENT_ROLE}

    # The writer: the volume read-write at /dags, publishing the link /dags/current.
    assert _dags_mounts(pod) == [("git-sync", "/dags", False)]
    args = container["args"]
    assert "--link=/dags/current" in args and "--root=/dags/.git-sync" in args
    for flag in ("--repo=", "--ref=", "--period=", "--max-failures=", "--http-bind="):
        assert any(a.startswith(flag) for a in args), flag
    assert "--group-write" in args
    link_on_volume = "current"
    assert link_on_volume == conventions.DAGS_LINK

    # Every other pod that mounts the volume reads it, at the path Airflow is told to use.
    readers = [
        (where, _dags_mounts(spec)) for where, spec in specs if _dags_mounts(spec) and "git-sync" not in where
    ]
    assert readers, "no pod reads the DAG volume"
    for where, mounts in readers:
        if where.startswith("Pod/test-nfs-pod"):
            continue
        assert all(read_only for _, _, read_only in mounts), where
        assert {path for _, path, _ in mounts} == {conventions.AIRFLOW_DAGS_MOUNT}, where
    kinds = {where.split("/")[0].split(" ")[0] for where, _ in readers}
    assert {"Deployment", "worker"} <= kinds
    scheduler_readers = [w for w, _ in readers if w.startswith("Deployment/airflow-scheduler-")]
    assert len(scheduler_readers) == 2
    # The read-only patches merge by container name: a renamed container would get a stray,
    # image-less twin instead of the patch.
    assert all(c.get("image") for _, spec in specs for c in spec["containers"])
    published = f"{conventions.AIRFLOW_DAGS_MOUNT}/{link_on_volume}"
    for name in ("airflow-config", "airflow-worker-config"):
        config = _config(objects, name)
        assert config["AIRFLOW__CORE__DAGS_FOLDER"] == published
        assert int(config["AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL"]) <= 120


def test_git_sync_is_hardened_probed_bounded_and_reads_credentials_from_an_out_of_band_secret(
    repo_root: Path,
) -> None:
    objects = _render(repo_root / "overlays" / "three-node-ha")
    deployment = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "airflow-git-sync"
    )
    pod = _pod_spec(deployment)
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsGroup"] == 0  # the Airflow image's group: Airflow can read
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == "http", probe
    assert {"requests", "limits"} <= set(container["resources"])
    secret_volumes = [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v]
    assert secret_volumes == [conventions.GIT_SYNC_CREDENTIALS_SECRET]
    assert not [o for o in objects if o["kind"] == "Secret"]  # never rendered from Git
    env = {e["name"]: e for e in container["env"]}
    assert env["GITSYNC_PASSWORD_FILE"]["value"].startswith("/etc/git-secret/")
    assert env["GITSYNC_REPO"]["valueFrom"]["configMapKeyRef"]["name"].startswith("airflow-git-sync-")


def _enable(overlay: Path, components: list[str]) -> None:
    path = overlay / "kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data["components"] = [*(data.get("components") or []), *components]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_legacy_renders_without_git_sync_and_with_it_once_enabled(project_copy: Path) -> None:
    legacy = project_copy / "overlays" / "single-node-legacy"
    assert not [o for o in _render(legacy) if o["metadata"]["name"] == "airflow-git-sync"]
    _enable(legacy, ["../../components/git-sync", "../../components/git-sync-ssh"])
    objects = _render(legacy)
    git_sync = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "airflow-git-sync"
    ]
    assert len(git_sync) == 1
    pod = _pod_spec(git_sync[0])
    # The legacy overlay's co-location applies to it too: it follows the NFS server's node.
    assert pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0][
        "labelSelector"
    ] == {"matchLabels": {"app": "nfs-server"}}
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert "GITSYNC_PASSWORD_FILE" not in env  # SSH instead of a token
    assert env["GITSYNC_SSH_KEY_FILE"] == "/etc/git-secret/ssh"
    assert env["GITSYNC_SSH_KNOWN_HOSTS_FILE"] == "/etc/git-secret/known_hosts"
    scheduler = next(
        o
        for o in objects
        if o["kind"] == "Deployment" and o["metadata"]["name"].startswith("airflow-scheduler")
    )
    assert all(read_only for _, _, read_only in _dags_mounts(_pod_spec(scheduler)))


@pytest.mark.parametrize("overlay", ["three-node-ha", "single-node-legacy"])
def test_every_overlay_points_airflow_at_the_published_link(repo_root: Path, overlay: str) -> None:
    objects = _render(repo_root / "overlays" / overlay)
    assert _config(objects, "airflow-config")["AIRFLOW__CORE__DAGS_FOLDER"] == conventions.AIRFLOW_DAGS_FOLDER
