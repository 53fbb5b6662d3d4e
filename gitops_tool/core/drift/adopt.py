"""``drift adopt``: live differences turned into overlay patches, so the live state becomes desired.

Pure planning: which differences may be adopted (refusals say why not, before anything is written),
the strategic-merge patch of each object (one per object, merged into an earlier adoption's patch of
the same object), the resource file of an adopted ``extra`` object, and the commit message.

A patch is built along each difference's path through the rendered object: maps become maps, an
item of a list Kubernetes merges by key (containers, env, volumes, ports, ...) becomes an item
carrying that key, and anything else (a scalar, a list of plain values, an atomic list) is the live
value whole. A value in Git but not live becomes ``null`` (a map key) or ``$patch: delete`` (a
keyed list item), which is how a strategic-merge patch removes them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_tool.core import conventions as c
from gitops_tool.core.drift.fieldsv1 import ManagerPolicy
from gitops_tool.core.drift.model import Difference, LiveOwner, owner_suffix
from gitops_tool.core.objects import ObjectRef
from gitops_tool.errors import UserError

ADOPTED_DIR = "adopted"
_ABSENT = object()

# The strategic-merge patch keys of the Kubernetes API (patchMergeKey), by list field name. Lists not
# named here are atomic for a strategic merge (replaced whole), tolerations among them.
_SMP_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "resourceClaims": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "hostAliases": "ip",
    "readinessGates": "conditionType",
    "topologySpreadConstraints": "topologyKey",
}
# Metadata the API server or controllers write: never part of an adopted resource file.
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",
)
_SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", c.ARGOCD_TRACKING_ID)


@dataclass(frozen=True)
class Selector:
    """``--only KIND/NAMESPACE/NAME`` (``KIND/NAME`` or ``KIND//NAME`` for cluster-scoped kinds)."""

    kind: str
    namespace: str
    name: str

    def matches(self, kind: str, namespace: str, name: str) -> bool:
        return (self.kind.lower(), self.namespace, self.name) == (kind.lower(), namespace, name)

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


def parse_selector(text: str) -> Selector:
    parts = text.split("/")
    if len(parts) == 2 and all(parts):
        return Selector(parts[0], "", parts[1])
    if len(parts) == 3 and parts[0] and parts[2]:
        return Selector(parts[0], parts[1], parts[2])
    raise UserError(f"--only {text!r}: give KIND/NAMESPACE/NAME (KIND/NAME for cluster-scoped kinds)")


@dataclass
class ObjectAdoption:
    """The adopted differences of one object and the patch (or resource file) that keeps them."""

    ref: ObjectRef
    title: str  # "Deployment airflow/airflow-scheduler-1"
    differences: list[tuple[tuple[Any, ...], Difference]] = field(default_factory=list)
    patch: dict[str, Any] = field(default_factory=dict)
    extra: bool = False  # a new resource file, not a patch
    owner: LiveOwner | None = None  # an extra object's last writer


# --- refusals ------------------------------------------------------------------------------------------


def refuse_difference(  # noqa: PLR0917 - one difference and what it is judged against
    ref: ObjectRef,
    title: str,
    path: tuple[Any, ...],
    difference: Difference,
    policy: ManagerPolicy,
    autoscalers: Mapping[tuple[str, str, str], str],
) -> str | None:
    """Why this difference cannot be adopted, as one line; None when it can."""
    if ref.kind == "Secret" and ref.group == "" and path and path[0] in ("data", "stringData"):
        return (
            f"{title} {difference.path}: Secret data is never written to Git; change the value in the "
            "cluster (`gitops-tool secrets rotate` for airflow-secrets) or in your secret store, "
            "and leave it out of the adoption (--only)"
        )
    if generated(ref) and path and path[0] in ("data", "binaryData"):
        generator = "configMapGenerator" if ref.kind == "ConfigMap" else "secretGenerator"
        return (
            f"{title} {difference.path}: the object comes from a {generator} (its name "
            "carries the hash of its content, so a patch cannot keep the live name); change the "
            "generator's value in the overlay instead, and the name and the workloads using it follow"
        )
    owner = difference.live_owner
    if owner is not None and not policy.is_applier(owner.manager) and not policy.is_imperative(owner.manager):
        return (
            f"{title} {difference.path} is owned by the controller {owner.manager} ({owner.operation}); "
            "a controller's field is not configuration to adopt"
        )
    if path == ("spec", "replicas"):
        scaler = autoscalers.get((ref.kind, ref.namespace, ref.name))
        if scaler is not None:
            return (
                f"{title} /spec/replicas is set by HorizontalPodAutoscaler {scaler}; "
                "change its minReplicas/maxReplicas instead"
            )
    return None


# kustomize's name suffix for generated ConfigMaps and Secrets: 10 characters of a hex hash with
# 0, 1, 3, a and e replaced (api/hasher.encode), so it never spells a word.
_GENERATED_NAME = re.compile(r"-[bcdfghkmt2456789]{10}$")


def generated(ref: ObjectRef) -> bool:
    """Whether ``ref`` names an object of a configMapGenerator or secretGenerator (hash-suffixed)."""
    return ref.kind in ("ConfigMap", "Secret") and ref.group == "" and bool(_GENERATED_NAME.search(ref.name))


def autoscaled(
    objects: Iterable[Mapping[str, Any]], default_namespace: str
) -> dict[tuple[str, str, str], str]:
    """(kind, namespace, name) of each workload a HorizontalPodAutoscaler scales -> the HPA's name."""
    out: dict[tuple[str, str, str], str] = {}
    for obj in objects:
        if obj.get("kind") != "HorizontalPodAutoscaler":
            continue
        meta = obj.get("metadata") or {}
        target = (obj.get("spec") or {}).get("scaleTargetRef") or {}
        namespace = str(meta.get("namespace") or default_namespace)
        out[(str(target.get("kind")), namespace, str(target.get("name")))] = str(meta.get("name"))
    return out


def unschedulable_replicas(obj: Mapping[str, Any], replicas: Any, nodes_per_role: int = 1) -> str | None:
    """Why ``replicas`` pods of workload ``obj`` cannot all be scheduled, or None.

    The schedulers of this architecture carry a required pod anti-affinity on
    ``kubernetes.io/hostname`` against their own labels and a required node affinity to the nodes of
    their roles (one node per role, node-roles.yaml): at most one pod per allowed node can run.
    """
    if not isinstance(replicas, int) or replicas <= 1:
        return None
    template = (obj.get("spec") or {}).get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    affinity = (template.get("spec") or {}).get("affinity") or {}
    anti = (affinity.get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or []
    if not any(t.get("topologyKey") == "kubernetes.io/hostname" and _selects(t, labels) for t in anti):
        return None
    terms = (
        (affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    ).get("nodeSelectorTerms") or []
    roles: set[str] = set()
    for term in terms:
        for expression in term.get("matchExpressions") or []:
            if expression.get("key") == c.NODE_ROLE_LABEL and expression.get("operator") == "In":
                roles.update(str(v) for v in expression.get("values") or [])
    if not roles or not terms:
        return None
    room = len(roles) * nodes_per_role
    if replicas <= room:
        return None
    return (
        f"{replicas} replicas cannot all run: the required pod anti-affinity on kubernetes.io/hostname "
        f"allows one pod per node and the required node affinity allows {room} node(s) "
        f"({c.NODE_ROLE_LABEL} in {', '.join(sorted(roles))}); add a scheduler with "
        "`gitops-tool add-scheduler` instead"
    )


def _selects(term: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    selector = term.get("labelSelector") or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return bool(selector)


# --- patches -------------------------------------------------------------------------------------------


def patch_for(
    rendered: Mapping[str, Any],
    live: Mapping[str, Any],
    projected: Mapping[str, Any],
    paths: Iterable[tuple[Any, ...]],
) -> dict[str, Any]:
    """The strategic-merge patch that makes ``rendered`` carry the live values at ``paths``."""
    meta = rendered.get("metadata") or {}
    target: dict[str, Any] = {"name": meta.get("name")}
    if meta.get("namespace"):
        target["namespace"] = meta["namespace"]
    patch: dict[str, Any] = {"apiVersion": rendered.get("apiVersion"), "kind": rendered.get("kind")}
    patch["metadata"] = target
    for path in paths:
        _put(patch, rendered, live, projected, path)
    return patch


def _put(patch: dict[str, Any], rendered: Any, live: Any, projected: Any, path: tuple[Any, ...]) -> None:
    node: Any = patch
    d: Any = rendered
    lv: Any = live
    shown: Any = projected
    i = 0
    while i < len(path):
        part = path[i]
        last = i == len(path) - 1
        if not isinstance(part, str) or not isinstance(node, dict):
            return  # paths are built from maps and lists of the same object; defensive
        live_child = lv.get(part, _ABSENT) if isinstance(lv, Mapping) else _ABSENT
        if part == "metadata" and node is patch:
            node, d, lv, shown = patch["metadata"], _get(d, part), live_child, _get(shown, part)
            i += 1
            continue
        if last or live_child is _ABSENT:
            node[part] = None if live_child is _ABSENT else copy.deepcopy(live_child)
            return
        index = path[i + 1] if i + 1 < len(path) else None
        if isinstance(index, int) and isinstance(live_child, list):
            probe = _item(_get(shown, part), index) or _item(_get(d, part), index)
            key = _smp_key(part, probe)
            if key is None or not isinstance(probe, Mapping) or probe.get(key) is None:
                node[part] = copy.deepcopy(live_child)  # an atomic list: the live list whole
                return
            wanted = probe[key]
            items = node.setdefault(part, [])
            item = next((x for x in items if isinstance(x, dict) and x.get(key) == wanted), None)
            live_item = next((x for x in live_child if isinstance(x, Mapping) and x.get(key) == wanted), None)
            if item is None:
                item = {key: wanted}
                items.append(item)
            if i + 1 == len(path) - 1 or live_item is None:
                item.clear()
                if live_item is None:
                    item.update({"$patch": "delete", key: wanted})
                else:
                    item.update(copy.deepcopy(dict(live_item)))
                return
            d_item = next(
                (x for x in (_get(d, part) or []) if isinstance(x, Mapping) and x.get(key) == wanted), None
            )
            node, d, lv, shown = item, d_item, live_item, _item(_get(shown, part), index)
            i += 2
            continue
        node = node.setdefault(part, {})
        d, lv, shown = _get(d, part), live_child, _get(shown, part)
        i += 1


def _get(node: Any, key: str) -> Any:
    return node.get(key) if isinstance(node, Mapping) else None


def _item(items: Any, index: int) -> Any:
    return items[index] if isinstance(items, list) and 0 <= index < len(items) else None


def _smp_key(field_name: str, sample: Any) -> str | None:
    if field_name == "ports" and isinstance(sample, Mapping):
        return "containerPort" if "containerPort" in sample else ("port" if "port" in sample else None)
    return _SMP_KEYS.get(field_name)


def merge_patches(old: Mapping[str, Any], new: Mapping[str, Any], key_field: str = "") -> dict[str, Any]:
    """``new`` laid over an earlier patch of the same object (maps merged, keyed items by key)."""
    out = copy.deepcopy(dict(old))
    for key, value in new.items():
        before = out.get(key)
        if isinstance(before, dict) and isinstance(value, dict):
            out[key] = merge_patches(before, value, key)
        elif isinstance(before, list) and isinstance(value, list):
            sample = next((x for x in value if isinstance(x, Mapping)), None)
            merge_key = _smp_key(key, sample) if sample is not None else None
            out[key] = _merge_items(before, value, merge_key) if merge_key else copy.deepcopy(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_items(old: list[Any], new: list[Any], key: str) -> list[Any]:
    merged = [copy.deepcopy(x) for x in old]
    for item in new:
        at = next(
            (
                i
                for i, x in enumerate(merged)
                if isinstance(x, Mapping) and isinstance(item, Mapping) and x.get(key) == item.get(key)
            ),
            None,
        )
        if at is None or not isinstance(item, Mapping) or "$patch" in item or "$patch" in merged[at]:
            if at is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[at] = copy.deepcopy(item)
        else:
            merged[at] = merge_patches(merged[at], item)
    return merged


def resource_from_live(live: Mapping[str, Any]) -> dict[str, Any]:
    """An ``extra`` live object as a resource file: without status and server metadata, with this
    repository's ownership labels."""
    out = {k: copy.deepcopy(v) for k, v in live.items() if k != "status"}
    meta = dict(out.get("metadata") or {})
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _SERVER_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    meta["labels"] = {**(meta.get("labels") or {}), **c.OWNERSHIP_LABELS}
    out["metadata"] = meta
    return out


def file_name(ref: ObjectRef) -> str:
    """``adopted/<kind>-<namespace>-<name>.yaml`` (no namespace part for cluster-scoped kinds)."""
    parts = [ref.kind, ref.namespace, ref.name] if ref.namespace else [ref.kind, ref.name]
    slug = "-".join(re.sub(r"[^a-z0-9.-]+", "-", p.lower()) for p in parts)
    return f"{ADOPTED_DIR}/{slug}.yaml"


def file_header(adoption: ObjectAdoption) -> str:
    what = "resource" if adoption.extra else "patch"
    return (
        f"# Adopted from the live cluster by `gitops-tool drift adopt` ({what} of {adoption.title}).\n"
        "# Edit it like any other file of the overlay; a later adoption of this object merges into it.\n"
    )


# --- commit message ------------------------------------------------------------------------------------


def commit_message(
    overlay: str, adoptions: Sequence[ObjectAdoption], files: Mapping[str, str], subject: str | None
) -> str:
    count = sum(max(len(a.differences), 1) for a in adoptions)
    head = subject or f"{overlay}: adopt {count} live change(s) in {len(adoptions)} object(s)"
    lines = [head, "", "Adopted with `gitops-tool drift adopt` (live owner and time from managedFields):"]
    for adoption in adoptions:
        lines.append(f"- {adoption.title} -> {files[adoption.title]}")
        if adoption.extra:
            lines.append(f"  - whole object (extra): {describe_owner(adoption.owner)}")
        for _, difference in adoption.differences:
            lines.append(f"  - {difference.path}: {describe_owner(difference.live_owner)}")
    return "\n".join(lines) + "\n"


def describe_owner(owner: LiveOwner | None) -> str:
    if owner is None:
        return owner_suffix(None)
    operation = f" ({owner.operation})" if owner.operation else ""
    return owner.suffix() + operation
