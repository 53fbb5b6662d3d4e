"""``gitops-tool nodes check|apply``: live node role labels against the overlay's mapping."""

from __future__ import annotations

from dataclasses import dataclass

from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.kube.client import KubeClient, api_path
from gitops_tool.adapters.project import display_path, resolve_overlay
from gitops_tool.core.conventions import NODE_ROLES_FILE
from gitops_tool.core.documents import parse_documents
from gitops_tool.core.node_roles import LabelChange, LabelPlan, RoleMapping, parse_role_mapping
from gitops_tool.errors import UserError

NODES_PATH = api_path("", "v1", "nodes")


@dataclass(frozen=True)
class OverlayMapping:
    overlay: str  # as shown to users
    mapping: RoleMapping


def load_mapping(overlay: str, required: bool = True) -> OverlayMapping | None:
    path = resolve_overlay(overlay)
    label = display_path(path)
    file = path / NODE_ROLES_FILE
    if not file.is_file():
        if required:
            raise UserError(f"overlay {label} has no {NODE_ROLES_FILE} (the role -> node mapping)")
        return None
    source = f"{label}/{NODE_ROLES_FILE}"
    docs = parse_documents(read_text(file, "node roles file"), source)
    return OverlayMapping(label, parse_role_mapping(docs[0] if len(docs) == 1 else None, source))


def live_node_labels(client: KubeClient) -> dict[str, dict[str, str]]:
    return {
        str(node["metadata"]["name"]): dict(node["metadata"].get("labels") or {})
        for node in client.list(NODES_PATH)
    }


def plan(client: KubeClient, mapping: RoleMapping) -> LabelPlan:
    from gitops_tool.core.node_roles import plan_labels

    return plan_labels(mapping, live_node_labels(client))


def apply_changes(client: KubeClient, changes: list[LabelChange]) -> list[str]:
    """PATCH only the role label of each node; a merge patch with null removes it."""
    done = []
    for change in changes:
        client.patch(api_path("", "v1", "nodes", name=change.node), change.patch())
        done.append(change.describe())
    return done
