"""Role -> node mapping: parsing refusals and the label plan."""

from __future__ import annotations

import pytest

from gitops_tool.core.conventions import NODE_ROLE_LABEL
from gitops_tool.core.node_roles import LabelChange, parse_role_mapping, plan_labels
from gitops_tool.errors import UserError

MAPPING = parse_role_mapping(
    {"roles": {"management": "node-1", "scheduler-1": "node-2", "scheduler-2": "node-3"}}
)


def test_a_labelled_cluster_needs_nothing() -> None:
    nodes = {name: {NODE_ROLE_LABEL: role} for role, name in MAPPING.roles.items()}
    nodes["other"] = {"kubernetes.io/os": "linux"}
    plan = plan_labels(MAPPING, nodes)
    assert plan.in_sync and plan.problems() == []


def test_plan_adds_changes_removes_and_reports_missing() -> None:
    nodes = {
        "node-1": {},
        "node-2": {NODE_ROLE_LABEL: "scheduler-2"},
        "node-9": {NODE_ROLE_LABEL: "scheduler-1"},
        "node-8": {NODE_ROLE_LABEL: "scheduler-7"},
    }
    plan = plan_labels(MAPPING, nodes)
    assert plan.changes == [
        LabelChange("node-1", None, "management"),
        LabelChange("node-2", "scheduler-2", "scheduler-1"),
        LabelChange("node-9", "scheduler-1", None),
    ]
    assert plan.missing_nodes == {"scheduler-2": "node-3"}
    assert plan.unmapped_roles == {"node-8": "scheduler-7"}
    assert not plan.in_sync
    assert plan.changes[2].patch() == {"metadata": {"labels": {NODE_ROLE_LABEL: None}}}
    assert "node-3: node not found (mapped to role scheduler-2)" in plan.problems()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a `roles:` mapping"),
        ({"roles": {}}, "is empty"),
        ({"roles": {"management": "Node_1"}}, "not a valid Kubernetes node name"),
        ({"roles": {"bad role": "node-1"}}, "not a valid label value"),
        ({"roles": {"management": "node-1", "scheduler-1": "node-1"}}, "mapped to both"),
    ],
)
def test_bad_mappings_are_refused(document: object, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_role_mapping(document)
