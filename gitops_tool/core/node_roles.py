"""The overlay's role -> node mapping and the label changes that make live nodes match it.

Pure: the mapping arrives parsed from ``overlays/<overlay>/node-roles.yaml``
(``roles: {management: node-1, scheduler-1: node-2}``), live nodes arrive as ``name -> labels``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops_tool.core.conventions import NODE_ROLE_LABEL, NODE_ROLES_FILE
from gitops_tool.errors import UserError

# A node name is a DNS-1123 subdomain; a role is used as a label value.
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NODE_NAME_MAX = 253


def is_node_name(text: str) -> bool:
    """A valid Kubernetes node name: a DNS-1123 subdomain of at most 253 characters."""
    return len(text) <= _NODE_NAME_MAX and _NODE_NAME.match(text) is not None


_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class RoleMapping:
    """Which node carries each role; at most one role per node (a label has one value)."""

    roles: dict[str, str]

    def role_of(self, node: str) -> str | None:
        for role, name in self.roles.items():
            if name == node:
                return role
        return None


def parse_role_mapping(document: Any, source: str = NODE_ROLES_FILE) -> RoleMapping:
    """Check and read the ``roles:`` mapping of a node-roles document."""
    if not isinstance(document, Mapping) or not isinstance(document.get("roles"), Mapping):
        raise UserError(f"{source}: expected a `roles:` mapping of role to node name")
    roles: dict[str, str] = {}
    for role, node in document["roles"].items():
        if not isinstance(role, str) or not _LABEL_VALUE.match(role):
            raise UserError(f"{source}: role {role!r} is not a valid label value")
        if not isinstance(node, str) or not is_node_name(node):
            raise UserError(f"{source}: role {role}: {node!r} is not a valid Kubernetes node name")
        roles[role] = node
    if not roles:
        raise UserError(f"{source}: `roles:` is empty")
    seen: dict[str, str] = {}
    for role, node in roles.items():
        if node in seen:
            raise UserError(
                f"{source}: node {node} is mapped to both {seen[node]} and {role}; "
                f"a node carries one {NODE_ROLE_LABEL} label"
            )
        seen[node] = role
    return RoleMapping(roles)


@dataclass(frozen=True, order=True)
class LabelChange:
    """Set (``desired`` a role) or remove (``desired`` None) the role label of one node."""

    node: str
    current: str | None
    desired: str | None

    def describe(self) -> str:
        if self.desired is None:
            return f"{self.node}: remove {NODE_ROLE_LABEL}={self.current} (role mapped to another node)"
        if self.current is None:
            return f"{self.node}: add {NODE_ROLE_LABEL}={self.desired}"
        return f"{self.node}: change {NODE_ROLE_LABEL} {self.current} -> {self.desired}"

    def patch(self) -> dict[str, Any]:
        """A JSON merge patch touching only the role label (``None`` deletes it)."""
        return {"metadata": {"labels": {NODE_ROLE_LABEL: self.desired}}}


@dataclass(frozen=True)
class LabelPlan:
    changes: list[LabelChange] = field(default_factory=list)
    missing_nodes: dict[str, str] = field(default_factory=dict)  # role -> mapped node absent from the cluster
    unmapped_roles: dict[str, str] = field(default_factory=dict)  # node -> a role the mapping does not know

    @property
    def in_sync(self) -> bool:
        return not self.changes and not self.missing_nodes

    def problems(self) -> list[str]:
        lines = [
            f"{node}: node not found (mapped to role {role})"
            for role, node in sorted(self.missing_nodes.items())
        ]
        lines.extend(change.describe() for change in self.changes)
        return lines


def plan_labels(mapping: RoleMapping, nodes: Mapping[str, Mapping[str, str]]) -> LabelPlan:
    """What must change so every mapped node carries its role and no other node carries a mapped role."""
    changes: list[LabelChange] = []
    missing: dict[str, str] = {}
    for role, node in sorted(mapping.roles.items()):
        if node not in nodes:
            missing[role] = node
            continue
        current = nodes[node].get(NODE_ROLE_LABEL)
        if current != role:
            changes.append(LabelChange(node, current, role))
    unmapped: dict[str, str] = {}
    for node, labels in sorted(nodes.items()):
        current = labels.get(NODE_ROLE_LABEL)
        if current is None or mapping.roles.get(current) == node or node in mapping.roles.values():
            continue
        if current in mapping.roles:
            changes.append(LabelChange(node, current, None))
        else:
            unmapped[node] = current
    return LabelPlan(sorted(changes), missing, unmapped)
