"""migrate plan/check: steps and preconditions from cluster facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gitops_tool.core.conventions import NODE_ROLE_LABEL
from gitops_tool.core.doctor import Status
from gitops_tool.core.migration import (
    MigrationFacts,
    application_states,
    check_preconditions,
    plan_steps,
    plan_text,
)
from gitops_tool.core.node_roles import parse_role_mapping, plan_labels

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
MAPPING = parse_role_mapping(
    {"roles": {"management": "node-1", "scheduler-1": "node-2", "scheduler-2": "node-3"}}
)


def app(
    path: str, sync: str = "Synced", health: str = "Healthy", namespace: str = "airflow"
) -> dict[str, object]:
    return {
        "metadata": {"name": "airflow"},
        "spec": {"source": {"path": path}, "destination": {"namespace": namespace}},
        "status": {"sync": {"status": sync, "revision": "abc"}, "health": {"status": health}},
    }


def legacy_facts() -> MigrationFacts:
    return MigrationFacts(
        now=NOW,
        mapping=MAPPING,
        label_plan=plan_labels(MAPPING, {"node-1": {}, "node-2": {}}),
        node_names=["node-1", "node-2"],
        applications=application_states([app("overlays/single-node-legacy"), app("x", namespace="other")]),
        last_backup=NOW - timedelta(days=3),
        backup_component=True,
        scheduler_nodes={"airflow-scheduler-1-a": "node-1"},
    )


def test_plan_on_a_legacy_cluster_has_everything_to_do() -> None:
    steps = plan_steps(legacy_facts())
    assert [s.status for s in steps] == ["todo", "todo", "todo", "todo", "todo", "check"]
    text = plan_text(steps)
    assert "[ ] 1. Back up the metadata DB\n      gitops-tool backup now" in text
    assert "gitops-tool nodes apply overlays/three-node-ha --yes" in text
    assert "from overlays/single-node-legacy to overlays/three-node-ha" in text


def test_plan_after_migration_is_done() -> None:
    labelled = {name: {NODE_ROLE_LABEL: role} for role, name in MAPPING.roles.items()}
    facts = replace(
        legacy_facts(),
        label_plan=plan_labels(MAPPING, labelled),
        node_names=list(labelled),
        applications=application_states([app("overlays/three-node-ha/")]),
        last_backup=NOW - timedelta(hours=1),
        scheduler_nodes={"s1": "node-2", "s2": "node-3"},
    )
    assert [s.status for s in plan_steps(facts)] == ["done"] * 5 + ["check"]
    assert all(r.status is Status.PASS for r in check_preconditions(facts))


def test_check_lists_every_missing_precondition() -> None:
    facts = replace(
        legacy_facts(), applications=application_states([app("overlays/single-node-legacy", "OutOfSync")])
    )
    results = {r.name: r for r in check_preconditions(facts)}
    assert results["nodes"].detail == "1 mapped node(s) not in the cluster: node-3"
    assert results["node labels"].items == [
        "node-1: add node-role.kubernetes.io/airflow=management",
        "node-2: add node-role.kubernetes.io/airflow=scheduler-1",
    ]
    assert results["recent backup"].status is Status.FAIL
    assert results["Argo CD Application"].items == ["airflow: OutOfSync/Healthy"]
    none = {r.name: r for r in check_preconditions(replace(facts, applications=[], last_backup=None))}
    assert "none found" in none["recent backup"].detail
    assert none["Argo CD Application"].status is Status.FAIL


def test_root_include_switch_changes_only_the_selected_application() -> None:
    import pytest

    from gitops_tool.core.migration import switch_root_include
    from gitops_tool.errors import UserError

    text = 'spec:\n  # keep\n  include: "{root.yaml,applications/single-node-legacy.yaml}"\n'
    after, before = switch_root_include(text, "three-node-ha", "root.yaml")
    assert before == "single-node-legacy"
    assert after == 'spec:\n  # keep\n  include: "{root.yaml,applications/three-node-ha.yaml}"\n'
    with pytest.raises(UserError, match="expected one `include:` line"):
        switch_root_include("spec: {}\n", "x", "root.yaml")
    with pytest.raises(UserError, match="selects 2 overlay Applications"):
        switch_root_include('include: "{applications/a.yaml,applications/b.yaml}"\n', "x", "root.yaml")
