"""Drift attribution: each difference names the field manager that owns the live value and when it
wrote (managedFields), through the CLI on the bundled snapshot, on hand-made hotfixes and against the
emulated API server; ``--since`` keeps only recent writes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.adapters.kustomize import KustomizeRenderer, resolve_kustomize
from gitops_tool.core import conventions as c
from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.drift.attribution import Attributor, parse_duration
from tests import livestate as ls
from tests.conftest import REPO_ROOT, RunCli
from tests.kubeapi import KubeApiServer

pytestmark = pytest.mark.slow  # each case renders the overlay and runs the CLI

OVERLAY = "overlays/three-node-ha"
SNAPSHOT = REPO_ROOT / "examples" / "live" / "three-node-ha.yaml"
ROLES = yaml.safe_load((REPO_ROOT / OVERLAY / c.NODE_ROLES_FILE).read_text())["roles"]
CONTAINER = "airflow-scheduler"


def _scale_entry() -> dict[str, Any]:
    """The bundled snapshot's own record of `kubectl scale` on airflow-scheduler-2."""
    items = yaml.safe_load(SNAPSHOT.read_text())["items"]
    scheduler = ls.find(items, "Deployment", "airflow-scheduler-2")
    return next(
        e for e in scheduler["metadata"]["managedFields"] if "f:replicas" in e["fieldsV1"].get("f:spec", {})
    )


def _drift(run_cli: RunCli, live_file: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("drift", OVERLAY, "--worktree", "--live-file", str(live_file), *args, cwd=REPO_ROOT)
    return result.code, result.out, result.err


def test_bundled_snapshot_names_the_scale_owner_in_text_markdown_and_json(run_cli: RunCli) -> None:
    entry = _scale_entry()
    when = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    suffix = f"changed by {entry['manager']}, {when:%Y-%m-%d %H:%M} UTC"
    assert entry["manager"] == "kubectl-scale"

    code, text, _ = _drift(run_cli, SNAPSHOT)
    assert code == 1
    assert f"/spec/replicas  [changed]  {suffix}" in text

    code, markdown, _ = _drift(run_cli, SNAPSHOT, "--output", "markdown")
    assert code == 1
    assert f"| `/spec/replicas` | `1` | `2` | changed | {suffix} |" in markdown

    code, out, _ = _drift(run_cli, SNAPSHOT, "--output", "json")
    assert code == 1
    (scheduler,) = json.loads(out)["resources"]
    assert scheduler["differences"] == [
        {
            "path": "/spec/replicas",
            "desired": 1,
            "live": 2,
            "reason": "changed",
            "live_owner": {"manager": "kubectl-scale", "operation": "Update", "time": entry["time"]},
        }
    ]


def test_since_filters_out_the_older_scale(run_cli: RunCli) -> None:
    code, out, err = _drift(run_cli, SNAPSHOT, "--since", "1s", "--output", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["resources"] == []
    assert report["summary"]["modified"] == 0
    assert "1 drifted resource(s) not shown" in err and "--since 1s" in err
    # A window reaching back to the write keeps it.
    age = datetime.now(UTC) - datetime.fromisoformat(_scale_entry()["time"].replace("Z", "+00:00"))
    code, out, _ = _drift(run_cli, SNAPSHOT, "--since", f"{age.days + 1}d", "--output", "json")
    assert code == 1
    assert [r["name"] for r in json.loads(out)["resources"]] == ["airflow-scheduler-2"]


@pytest.mark.parametrize("bad", ["", "1", "1x", "5 minutes", "-1h", "0s", "1h-"])
def test_since_refuses_what_is_not_a_duration(run_cli: RunCli, bad: str) -> None:
    code, out, err = _drift(run_cli, SNAPSHOT, "--since", bad)
    assert code == 2
    assert out == ""
    assert "--since" in err and "Traceback" not in err


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2w") == timedelta(days=14)
    assert parse_duration("7D") == timedelta(days=7)


@pytest.fixture(scope="module")
def desired() -> list[dict[str, Any]]:
    return parse_manifests(KustomizeRenderer(resolve_kustomize()).build(REPO_ROOT / OVERLAY), "render")


def _write(tmp_path: Path, live: list[dict[str, Any]]) -> Path:
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": live}))
    return path


def test_each_hotfix_field_names_its_own_manager_and_time(
    run_cli: RunCli, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = ls.cluster_state(desired, workers=2, roles=ROLES)
    scheduler = ls.find(live, "Deployment", "airflow-scheduler-1")
    ls.kubectl_set_env(
        scheduler, CONTAINER, "AIRFLOW__SCHEDULER__PARSING_PROCESSES", "4", time="2026-11-30T02:10:00Z"
    )
    ls.kubectl_set_resources(scheduler, CONTAINER, limits={"memory": "2Gi"}, time="2026-11-30T02:14:00Z")
    config = next(
        o for o in live if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("airflow-git-sync")
    )
    key = sorted(config["data"])[0]
    ls.kubectl_edit_data(config, key, "edited at night")
    code, out, _ = _drift(run_cli, _write(tmp_path, live), "--output", "json")
    assert code == 1
    owners = {
        (r["name"], d["path"]): d["live_owner"]
        for r in json.loads(out)["resources"]
        for d in r["differences"]
    }
    prefix = "/spec/template/spec/containers/0"
    env_paths = [p for (n, p) in owners if n == "airflow-scheduler-1" and "/env/" in p]
    assert len(env_paths) == 1
    assert owners[("airflow-scheduler-1", env_paths[0])] == {
        "manager": "kubectl-set",
        "operation": "Update",
        "time": "2026-11-30T02:14:00Z",  # one kubectl-set entry, moved to its last write
    }
    assert owners[("airflow-scheduler-1", f"{prefix}/resources/limits/memory")]["manager"] == "kubectl-set"
    assert owners[(config["metadata"]["name"], f"/data/{key}")] == {
        "manager": "kubectl-edit",
        "operation": "Update",
        "time": ls.LATER,
    }


def test_a_field_no_entry_covers_says_no_owner_recorded(
    run_cli: RunCli, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = ls.cluster_state(desired, workers=0, roles=ROLES)
    scheduler = ls.find(live, "Deployment", "airflow-scheduler-1")
    scheduler["spec"]["template"]["spec"]["containers"][0]["image"] = "apache/airflow:2.11.1-python3.9"
    for entry in scheduler["metadata"]["managedFields"]:  # nobody recorded the image any more
        containers = entry["fieldsV1"].get("f:spec", {}).get("f:template", {}).get("f:spec", {})
        for item in containers.get("f:containers", {}).values():
            item.pop("f:image", None)
    path = _write(tmp_path, live)
    code, text, _ = _drift(run_cli, path)
    assert code == 1
    assert "/spec/template/spec/containers/0/image  [changed]  no owner recorded" in text
    code, markdown, _ = _drift(run_cli, path, "--output", "markdown")
    assert "| changed | no owner recorded |" in markdown
    _, out, _ = _drift(run_cli, path, "--output", "json")
    (result,) = json.loads(out)["resources"]
    assert result["differences"][0]["live_owner"] is None
    # No owner, no time: --since cannot place it in any window.
    code, out, _ = _drift(run_cli, path, "--output", "json", "--since", "3650d")
    assert code == 0 and json.loads(out)["resources"] == []


def test_the_last_writer_of_a_field_shared_by_two_managers_is_its_owner() -> None:
    live = {
        "metadata": {
            "managedFields": [
                {
                    "manager": "argocd-controller",
                    "operation": "Apply",
                    "time": "2026-11-20T10:00:00Z",
                    "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:command": {}}}}},
                },
                {
                    "manager": "kubectl-patch",
                    "operation": "Update",
                    "time": "2026-11-29T08:00:00Z",
                    "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:command": {}}}}},
                },
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "subresource": "status",
                    "time": "2026-12-01T00:00:00Z",
                    "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:command": {}}}}},
                },
            ]
        },
        "spec": {"template": {"spec": {"command": ["a", "b"]}}},
    }
    owner = Attributor(live).owner(("spec", "template", "spec", "command"))
    assert owner is not None and (owner.manager, owner.time) == ("kubectl-patch", "2026-11-29T08:00:00Z")
    # An item of an atomic list is owned through the list.
    owner = Attributor(live).owner(("spec", "template", "spec", "command", 1))
    assert owner is not None and owner.manager == "kubectl-patch"
    assert Attributor(live).owner(("spec", "template", "spec", "args")) is None


def test_extra_object_names_its_creator(
    run_cli: RunCli, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = ls.cluster_state(desired, workers=0, roles=ROLES)
    stray = copy.deepcopy(next(o for o in live if o["kind"] == "ConfigMap" and o.get("data")))
    stray["metadata"]["name"] = "hotfix-config"
    stray["metadata"]["managedFields"] = [
        {
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:x": {}}},
            "manager": "kubectl-create",
            "operation": "Update",
            "time": "2026-11-30T03:00:00Z",
        }
    ]
    live.append(stray)
    path = _write(tmp_path, live)
    code, out, _ = _drift(run_cli, path, "--output", "json")
    assert code == 1
    (extra,) = [r for r in json.loads(out)["resources"] if r["status"] == "extra"]
    assert extra["live_owner"] == {
        "manager": "kubectl-create",
        "operation": "Update",
        "time": "2026-11-30T03:00:00Z",
    }
    _, text, _ = _drift(run_cli, path)
    assert "extra  (changed by kubectl-create, 2026-11-30 03:00 UTC)" in text


def test_attribution_against_the_emulated_api_server(
    run_cli: RunCli, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = ls.cluster_state(desired, workers=2, roles=ROLES)
    ls.kubectl_set_image(
        ls.find(live, "Deployment", "airflow-scheduler-1"), CONTAINER, "apache/airflow:2.11.1-python3.9"
    )
    with KubeApiServer(live, token="auditor-token") as api:
        config = api.kubeconfig(tmp_path)
        result = run_cli(
            "drift", OVERLAY, "--worktree", "--kubeconfig", str(config), "--output", "json", cwd=REPO_ROOT
        )
    assert result.code == 1, result.err
    (scheduler,) = json.loads(result.out)["resources"]
    (difference,) = scheduler["differences"]
    assert difference["path"] == "/spec/template/spec/containers/0/image"
    assert difference["live_owner"] == {"manager": "kubectl-set", "operation": "Update", "time": ls.LATER}
