"""Requests and limits per node role against the seed's node minimums.

The seed: management 2 CPU / 4 GB, each scheduler node 1 CPU / 2 GB (GB read as GiB, as RAM is sold).
Long-running pods' requests must leave at least 20% of each minimum for the kubelet, the container
runtime and cluster add-ons (kube-proxy, CNI); their memory limits must fit the node (CPU limits may
overcommit: CPU is throttled, memory is OOM-killed). Worker pods and run-to-completion Jobs are
counted separately: at least one worker pod must fit beside the scheduler on every scheduler node,
and the migration Jobs beside the management pods.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from gitops_tool.core.images import pod_spec
from tests.manifests_support import (
    HA,
    LEGACY,
    Resources,
    all_containers,
    node_load,
    node_roles,
    pod_resources,
    quantity,
    rendered,
    worker_templates,
)

GIB = 2**30
MINIMUMS = {
    "management": Resources(Fraction(2), Fraction(4 * GIB)),
    "scheduler": Resources(Fraction(1), Fraction(2 * GIB)),
}
HEADROOM = Fraction(8, 10)


def _minimum(role: str) -> Resources:
    return MINIMUMS["scheduler" if role.startswith("scheduler-") else role]


def _within(load: Resources, limit: Resources, share: Fraction = Fraction(1)) -> bool:
    return load.cpu <= limit.cpu * share and load.memory <= limit.memory * share


# Every role of the shipped HA overlay (the seed's three, plus any scheduler added since).
HA_ROLES = sorted(node_roles(HA))


@pytest.mark.parametrize("role", HA_ROLES)
def test_ha_requests_per_node_role_fit_the_seed_minimum_with_headroom(role: str) -> None:
    node = node_roles(HA)[role]
    load = node_load(HA)[node]
    assert load.cpu > 0 and load.memory > 0
    assert _within(load, _minimum(role), HEADROOM), (
        f"{role}: requests {float(load.cpu):.2f} CPU / {load.memory / GIB:.2f} GiB exceed "
        f"{HEADROOM:.0%} of the seed minimum"
    )


@pytest.mark.parametrize("role", HA_ROLES)
def test_ha_memory_limits_per_node_role_fit_the_seed_minimum(role: str) -> None:
    node = node_roles(HA)[role]
    assert node_load(HA, "limits")[node].memory <= _minimum(role).memory


def test_a_worker_pod_fits_beside_each_scheduler() -> None:
    objects = rendered(HA)
    roles = node_roles(HA)
    for name, pod in worker_templates(objects).items():
        role = f"scheduler-{name.rsplit('-', 1)[1]}"
        worker = pod_resources(pod["spec"])
        assert worker.cpu > 0 and worker.memory > 0
        assert _within(node_load(HA)[roles[role]] + worker, _minimum(role), HEADROOM), name


def test_migration_jobs_fit_beside_the_management_pods() -> None:
    """The hooks run one after the other (waves 5 and 6), so the largest one counts."""
    jobs = [pod_resources(pod_spec(o) or {}) for o in rendered(HA) if o["kind"] == "Job"]
    assert len(jobs) == 2
    largest = Resources(max(j.cpu for j in jobs), max(j.memory for j in jobs))
    management = node_roles(HA)["management"]
    assert _within(node_load(HA)[management] + largest, _minimum("management"), HEADROOM)


def test_legacy_node_holds_both_roles_workloads() -> None:
    """The old layout's one node carries what management and one scheduler node carry in HA."""
    (node,) = node_roles(LEGACY).values()
    both = MINIMUMS["management"] + MINIMUMS["scheduler"]
    assert _within(node_load(LEGACY)[node], both, HEADROOM)


@pytest.mark.parametrize("overlay", [HA, LEGACY])
def test_every_container_sets_requests_and_limits(overlay: str) -> None:
    missing = []
    for owner, _spec, container in all_containers(rendered(overlay)):
        resources = container.get("resources") or {}
        for which in ("requests", "limits"):
            values = resources.get(which) or {}
            if not {"cpu", "memory"} <= set(values):
                missing.append(f"{owner} {which}")
            elif which == "limits":
                requests = resources["requests"]
                assert quantity(values["memory"]) >= quantity(requests["memory"]), owner
    assert missing == []
