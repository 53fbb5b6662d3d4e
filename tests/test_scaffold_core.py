"""The pure scheduler planner: numbering, derivation, positions, refusals (no files, no git)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_tool.core.scaffold.diff import unified_diff
from gitops_tool.core.scaffold.plan import MappingDelete, MappingSet, NewFolder, RemoveFolder, SequenceInsert
from gitops_tool.core.scaffold.scheduler_plans import (
    OverlayState,
    SchedulerFolder,
    plan_add_scheduler,
    plan_remove_scheduler,
    scheduler_table,
)
from gitops_tool.core.scaffold.schedulers import (
    MAX_SCHEDULER_NUMBER,
    Renumbering,
    check_node_name,
    listed_scheduler,
    map_strings,
    parse_scheduler_number,
)
from gitops_tool.errors import UserError

HA = "overlays/three-node-ha"


def _instance(number: int) -> dict[str, Any]:
    return {
        "resources": ["../../../../base/scheduler"],
        "nameSuffix": f"-{number}",
        "labels": [
            {"pairs": {"airflow.apache.org/scheduler": f"scheduler-{number}"}, "includeSelectors": True}
        ],
        "replacements": [{"targets": [{"fieldPaths": ["spec.x.0.values.0"], "options": {"index": 1}}]}],
    }


def _state(numbers: tuple[int, ...] = (1, 2), roles: dict[str, str] | None = None) -> OverlayState:
    return OverlayState(
        overlay=HA,
        kustomization_file=f"{HA}/kustomization.yaml",
        resources=("../../base", "scheduler-pdb.yaml", *(f"schedulers/scheduler-{n}" for n in numbers)),
        folders={n: SchedulerFolder(n, {"kustomization.yaml": (_instance(n),)}) for n in numbers},
        node_roles_file=f"{HA}/node-roles.yaml",
        node_roles=roles
        if roles is not None
        else {"management": "node-1", "scheduler-1": "node-2", "scheduler-2": "node-3"},
    )


def test_renumbering_touches_only_the_places_carrying_the_number() -> None:
    r = Renumbering(1, 3)
    assert r.text("-1") == "-3"
    assert r.text("scheduler-1") == "scheduler-3"
    assert r.text("airflow-scheduler-1") == "airflow-scheduler-3"
    assert r.text("# Scheduler #1 and scheduler 1") == "# Scheduler #3 and scheduler 3"
    for unchanged in ("1", "v1", "1Gi", "scheduler-10", "scheduler-11", "values.1", "2-1", "node 1", "-12"):
        assert r.text(unchanged) == unchanged


@given(st.integers(1, MAX_SCHEDULER_NUMBER), st.integers(1, MAX_SCHEDULER_NUMBER))
def test_deriving_and_deriving_back_is_the_identity(old: int, new: int) -> None:
    if old == new:
        return
    instance = _instance(old)
    there = map_strings(_instance(old), Renumbering(old, new).text)
    assert there == _instance(new)
    assert map_strings(there, Renumbering(new, old).text) == instance


def test_map_strings_keeps_str_subclasses() -> None:
    class Quoted(str):
        pass

    tree = {"nameSuffix": Quoted("-1"), "list": [Quoted("scheduler-1"), 1]}
    out = map_strings(tree, Renumbering(1, 4).text)
    assert out == {"nameSuffix": "-4", "list": ["scheduler-4", 1]}
    assert type(out["nameSuffix"]) is Quoted
    assert type(out["list"][0]) is Quoted


@pytest.mark.parametrize(("text", "number"), [("1", 1), ("64", 64), (" 7 ", 7)])
def test_parse_scheduler_number(text: str, number: int) -> None:
    assert parse_scheduler_number(text) == number


@pytest.mark.parametrize("text", ["0", "65", "-1", "x", "", "01", "+3", "٣"])
def test_parse_scheduler_number_refuses(text: str) -> None:
    with pytest.raises(UserError):
        parse_scheduler_number(text)


@pytest.mark.parametrize("node", ["node-4", "ip-10-0-0-4.eu-west-1.compute.internal", "a", "x" * 253])
def test_valid_node_names(node: str) -> None:
    assert check_node_name(node) == node


def test_listed_scheduler() -> None:
    assert listed_scheduler("schedulers/scheduler-3") == 3
    assert listed_scheduler("./schedulers/scheduler-3/") == 3
    assert listed_scheduler("../../base") is None
    assert listed_scheduler("other/scheduler-3") is None
    assert listed_scheduler({"path": "x"}) is None


def test_plan_add_derives_from_the_lowest_and_inserts_in_order() -> None:
    plan = plan_add_scheduler(_state((1, 2, 5)), 3, "node-9")
    assert plan.message == f"{HA}: add scheduler-3"
    folder, insert, role = plan.changes
    assert isinstance(folder, NewFolder)
    assert folder.path == f"{HA}/schedulers/scheduler-3"
    assert [f.name for f in folder.files] == ["kustomization.yaml"]
    assert folder.files[0].documents == (_instance(3),)
    assert folder.files[0].source == f"{HA}/schedulers/scheduler-1/kustomization.yaml"
    assert insert == SequenceInsert(f"{HA}/kustomization.yaml", ("resources",), 4, "schedulers/scheduler-3")
    assert role == MappingSet(f"{HA}/node-roles.yaml", ("roles",), "scheduler-3", "node-9", 3)
    assert plan.touched_paths() == [
        f"{HA}/kustomization.yaml",
        f"{HA}/node-roles.yaml",
        f"{HA}/schedulers/scheduler-3",
    ]


def test_plan_add_below_every_existing_scheduler_goes_first() -> None:
    plan = plan_add_scheduler(_state((2, 3)), 1, "node-9")
    assert plan.changes[1] == SequenceInsert(
        f"{HA}/kustomization.yaml", ("resources",), 2, "schedulers/scheduler-1"
    )


def test_plan_add_does_not_change_the_source_documents() -> None:
    state = _state()
    plan_add_scheduler(state, 3)
    assert state.folders[1].files["kustomization.yaml"] == (_instance(1),)


def test_plan_add_refuses_an_ambiguous_source() -> None:
    state = _state((1,))
    state.folders[1].files["kustomization.yaml"][0]["comment"] = "unlike scheduler-3"  # type: ignore[index]
    with pytest.raises(UserError, match="already mentions scheduler-3"):
        plan_add_scheduler(state, 3)


def test_plan_add_without_node_notes_the_unmapped_role() -> None:
    plan = plan_add_scheduler(_state(), 3)
    assert len(plan.changes) == 2
    assert "role scheduler-3 is not mapped" in plan.notes[0]


def test_plan_add_refuses_a_node_of_another_role_and_a_missing_roles_file() -> None:
    with pytest.raises(UserError, match="already mapped to role management"):
        plan_add_scheduler(_state(), 3, "node-1")
    no_roles = OverlayState(
        HA, f"{HA}/kustomization.yaml", (), _state().folders, f"{HA}/node-roles.yaml", None
    )
    with pytest.raises(UserError, match="does not exist"):
        plan_add_scheduler(no_roles, 3, "node-4")


def test_plan_remove() -> None:
    plan = plan_remove_scheduler(_state(), 2)
    assert plan.message == f"{HA}: remove scheduler-2"
    assert plan.changes[0] == RemoveFolder(f"{HA}/schedulers/scheduler-2")
    assert plan.changes[2] == MappingDelete(f"{HA}/node-roles.yaml", ("roles",), "scheduler-2")


def test_plan_remove_refuses_the_last_one() -> None:
    with pytest.raises(UserError, match="last scheduler"):
        plan_remove_scheduler(_state((1,)), 1)


def test_scheduler_table_reports_unmapped_and_inconsistent_entries() -> None:
    state = _state((1, 2), {"scheduler-1": "node-2"})
    dangling = OverlayState(
        state.overlay,
        state.kustomization_file,
        (*state.resources, "schedulers/scheduler-4"),
        state.folders,
        state.node_roles_file,
        state.node_roles,
    )
    table = scheduler_table(dangling)
    assert [(s.role, s.node) for s in table] == [
        ("scheduler-1", "node-2"),
        ("scheduler-2", None),
        ("scheduler-4", None),
    ]
    assert table[2].notes == (f"listed in {HA}/kustomization.yaml but its folder is missing",)


def test_unified_diff() -> None:
    diff = unified_diff(
        [("a.yaml", "x: 1\n", "x: 2\n"), ("new.yaml", None, "y: 1\n"), ("same", "s\n", "s\n")]
    )
    assert diff == (
        "--- a/a.yaml\n+++ b/a.yaml\n@@ -1 +1 @@\n-x: 1\n+x: 2\n"
        "--- /dev/null\n+++ b/new.yaml\n@@ -0,0 +1 @@\n+y: 1\n"
    )
