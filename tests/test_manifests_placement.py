"""Where every pod lands, computed from the rendered affinities: the seed's table (HA) or one node."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from gitops_tool.core.conventions import (
    COMPONENT_LABEL,
    NODE_ROLE_LABEL,
    SCHEDULER_COMPONENT,
    TRIGGERER_COMPONENT,
)
from gitops_tool.core.images import pod_spec
from gitops_tool.core.objects import Manifest
from tests.conftest import REPO_ROOT
from tests.manifests_support import (
    HA,
    LEGACY,
    find,
    node_labels,
    node_roles,
    placement,
    placement_matrix,
    pod_labels,
    preferred_nodes,
    rendered,
    rendered_with_backup,
    selector_matches,
    worker_templates,
)

# The seed's table: what runs on which node (node-1 management, node-2 scheduler-1, node-3 scheduler-2).
SEED_TABLE = {
    "management": {"airflow-webserver", "postgres", "grafana", "prometheus", "nfs-server", "node-exporter"},
    "scheduler-1": {"airflow-scheduler-1", "node-exporter"},
    "scheduler-2": {"airflow-scheduler-2", "node-exporter"},
}


def _schedulers(objects: tuple[Manifest, ...], component: str = SCHEDULER_COMPONENT) -> list[Manifest]:
    return [
        o for o in objects if o["kind"] == "Deployment" and pod_labels(o).get(COMPONENT_LABEL) == component
    ]


def _triggerers(objects: tuple[Manifest, ...]) -> list[Manifest]:
    return _schedulers(objects, TRIGGERER_COMPONENT)


# The shipped render, and the one with optional components/backup enabled (`gitops-tool backup enable`).
RENDERS = pytest.mark.parametrize("render", [rendered, rendered_with_backup], ids=["shipped", "with-backup"])
Render = Callable[[str], tuple[Manifest, ...]]


@RENDERS
def test_ha_placement_is_the_seed_table(render: Render) -> None:
    """The seed's table, and each scheduler added since (add-scheduler) on its own node the same way."""
    roles = node_roles(HA)
    matrix = placement_matrix(HA, render(HA))
    for role, components in SEED_TABLE.items():
        assert components <= matrix[roles[role]], (
            f"{role} ({roles[role]}) misses {components - matrix[roles[role]]}"
        )
    # Scheduler nodes run their scheduler, its triggerer and node-exporter only: everything else is
    # management's.
    for role, node in roles.items():
        if role != "management":
            triggerer = f"airflow-triggerer-{role.removeprefix('scheduler-')}"
            assert matrix[node] == {f"airflow-{role}", triggerer, "node-exporter"}, role
    assert matrix[roles["management"]] >= {"nfs-client-provisioner", "airflow-db-migrate", "test-nfs-pod"}
    # The backup pods run beside PostgreSQL (and the NFS server) on the management node.
    assert ("airflow-db-backup" in matrix[roles["management"]]) == (render is rendered_with_backup)


def test_ha_workers_prefer_their_schedulers_node() -> None:
    objects = rendered(HA)
    nodes = node_labels(HA)
    roles = node_roles(HA)
    templates = worker_templates(objects)
    expected = {
        f"worker-pod-template-{role.removeprefix('scheduler-')}": {node}
        for role, node in roles.items()
        if role != "management"
    }
    assert {name: preferred_nodes(pod["spec"], nodes) for name, pod in templates.items()} == expected


@RENDERS
def test_legacy_runs_everything_on_its_one_node_through_pod_affinity(render: Render) -> None:
    objects = render(LEGACY)
    (node,) = node_roles(LEGACY).values()
    matrix = placement_matrix(LEGACY, objects)
    assert set(matrix) == {node}
    all_names = {o["metadata"]["name"] for o in objects if pod_spec(o) is not None}
    assert matrix[node] == all_names
    assert ("airflow-db-backup" in all_names) == (render is rendered_with_backup)
    # Co-located through podAffinity as the old layout did: every pod but the anchor and the
    # DaemonSet follows the anchor, so the anchor's node alone decides.
    anchor = find(objects, "Deployment", "nfs-server")
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None or obj is anchor or obj["kind"] == "DaemonSet":
            continue
        terms = spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert any(selector_matches(t["labelSelector"], pod_labels(anchor)) for t in terms), obj["metadata"][
            "name"
        ]
    templates = worker_templates(objects)
    assert {name: preferred_nodes(pod["spec"], node_labels(LEGACY)) for name, pod in templates.items()} == {
        "worker-pod-template-1": {node}
    }


def _wave(obj: Manifest) -> int:
    return int(obj["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])


@RENDERS
def test_legacy_anchor_starts_in_the_earliest_workload_wave(render: Render) -> None:
    """A pod following a later wave's pod would hold Argo CD in its own wave forever."""
    objects = render(LEGACY)
    anchor = find(objects, "Deployment", "nfs-server")
    assert _wave(anchor) == min(_wave(o) for o in objects if pod_spec(o) is not None)


@pytest.mark.parametrize("component", [SCHEDULER_COMPONENT, TRIGGERER_COMPONENT])
def test_each_scheduler_requires_its_own_role_and_avoids_every_other_scheduler(component: str) -> None:
    """Schedulers, and the triggerer each scheduler folder brings (one per scheduler node)."""
    objects = rendered(HA)
    schedulers = _schedulers(objects, component)
    assert len(schedulers) >= 2, "the seed's two schedulers (and triggerers) at least"
    for scheduler in schedulers:
        n = scheduler["metadata"]["name"].rsplit("-", 1)[1]
        spec = pod_spec(scheduler) or {}
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ]
        assert terms == [
            {"matchExpressions": [{"key": NODE_ROLE_LABEL, "operator": "In", "values": [f"scheduler-{n}"]}]}
        ]
        (anti,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert anti["topologyKey"] == "kubernetes.io/hostname"
        assert all(selector_matches(anti["labelSelector"], pod_labels(other)) for other in schedulers)
        assert scheduler["metadata"]["labels"]["airflow.apache.org/scheduler"] == f"scheduler-{n}"
        # Each Deployment selects its own pods only.
        others = [o for o in schedulers if o is not scheduler]
        assert not any(selector_matches(scheduler["spec"]["selector"], pod_labels(o)) for o in others)
        # Recreate: a surge pod would be kept Pending by the old pod's anti-affinity on the one node.
        assert scheduler["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("component", [SCHEDULER_COMPONENT, TRIGGERER_COMPONENT])
def test_anti_affinity_keeps_two_schedulers_off_one_node(component: str) -> None:
    """With the node roles collapsed onto one node, the second scheduler (triggerer) has nowhere to go."""
    objects = rendered(HA)
    one_node = {"node-x": {NODE_ROLE_LABEL: "scheduler-1", "kubernetes.io/hostname": "node-x"}}
    relaxed = []
    for obj in objects:
        copy: Manifest = yaml.safe_load(yaml.safe_dump(obj))
        if obj in _schedulers(objects, component):
            del copy["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
        relaxed.append(copy)
    placed = placement(relaxed, one_node)
    schedulers = _schedulers(objects, component)
    fitting = sorted(len(placed[f"Deployment/airflow/{s['metadata']['name']}"]) for s in schedulers)
    assert fitting == [0] * (len(schedulers) - 1) + [1]


@pytest.mark.parametrize("component", [SCHEDULER_COMPONENT, TRIGGERER_COMPONENT])
def test_pod_disruption_budget_covers_every_scheduler(component: str) -> None:
    objects = rendered(HA)
    budget = find(objects, "PodDisruptionBudget", f"airflow-{component}")
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"] == {"matchLabels": {COMPONENT_LABEL: component}}
    covered = [
        o
        for o in rendered(HA)
        if pod_spec(o) is not None and selector_matches(budget["spec"]["selector"], pod_labels(o))
    ]
    assert covered == _schedulers(objects, component)


SCHEDULER_FOLDER = re.compile(r"^scheduler-(\d+)$")


@pytest.mark.parametrize("overlay", [HA, LEGACY])
def test_scheduler_instances_are_small_folders_differing_only_in_n(overlay: str) -> None:
    """The add-scheduler contract: each folder is scheduler-1's text with N in two places."""
    folder = REPO_ROOT / overlay / "schedulers"
    instances = sorted(p for p in folder.iterdir() if p.is_dir())
    assert instances and all(SCHEDULER_FOLDER.match(p.name) for p in instances)
    kustomization = yaml.safe_load((REPO_ROOT / overlay / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = [r for r in kustomization["resources"] if r.startswith("schedulers/")]
    assert listed == [f"schedulers/{p.name}" for p in instances]
    first = _without_comments(instances[0] / "kustomization.yaml")
    for instance in instances:
        n = SCHEDULER_FOLDER.match(instance.name).group(1)  # type: ignore[union-attr]
        assert [p.name for p in instance.iterdir()] == ["kustomization.yaml"]
        text = _without_comments(instance / "kustomization.yaml")
        assert text.replace(f'"-{n}"', '"-1"').replace(f"scheduler-{n}", "scheduler-1") == first
        assert text.count(n) >= 2 and f'nameSuffix: "-{n}"' in text and f"scheduler: scheduler-{n}" in text
        data = yaml.safe_load(text)
        assert data["resources"] == ["../../../../base/scheduler", "../../../../base/triggerer"]
    base = yaml.safe_load((REPO_ROOT / "base" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert "scheduler" not in base["resources"], "the scheduler template is pulled per instance only"


def _without_comments(path: Path) -> str:
    return "\n".join(
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    )


def test_node_roles_are_data_not_node_objects() -> None:
    for overlay in (HA, LEGACY):
        assert not [o for o in rendered(overlay) if o["kind"] == "Node"]
        kustomization = yaml.safe_load(
            (REPO_ROOT / overlay / "kustomization.yaml").read_text(encoding="utf-8")
        )
        assert "node-roles.yaml" not in str(kustomization), "node roles must not be rendered"
    roles = node_roles(HA)
    assert len(set(roles.values())) == len(roles), "one role per node: the label holds one value"
    schedulers = {s["metadata"]["labels"]["airflow.apache.org/scheduler"] for s in _schedulers(rendered(HA))}
    assert schedulers | {"management"} == set(roles), "every role has a node, every node a role"
