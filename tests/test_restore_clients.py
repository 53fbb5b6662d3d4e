"""Which Deployments of the rendered overlays a restore stops: every one running Airflow (they all
use the metadata DB) and none of the others, so a component added later is not left running."""

from __future__ import annotations

import pytest

from gitops_tool.core.backup_jobs import is_database_client, pod_selector
from gitops_tool.core.objects import Manifest
from tests.manifests_support import OVERLAYS, rendered, selector_matches

pytestmark = pytest.mark.slow


def _runs_airflow(deployment: Manifest) -> bool:
    spec = deployment["spec"]["template"]["spec"]
    containers = [*(spec.get("initContainers") or []), *spec["containers"]]
    return any(str(c.get("image", "")).startswith("apache/airflow:") for c in containers)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_restore_stops_exactly_the_deployments_that_run_airflow(overlay: str) -> None:
    deployments = [
        o
        for o in rendered(overlay)
        if o["kind"] == "Deployment" and o["metadata"].get("namespace") == "airflow"
    ]
    stopped = {d["metadata"]["name"] for d in deployments if is_database_client(d)}
    assert stopped == {d["metadata"]["name"] for d in deployments if _runs_airflow(d)}
    assert {"airflow-webserver", "airflow-scheduler-1"} <= stopped
    # The selector the restore waits on finds the Deployment's own pods.
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        wanted = dict(item.split("=", 1) for item in pod_selector(deployment).split(","))
        assert selector_matches({"matchLabels": wanted}, labels)
