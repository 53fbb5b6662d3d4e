"""Property-based tests of the drift normaliser and comparer (hypothesis).

- normalising twice equals normalising once, on generated trees that use the keys the normaliser
  treats specially (quantities, int-or-strings, probe ports, empties);
- every object of the HA render compared with its own simulated live form (tests/livestate.py's
  simulate_apply: server defaults, managedFields, reordered lists) is in sync;
- a change to any desired leaf under spec/data is reported at that leaf's path (or at the list item
  holding it, when the leaf is part of the item's merge key).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_tool.core.conventions import ARGOCD_HOOK
from gitops_tool.core.drift import render
from gitops_tool.core.drift.engine import DriftInput, compare
from gitops_tool.core.drift.normalise import normalise_desired, normalise_value
from gitops_tool.core.objects import Manifest
from tests import livestate as ls
from tests.manifests_support import HA, rendered

SPECIAL_KEYS = [
    "requests", "limits", "cpu", "memory", "sizeLimit", "targetPort", "maxSurge", "port",
    "httpGet", "tcpSocket", "name", "value", "items",
]  # fmt: skip
QUANTITIES = st.sampled_from(["100m", "0.1", "1", "1000m", "1Gi", "1024Mi", "512Ki", "2", "1e3", "0"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.text(max_size=6), QUANTITIES, st.just("")
)
KEYS = st.one_of(st.sampled_from(SPECIAL_KEYS), st.text(min_size=1, max_size=5))
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)),
    max_leaves=25,
)


@given(TREES)
def test_normalising_a_value_twice_equals_normalising_it_once(tree: Any) -> None:
    once = normalise_value(tree)
    assert normalise_value(once) == once


@given(st.dictionaries(st.sampled_from(["spec", "data", "rules", "subjects"]), TREES, max_size=3))
def test_normalising_an_object_twice_equals_normalising_it_once(body: dict[str, Any]) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "b"}}, **body}
    once = normalise_desired(obj)
    again = normalise_desired({"apiVersion": "v1", "kind": "ConfigMap", **once})
    assert again == once


@cache
def _objects() -> tuple[Manifest, ...]:
    return rendered(HA)


@cache
def _live() -> tuple[Manifest, ...]:
    return tuple(ls.simulate_apply(copy.deepcopy(o)) for o in _objects())


def _statuses(desired: list[Manifest], live: list[Manifest]) -> dict[tuple[str, str], dict[str, Any]]:
    report = render.to_json(compare(DriftInput(desired, live)), show_in_sync=True)
    return {(r["kind"], r["name"]): r for r in report["resources"]}


def test_every_rendered_object_is_in_sync_with_its_own_simulated_live_form() -> None:
    results = _statuses(list(_objects()), list(_live()))
    # Argo CD hooks (the migration and admin-user Jobs) are not compared: Argo CD re-creates them.
    compared = {
        (o["kind"], o["metadata"]["name"])
        for o in _objects()
        if ARGOCD_HOOK not in (o["metadata"].get("annotations") or {})
    }
    assert set(results) == compared
    assert {key: r["status"] for key, r in results.items() if r["status"] != "in-sync"} == {}


# Leaves whose changed value would not be a value of their type (quantities must stay quantities).
_QUANTITY_PARENTS = {"requests", "limits", "capacity", "hard"}
_QUANTITY_KEYS = {"sizeLimit", "storage"}


def _leaves(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _QUANTITY_KEYS or (path and path[-1] in _QUANTITY_PARENTS):
                continue
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    elif node is not None and node != "":
        yield path


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        # Far from its neighbours: a port changed into its sibling's number would make two items
        # with one merge key, an object the API server refuses.
        return value + 10007
    if isinstance(value, float):
        return value + 1.5
    return f"{value}-changed"


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        obj = obj[part]
    obj[path[-1]] = value


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_changed_desired_leaf_is_reported_at_its_path(data: st.DataObject) -> None:
    objects = _objects()
    candidates = [
        i
        for i, o in enumerate(objects)
        if ("spec" in o or "data" in o) and ARGOCD_HOOK not in (o["metadata"].get("annotations") or {})
    ]
    index = data.draw(st.sampled_from(candidates))
    original = objects[index]
    leaves = [p for top in ("spec", "data") if top in original for p in _leaves(original[top], (top,))]
    leaf = data.draw(st.sampled_from(leaves))
    desired = copy.deepcopy(original)
    _set(desired, leaf, _changed(_get(original, leaf)))
    result = _statuses([desired], [_live()[index]])[(original["kind"], original["metadata"]["name"])]
    assert result["status"] == "modified", leaf
    pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in leaf)
    paths = [d["path"] for d in result["differences"]]
    assert any(pointer == p or pointer.startswith(p + "/") for p in paths), (pointer, paths)
