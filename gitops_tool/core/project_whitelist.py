"""The Argo CD project's resource whitelists following what the overlays render.

The project admits only the kinds the overlays render (core/argocd.py computes them): when a change
of the overlays (a component enabled or disabled) brings in a kind the project lacks, it is added;
kinds no overlay renders any more are taken out. Pure: rendered objects in, structural edits out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitops_tool.core import argocd
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit, SequenceInsert, SequenceRemove
from gitops_tool.errors import UserError

WhitelistKey = tuple[str, str, str]  # (group, kind, name); name is "" for namespaced kinds
CLUSTER_WHITELIST = "clusterResourceWhitelist"
NAMESPACED_WHITELIST = "namespaceResourceWhitelist"


def _entries(objects: Iterable[Manifest]) -> dict[str, set[WhitelistKey]]:
    objects = list(objects)
    return {
        CLUSTER_WHITELIST: {
            (e["group"], e["kind"], e.get("name", "")) for e in argocd.cluster_whitelist(objects)
        },
        NAMESPACED_WHITELIST: {(e["group"], e["kind"], "") for e in argocd.namespaced_whitelist(objects)},
    }


def _key(entry: Any) -> WhitelistKey:
    if not isinstance(entry, Mapping):
        return ("", "", "")
    return (str(entry.get("group", "")), str(entry.get("kind", "")), str(entry.get("name", "")))


def whitelist_edits(
    project: Mapping[str, Any],
    file: str,
    before: Iterable[Manifest],
    after: Iterable[Manifest],
    entry_value: Any,
) -> list[Edit]:
    """Add what the change brings in and the project lacks; drop what no overlay renders any more.

    ``before``/``after`` are every overlay's objects around the change; ``entry_value(key, name?)``
    builds a whitelist entry in the writer's style. Entries stay sorted by group, kind and name.
    """
    spec = project.get("spec")
    if not isinstance(spec, Mapping):
        raise UserError(f"{file}: an AppProject without spec")
    old, new = _entries(before), _entries(after)
    edits: list[Edit] = []
    for list_key in (CLUSTER_WHITELIST, NAMESPACED_WHITELIST):
        current = spec.get(list_key)
        if not isinstance(current, list):
            continue  # no whitelist of this kind: the project restricts nothing here
        keys = [_key(e) for e in current]
        gone = old[list_key] - new[list_key]
        for index in reversed(range(len(keys))):
            if keys[index] in gone:
                edits.append(SequenceRemove(file, ("spec", list_key), index))
                del keys[index]
        for added in sorted(new[list_key] - old[list_key] - set(keys)):
            index = sum(1 for k in keys if k < added)
            edits.append(SequenceInsert(file, ("spec", list_key), index, entry_value(added)))
            keys.insert(index, added)
    return edits
