"""managedFields: who set which field, from the API server's FieldsV1 format.

A FieldsV1 set is a tree of path elements: ``f:<name>`` a field, ``k:<json>`` a list item by its
key fields (``k:{"containerPort":80,"protocol":"TCP"}``), ``v:<json>`` a set item by value,
``i:<n>`` a list item by position, and ``.`` the node itself (the element exists as a whole).
Trees are walked as the plain dicts the API returns; ``k:``/``v:`` keys are decoded once and cached.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

FieldsNode = Mapping[str, Any]

# Argo CD (client-side and server-side apply), kubectl apply, and this tool.
DEFAULT_APPLIERS = (
    "argocd-controller",
    "argocd-application-controller",
    "kubectl-client-side-apply",
    "gitops-tool",
)
# kubectl and every kubectl-<verb> manager (kubectl-edit, kubectl-set, kubectl-patch, ...).
DEFAULT_IMPERATIVE = ("kubectl", "kubectl-*")


@dataclass(frozen=True)
class PathElement:
    """One parsed FieldsV1 key: kind is ``field``, ``key``, ``value`` or ``index``."""

    kind: str
    value: Any

    def __str__(self) -> str:
        if self.kind == "field":
            return f".{self.value}"
        if self.kind == "key":
            return "[" + ",".join(f"{k}={v}" for k, v in self.value.items()) + "]"
        if self.kind == "value":
            return f"[={json.dumps(self.value)}]"
        return f"[{self.value}]"


@lru_cache(maxsize=65536)
def parse_element(raw: str) -> PathElement | None:
    """``f:name`` / ``k:{...}`` / ``v:...`` / ``i:3`` as a ``PathElement``; None for ``.``."""
    prefix, _, rest = raw.partition(":")
    if raw == ".":
        return None
    if prefix == "f":
        return PathElement("field", rest)
    if prefix == "k":
        return PathElement("key", json.loads(rest))
    if prefix == "v":
        return PathElement("value", json.loads(rest))
    if prefix == "i":
        return PathElement("index", int(rest))
    raise ValueError(f"unknown FieldsV1 element {raw!r}")


def iter_paths(node: FieldsNode, prefix: tuple[PathElement, ...] = ()) -> Iterator[tuple[PathElement, ...]]:
    """Every path the set names (leaves and ``.`` nodes), in document order."""
    for raw, child in node.items():
        element = parse_element(raw)
        if element is None:
            continue
        path = (*prefix, element)
        if not child or "." in child:
            yield path
        if child:
            yield from iter_paths(child, path)


def field_child(node: FieldsNode | None, name: str) -> FieldsNode | None:
    if node is None:
        return None
    found = node.get("f:" + name)
    return found if found is not None else None


def item_child(node: FieldsNode | None, item: Any, index: int | None = None) -> FieldsNode | None:
    """The subtree for list ``item``: by key fields, by value (sets) or by position."""
    if not node:
        return None
    for raw, child in node.items():
        if raw.startswith("k:"):
            element = parse_element(raw)
            if (
                isinstance(item, Mapping)
                and element is not None
                and all(item.get(k) == v for k, v in element.value.items())
            ):
                return child if child is not None else {}
        elif raw.startswith("v:"):
            element = parse_element(raw)
            if element is not None and element.value == item:
                return child if child is not None else {}
        elif raw.startswith("i:") and index is not None and raw == f"i:{index}":
            return child if child is not None else {}
    return None


@dataclass(frozen=True)
class ManagerPolicy:
    """Which field managers are the GitOps applier and which are imperative humans.

    Controllers (kube-controller-manager, HPA, admission plugins) are neither: their fields are
    never drift by themselves.
    """

    appliers: tuple[str, ...] = DEFAULT_APPLIERS
    imperative: tuple[str, ...] = DEFAULT_IMPERATIVE

    def is_applier(self, manager: str) -> bool:
        return manager in self.appliers

    def is_imperative(self, manager: str) -> bool:
        if manager in self.appliers:
            return False
        return any(fnmatch.fnmatchcase(manager, pattern) for pattern in self.imperative)


@dataclass(frozen=True)
class Owners:
    """The FieldsV1 trees of one object, split into applier and imperative managers."""

    applier: tuple[FieldsNode, ...]
    imperative: tuple[tuple[str, FieldsNode], ...]


NO_OWNERS = Owners((), ())


def owners_of(managed_fields: Iterable[Any] | None, policy: ManagerPolicy) -> Owners:
    applier: list[FieldsNode] = []
    imperative: list[tuple[str, FieldsNode]] = []
    for entry in managed_fields or ():
        if not isinstance(entry, Mapping) or entry.get("subresource") == "status":
            continue
        fields = entry.get("fieldsV1")
        manager = str(entry.get("manager") or "")
        if not isinstance(fields, Mapping):
            continue
        if policy.is_applier(manager):
            applier.append(fields)
        elif policy.is_imperative(manager):
            imperative.append((manager, fields))
    if not applier and not imperative:
        return NO_OWNERS
    return Owners(tuple(applier), tuple(imperative))


def managers_fields(managed_fields: Iterable[Any] | None, managers: Iterable[str]) -> list[FieldsNode]:
    """The FieldsV1 trees of the named managers (for ``ignoreDifferences.managedFieldsManagers``)."""
    wanted = set(managers)
    return [
        entry["fieldsV1"]
        for entry in managed_fields or ()
        if isinstance(entry, Mapping)
        and entry.get("manager") in wanted
        and isinstance(entry.get("fieldsV1"), Mapping)
    ]


def remove_owned(obj: Any, node: FieldsNode) -> None:
    """Delete from ``obj`` (in place) every field the FieldsV1 tree ``node`` names."""
    if isinstance(obj, dict):
        for raw, child in node.items():
            element = parse_element(raw)
            if element is None or element.kind != "field" or element.value not in obj:
                continue
            if _is_leaf(child):
                del obj[element.value]
            else:
                remove_owned(obj[element.value], child)
    elif isinstance(obj, list):
        doomed: list[int] = []
        for index, item in enumerate(obj):
            child = item_child(node, item, index)
            if child is None:
                continue
            if _is_leaf(child):
                doomed.append(index)
            else:
                remove_owned(item, child)
        for index in reversed(doomed):
            del obj[index]


def _is_leaf(child: FieldsNode | None) -> bool:
    # A node that only says "." (I own this element) with no named children is owned whole.
    return not child or set(child) == {"."}
