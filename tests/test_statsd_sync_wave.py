"""statsd-exporter and its Service are applied, and healthy, before any Airflow process starts.

An Airflow 2.11 process that starts while its statsd host does not resolve logs "Could not configure
StatsClient" and sends nothing for its whole life. Argo CD applies the PreSync hooks, then the Sync
phase wave by wave (a Sync hook runs in its wave), then PostSync, and waits for each wave to be
healthy: so the exporter's (phase, wave) must come before that of every object that runs Airflow.
The order is read from the render: sync-wave annotations and hook phases.
"""

from __future__ import annotations

import pytest

from gitops_tool.core.images import pod_spec
from gitops_tool.core.objects import Manifest, describe
from tests.manifests_support import OVERLAYS, find, rendered, rendered_with_backup

WAVE = "argocd.argoproj.io/sync-wave"
HOOK = "argocd.argoproj.io/hook"
PHASES = {"PreSync": 0, "Sync": 1, "PostSync": 2, "SyncFail": 3}
STATSD_HOST = "AIRFLOW__METRICS__STATSD_HOST"


def sync_position(obj: Manifest) -> tuple[int, int]:
    """(phase, wave): the order Argo CD applies ``obj`` in; non-hook objects belong to Sync."""
    annotations = obj["metadata"].get("annotations") or {}
    hooks = [h.strip() for h in str(annotations.get(HOOK, "Sync")).split(",")]
    phase = min(PHASES.get(hook, PHASES["Sync"]) for hook in hooks)
    return phase, int(annotations.get(WAVE, "0"))


def _config_map_values(objects: tuple[Manifest, ...], name: str) -> dict[str, str]:
    for obj in objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == name:
            return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
    return {}


def sends_statsd(obj: Manifest, objects: tuple[Manifest, ...]) -> bool:
    """A pod (or a worker pod template's parent) whose Airflow containers have a statsd host set."""
    spec = pod_spec(obj)
    if obj["kind"] == "ConfigMap" and "pod_template_file.yaml" in (obj.get("data") or {}):
        return STATSD_HOST in str(obj["data"]["pod_template_file.yaml"]) or "airflow-worker-config" in str(
            obj["data"]["pod_template_file.yaml"]
        )
    if spec is None:
        return False
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        names = {e["name"] for e in container.get("env") or []}
        for source in container.get("envFrom") or []:
            ref = source.get("configMapRef") or {}
            names |= set(_config_map_values(objects, str(ref.get("name", ""))))
        if STATSD_HOST in names:
            return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize("backup", [False, True], ids=["plain", "backup"])
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_statsd_exporter_comes_before_everything_that_sends_statsd(overlay: str, backup: bool) -> None:
    objects = rendered_with_backup(overlay) if backup else rendered(overlay)
    exporter = [
        find(objects, "Service", "airflow-statsd"),
        find(objects, "Deployment", "statsd-exporter"),
        *(
            o
            for o in objects
            if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("statsd-exporter-mapping")
        ),
    ]
    ready = max(sync_position(o) for o in exporter)
    senders = [o for o in objects if sends_statsd(o, objects)]
    kinds = {o["kind"] for o in senders}
    # The check must see the webserver, the schedulers, the hooks and the worker templates.
    assert {"Deployment", "Job", "ConfigMap"} <= kinds, kinds
    assert [describe(o) for o in senders if sync_position(o) <= ready] == []


def test_hook_phases_order_before_waves() -> None:
    presync = {"kind": "Job", "metadata": {"name": "a", "annotations": {HOOK: "PreSync", WAVE: "9"}}}
    sync = {"kind": "Job", "metadata": {"name": "b", "annotations": {WAVE: "-5"}}}
    assert sync_position(presync) < sync_position(sync)
