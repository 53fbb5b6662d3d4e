"""Desired against live: which resources are in sync, modified, missing or extra, and how.

The fast path compares normalised objects with ``==``; only objects that differ are projected a
second time with explanations and handed to DeepDiff (imported then, not before) for the
differing fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_tool.core import conventions as c
from gitops_tool.core.drift.attribution import Attributor, attribute_differences
from gitops_tool.core.drift.fieldsv1 import ManagerPolicy, owners_of
from gitops_tool.core.drift.ignore import IgnoreRule, apply_rules
from gitops_tool.core.drift.model import (
    MASK,
    Difference,
    DriftReport,
    LiveOwner,
    ResourceResult,
    Status,
    UnreadableScope,
)
from gitops_tool.core.drift.nodes import node_role_results
from gitops_tool.core.drift.normalise import (
    Explanation,
    live_matches,
    live_secret_as_stored,
    normalise_desired,
    project_live,
)
from gitops_tool.core.objects import CLUSTER_SCOPED_KINDS, Manifest, ObjectRef, group_of, kind_rank, ref_of
from gitops_tool.errors import ValidationInputError

# Live objects that are never "extra": created by controllers or the cluster, not by people.
NEVER_EXTRA_KINDS = frozenset(
    {"ReplicaSet", "Endpoints", "EndpointSlice", "Event", "ControllerRevision", "Lease", "Node"}
)
# KubernetesExecutor worker pods (Airflow's pod generator labels every worker pod with these).
WORKER_POD_LABELS = ("kubernetes_executor", "airflow-worker")
SECRET_PATH_ROOTS = frozenset({"data", "stringData"})


@dataclass
class DriftInput:
    desired: Sequence[Manifest]
    live: Sequence[Manifest]
    overlay: str | None = None
    ref: str | None = None
    namespace: str | None = None  # default namespace for desired objects that have none; a filter
    rules: Sequence[IgnoreRule] = ()
    policy: ManagerPolicy = field(default_factory=ManagerPolicy)
    unreadable: Sequence[UnreadableScope] = ()
    node_roles: Mapping[str, str] | None = None  # role -> node name
    nodes: Sequence[Manifest] | None = None  # live Nodes; None when not part of the live source
    nodes_unreadable: str | None = None  # why live Nodes could not be read (their results are unknown)
    attribute: bool = True  # each difference's live owner from managedFields


def compare(inp: DriftInput) -> DriftReport:
    report = DriftReport(inp.overlay, inp.ref)
    report.unknown_scopes = list(dict.fromkeys(inp.unreadable))
    desired, hooks = _index(inp.desired, inp.namespace or "", "desired manifests")
    report.hooks_skipped = hooks
    live_objects = [
        live_secret_as_stored(o)
        for o in inp.live
        if not (o.get("kind") == "Node" and group_of(str(o.get("apiVersion"))) == "")
    ]
    _refuse_duplicate_nodes(inp.nodes)
    live, _ = _index(live_objects, "", "live objects", skip_hooks=False)
    by_name: dict[tuple[str, str, str], list[ObjectRef]] = {}
    for ref in live:
        by_name.setdefault((ref.group, ref.kind, ref.name), []).append(ref)
    matched: set[ObjectRef] = set()
    for ref, obj in desired.items():
        if inp.namespace and ref.namespace and ref.namespace != inp.namespace:
            continue
        live_ref = _match(ref, live, by_name)
        seen = live_ref or ref
        scope = next(
            (s for s in inp.unreadable if s.covers(seen.group, seen.kind, seen.namespace, seen.name)), None
        )
        if live_ref is None:
            if scope is not None:
                report.resources.append(_result(obj, ref, Status.UNKNOWN, note=scope.reason))
            else:
                report.resources.append(_result(obj, ref, Status.MISSING))
            continue
        matched.add(live_ref)
        report.resources.append(compare_object(obj, live[live_ref], live_ref, inp, report.warnings))
    for ref, obj in live.items():
        if (
            ref not in matched
            and is_extra(obj)
            and not (inp.namespace and ref.namespace not in ("", inp.namespace))
        ):
            owner = Attributor(obj).object_owner() if inp.attribute else None
            report.resources.append(_result(obj, ref, Status.EXTRA, live_owner=owner))
    if inp.node_roles:
        if inp.nodes_unreadable:
            report.resources.extend(
                ResourceResult("v1", "Node", "", node, Status.UNKNOWN, note=inp.nodes_unreadable)
                for node in sorted(inp.node_roles.values())
            )
        elif inp.nodes is None:
            report.warnings.append("node role labels not checked: the live objects hold no Nodes")
        else:
            report.resources.extend(node_role_results(inp.node_roles, inp.nodes, inp.attribute))
    report.resources.sort(key=lambda r: (kind_rank(r.kind), r.kind, r.namespace, r.name))
    return report


def _refuse_duplicate_nodes(nodes: Sequence[Manifest] | None) -> None:
    seen: set[str] = set()
    for node in nodes or ():
        name = str((node.get("metadata") or {}).get("name", ""))
        if name in seen:
            raise ValidationInputError(f"live objects: Node {name} appears twice")
        seen.add(name)


def compare_object(
    desired: Manifest, live: Manifest, ref: ObjectRef, inp: DriftInput, warnings: list[str]
) -> ResourceResult:
    explained = explain_object(desired, live, ref, inp, warnings)
    if explained is None:
        return _result(desired, ref, Status.IN_SYNC, live=live)
    differences = tuple(d for _, d in explained.found)
    return _result(desired, ref, Status.MODIFIED, differences=differences, live=live)


@dataclass(frozen=True)
class Explained:
    """One differing object: both sides as compared, and each difference with its path."""

    desired: dict[str, Any]  # normalised
    projected: dict[str, Any]  # live, seen through the desired object
    found: list[tuple[tuple[Any, ...], Difference]]


def explain_object(
    desired: Manifest, live: Manifest, ref: ObjectRef, inp: DriftInput, warnings: list[str]
) -> Explained | None:
    """The differences of ``desired`` and ``live`` (attributed unless ``inp.attribute`` is off);
    None when they are in sync."""
    d_obj: Mapping[str, Any] = desired
    l_obj: Mapping[str, Any] = live
    if inp.rules:
        d_obj, l_obj = apply_rules(inp.rules, ref, desired, live, warnings)
    owners = owners_of((l_obj.get("metadata") or {}).get("managedFields"), inp.policy)
    nd = normalise_desired(d_obj)
    if live_matches(nd, l_obj, owners):  # the fast path: no projection built, stops at a difference
        return None
    explanation = Explanation()
    nl = project_live(nd, l_obj, owners, explanation)
    found = diff_paths(nd, nl, explanation, secret=ref.kind == "Secret" and ref.group == "")
    if not found:  # only possible if equality and DeepDiff disagree on types (1 vs 1.0)
        return None
    if inp.attribute:
        attributed = attribute_differences(found, live, nl)
        found = [(path, d) for (path, _), d in zip(found, attributed, strict=True)]
    return Explained(nd, nl, found)


def is_extra(obj: Manifest) -> bool:
    """Live and owned by this repository (labels or Argo CD tracking) and not made by a controller."""
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if kind in NEVER_EXTRA_KINDS or meta.get("ownerReferences") or c.ARGOCD_HOOK in annotations:
        return False
    if kind == "Pod" and any(label in labels for label in WORKER_POD_LABELS):
        return False
    if kind == "PersistentVolume":
        return False  # provisioned for a claim; the claim is what Git owns
    if kind == "ConfigMap" and meta.get("name") == "kube-root-ca.crt":
        return False
    owned = all(labels.get(k) == v for k, v in c.OWNERSHIP_LABELS.items())
    return owned or c.ARGOCD_TRACKING_ID in annotations


def diff_objects(
    nd: Mapping[str, Any], nl: Mapping[str, Any], explanation: Explanation, secret: bool
) -> list[Difference]:
    return [d for _, d in diff_paths(nd, nl, explanation, secret)]


def diff_paths(
    nd: Mapping[str, Any], nl: Mapping[str, Any], explanation: Explanation, secret: bool
) -> list[tuple[tuple[Any, ...], Difference]]:
    """The differing fields, each with its path as keys and list positions of ``nd``/``nl``."""
    from deepdiff import DeepDiff
    from deepdiff.helper import NotPresent

    tree = DeepDiff(nd, nl, view="tree", ignore_order=False)
    found: dict[tuple[Any, ...], Difference] = {}
    for levels in tree.values():
        for level in levels:
            path = tuple(level.path(output_format="list"))
            path = _cut_at_scalar_list(path, nd, nl)
            if path in found:
                continue
            desired = _at(nd, path)
            live = _at(nl, path)
            reason = _reason(path, desired, live, explanation)
            if desired is _MISSING_VALUE or isinstance(desired, NotPresent):
                desired = None
            if live is _MISSING_VALUE or isinstance(live, NotPresent):
                live = None
            if secret and path and path[0] in SECRET_PATH_ROOTS:
                desired = MASK if desired is not None else None
                live = MASK if live is not None else None
                if desired is not None and live is not None:
                    reason = "secret value differs (values hidden)"
            found[path] = Difference(pointer(path), desired, live, reason)
    return [
        (p, found[p])
        for p in sorted(found, key=lambda p: [str(x).zfill(8) if isinstance(x, int) else str(x) for x in p])
    ]


_MISSING_VALUE = object()


def _at(obj: Any, path: Sequence[Any]) -> Any:
    for part in path:
        if (isinstance(obj, dict) and part in obj) or (
            isinstance(obj, list) and isinstance(part, int) and part < len(obj)
        ):
            obj = obj[part]
        else:
            return _MISSING_VALUE
    return obj


def _cut_at_scalar_list(path: tuple[Any, ...], nd: Any, nl: Any) -> tuple[Any, ...]:
    """Lists of plain values (command, args, accessModes) are reported whole, not item by item."""
    d, lv = nd, nl
    for i, part in enumerate(path):
        if isinstance(part, int) and _scalar_list(d if isinstance(d, list) else lv):
            return path[:i]
        d = d[part] if isinstance(d, (dict, list)) and _has(d, part) else None
        lv = lv[part] if isinstance(lv, (dict, list)) and _has(lv, part) else None
    return path


def _has(container: Any, part: Any) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(part, int) and part < len(container)


def _scalar_list(value: Any) -> bool:
    # None items are placeholders for list items missing live, not values.
    return (
        isinstance(value, list)
        and any(v is not None for v in value)
        and all(not isinstance(v, (dict, list)) for v in value)
    )


def _reason(path: tuple[Any, ...], desired: Any, live: Any, explanation: Explanation) -> str:
    for cut in range(len(path), 0, -1):
        why = explanation.reasons.get(path[:cut])
        if why is not None and (desired is _MISSING_VALUE or cut < len(path)):
            return why
    if live is _MISSING_VALUE or live is None:
        return "in Git, not live"
    if desired is _MISSING_VALUE:
        return "only live"
    return "changed"


def pointer(path: Iterable[Any]) -> str:
    """RFC 6901 JSON Pointer of ``path``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _index(
    objects: Iterable[Manifest], default_ns: str, what: str, skip_hooks: bool = True
) -> tuple[dict[ObjectRef, Manifest], int]:
    out: dict[ObjectRef, Manifest] = {}
    hooks = 0
    for obj in objects:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if skip_hooks and c.ARGOCD_HOOK in annotations:
            hooks += 1  # Argo CD leaves hooks out of sync status; so do we
            continue
        ref = ref_of(obj, default_ns)
        if ref in out:
            raise ValidationInputError(f"{what}: {ref} appears twice")
        out[ref] = obj
    return out, hooks


def _match(
    ref: ObjectRef,
    live: Mapping[ObjectRef, Manifest],
    by_name: Mapping[tuple[str, str, str], list[ObjectRef]],
) -> ObjectRef | None:
    if ref in live:
        return ref
    if ref.namespace or ref.kind in CLUSTER_SCOPED_KINDS:
        return None
    # A desired object without a namespace (rendered without one, like `kubectl apply -f`) matches
    # the live object of that name when there is exactly one.
    candidates = by_name.get((ref.group, ref.kind, ref.name), [])
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        raise ValidationInputError(
            f"{ref} has no namespace and live objects of that name exist in several namespaces; "
            "pass --namespace"
        )
    return None


def _result(
    obj: Manifest,
    ref: ObjectRef,
    status: Status,
    *,
    differences: tuple[Difference, ...] = (),
    note: str = "",
    live: Manifest | None = None,
    live_owner: LiveOwner | None = None,
) -> ResourceResult:
    namespace = ref.namespace
    if not namespace and live is not None and ref.kind not in CLUSTER_SCOPED_KINDS:
        namespace = str((live.get("metadata") or {}).get("namespace") or "")
    return ResourceResult(
        str(obj.get("apiVersion", "")), ref.kind, namespace, ref.name, status, differences, note, live_owner
    )
