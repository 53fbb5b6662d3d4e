"""Node role labels: the overlay's role -> node mapping against the live Nodes.

Argo CD never owns Node objects, so the mapping lives as data in the overlay (node-roles.yaml)
and drift compares the ``node-role.kubernetes.io/airflow`` label of every Node with it (the mapping
is parsed by ``gitops_tool.core.node_roles``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitops_tool.core import conventions as c
from gitops_tool.core.drift.attribution import Attributor
from gitops_tool.core.drift.model import Difference, ResourceResult, Status

_LABEL_PATH = ("metadata", "labels", c.NODE_ROLE_LABEL)
_LABEL_POINTER = "/metadata/labels/" + c.NODE_ROLE_LABEL.replace("~", "~0").replace("/", "~1")


def node_role_results(
    roles: Mapping[str, str], nodes: Sequence[Mapping[str, Any]], attribute: bool = True
) -> list[ResourceResult]:
    wanted = {node: role for role, node in roles.items()}
    live = {str((n.get("metadata") or {}).get("name")): n for n in nodes}
    results = []
    for name in sorted(set(wanted) | set(live)):
        node = live.get(name)
        role = wanted.get(name)
        if node is None:
            results.append(
                ResourceResult(
                    "v1", "Node", "", name, Status.MISSING, note=f"node for role {role} does not exist"
                )
            )
            continue
        current = ((node.get("metadata") or {}).get("labels") or {}).get(c.NODE_ROLE_LABEL)
        if role is None and current is None:
            continue  # a node the architecture does not use
        if current == role:
            results.append(ResourceResult("v1", "Node", "", name, Status.IN_SYNC))
            continue
        if role is None:
            reason = "role label on a node the mapping gives no role"
        elif current is None:
            reason = "role label missing"
        else:
            reason = "role label differs"
        owner = Attributor(node).owner(_LABEL_PATH) if attribute and current is not None else None
        difference = Difference(_LABEL_POINTER, role, current, reason, owner)
        results.append(ResourceResult("v1", "Node", "", name, Status.MODIFIED, (difference,)))
    return results
