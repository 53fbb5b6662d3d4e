"""What the manifest tests read from the rendered overlays: workloads, placement, resources.

Placement is computed from the objects alone, as the Kubernetes scheduler would filter nodes: the
overlay's node-roles.yaml gives each node its `node-role.kubernetes.io/airflow` label, then
nodeSelector and required node affinity narrow each workload's nodes, and required pod
(anti-)affinity narrows them further against the other workloads' placements until nothing changes.
"""

from __future__ import annotations

import atexit
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from gitops_tool.core.conventions import NODE_ROLE_LABEL, NODE_ROLES_FILE
from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.images import containers, embedded_pods, pod_spec
from gitops_tool.core.objects import Manifest, describe
from gitops_tool.services.rendering import render_overlay
from tests.conftest import REPO_ROOT

HA = "overlays/three-node-ha"
LEGACY = "overlays/single-node-legacy"
OVERLAYS = (HA, LEGACY)
HOSTNAME_LABEL = "kubernetes.io/hostname"

# Kinds whose pods run for good (counted against node capacity); Jobs and bare Pods run to completion.
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet")


@cache
def rendered(overlay: str) -> tuple[Manifest, ...]:
    """The overlay rendered by the real pinned kustomize, parsed (once per test process)."""
    result = render_overlay(str(REPO_ROOT / overlay), root=REPO_ROOT)
    return tuple(parse_manifests(result.text, overlay))


MANIFEST_FOLDERS = ("base", "overlays", "policies", "argocd", "components", "schemas")


@cache
def backup_enabled_repo(retention: int | None = None) -> Path:
    """A Git repository holding a copy of the manifests with `gitops-tool backup enable --all`
    (with ``--retention`` when given) committed by the real command (once per test process,
    removed at exit)."""
    from gitops_tool.core.backup_component import Settings
    from gitops_tool.services.backup_component import ComponentOptions, enable

    folder = Path(tempfile.mkdtemp(prefix="gitops-backup-enabled-"))
    atexit.register(shutil.rmtree, folder, True)
    for name in MANIFEST_FOLDERS:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, folder / name)
    for command in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "Test"],
        ["config", "user.email", "test@example.com"],
        ["add", "-A"],
        ["commit", "-q", "-m", "manifests"],
    ):
        subprocess.run(["git", *command], cwd=folder, check=True, capture_output=True)
    # Called as a library: once its commit is made the service ignores Ctrl-C until the command has
    # reported it, and the console entry point puts the handlers back; here the helper does.
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        enable(Settings(retention=retention), ComponentOptions(), start=folder)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return folder


@cache
def rendered_with_backup(overlay: str, retention: int | None = None) -> tuple[Manifest, ...]:
    """``overlay`` rendered with the backup component enabled in it (see backup_enabled_repo)."""
    repo = backup_enabled_repo(retention)
    result = render_overlay(str(repo / overlay), root=repo)
    return tuple(parse_manifests(result.text, overlay))


def find(objects: Iterable[Manifest], kind: str, name: str, namespace: str | None = None) -> Manifest:
    """The one object of ``kind`` named ``name``, or named ``name-<hash>`` when generated (in
    ``namespace`` when given: a name may exist in both namespaces)."""
    found = [
        o
        for o in objects
        if o["kind"] == kind
        and generated_name(o["metadata"]["name"]) == name
        and namespace in (None, o["metadata"].get("namespace"))
    ]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def generated_name(name: str) -> str:
    """``airflow-config-d69b26bh56`` -> ``airflow-config``: kustomize's content-hash suffix removed."""
    return re.sub(r"-[bcdfghjklmnpqrstvwxz2456789]{10}$", "", name)


def node_roles(overlay: str) -> dict[str, str]:
    """role -> node name, from the overlay's node-roles.yaml."""
    data = yaml.safe_load((REPO_ROOT / overlay / NODE_ROLES_FILE).read_text(encoding="utf-8"))
    roles: dict[str, str] = data["roles"]
    return roles


def node_labels(overlay: str) -> dict[str, dict[str, str]]:
    """Each node's labels as `gitops-tool nodes apply` sets them (plus the hostname label)."""
    return {node: {NODE_ROLE_LABEL: role, HOSTNAME_LABEL: node} for role, node in node_roles(overlay).items()}


def workloads(objects: Iterable[Manifest]) -> list[Manifest]:
    return [o for o in objects if pod_spec(o) is not None]


def pod_labels(obj: Manifest) -> dict[str, str]:
    if obj["kind"] == "Pod":
        labels: dict[str, str] = obj["metadata"].get("labels") or {}
        return labels
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    template: dict[str, str] = spec["template"]["metadata"].get("labels") or {}
    return template


def worker_templates(objects: Iterable[Manifest]) -> dict[str, Manifest]:
    """ConfigMap name -> the worker Pod its pod_template_file describes."""
    found: dict[str, Manifest] = {}
    for obj in objects:
        for pod in embedded_pods(obj):
            found[obj["metadata"]["name"]] = pod
    return found


# --- label selectors and node affinity -------------------------------------------------------------


def _expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = expr["key"], expr["operator"], expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    raise AssertionError(f"operator {op} not handled by the placement model")


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels AND matchExpressions) against a label set."""
    wanted = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in wanted.items()):
        return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or [])


def _node_term_matches(term: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    assert not term.get("matchFields"), "matchFields not handled by the placement model"
    return all(_expression_matches(e, labels) for e in term.get("matchExpressions") or [])


def fits_node(spec: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """nodeSelector and required node affinity (terms ORed, expressions ANDed)."""
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not required:
        return True
    return any(_node_term_matches(t, labels) for t in required["nodeSelectorTerms"])


def preferred_nodes(spec: Mapping[str, Any], nodes: Mapping[str, Mapping[str, str]]) -> set[str]:
    """Nodes matching the heaviest preferred node-affinity term."""
    preferred = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "preferredDuringSchedulingIgnoredDuringExecution"
    ) or []
    if not preferred:
        return set()
    best = max(preferred, key=lambda p: p["weight"])
    return {n for n, labels in nodes.items() if _node_term_matches(best["preference"], labels)}


def _pod_terms(spec: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    terms: list[Mapping[str, Any]] = ((spec.get("affinity") or {}).get(kind) or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or []
    for term in terms:
        assert term["topologyKey"] == HOSTNAME_LABEL, "only per-node (hostname) pod affinity is modelled"
    return terms


def _term_sees(term: Mapping[str, Any], own: str, other: str) -> bool:
    """Whether a pod (anti-)affinity term of a pod in namespace ``own`` selects pods of ``other``:
    its ``namespaces`` and ``namespaceSelector`` (on the name label) together, else its own namespace."""
    named = term.get("namespaces") or []
    selector = term.get("namespaceSelector")
    if not named and selector is None:
        return own == other
    return other in named or (
        selector is not None and selector_matches(selector, {"kubernetes.io/metadata.name": other})
    )


def placement(objects: Iterable[Manifest], nodes: Mapping[str, Mapping[str, str]]) -> dict[str, set[str]]:
    """Workload (``Kind/namespace/name``) -> the nodes its pods may run on."""
    loads = workloads(objects)
    specs = {describe(w): pod_spec(w) or {} for w in loads}
    labels = {describe(w): pod_labels(w) for w in loads}
    namespaces = {describe(w): str(w["metadata"].get("namespace", "")) for w in loads}
    placed = {key: {n for n, node in nodes.items() if fits_node(spec, node)} for key, spec in specs.items()}
    changed = True
    while changed:
        changed = False
        for key, spec in specs.items():
            allowed = set(placed[key])
            for term in _pod_terms(spec, "podAffinity"):
                peers = [
                    k
                    for k in specs
                    if k != key
                    and _term_sees(term, namespaces[key], namespaces[k])
                    and selector_matches(term["labelSelector"], labels[k])
                ]
                if peers:
                    allowed &= set().union(*(placed[p] for p in peers))
                else:
                    # The scheduler lets the first pod matching its own affinity term through.
                    assert selector_matches(term["labelSelector"], labels[key]), (
                        f"{key}: podAffinity to nothing"
                    )
            for term in _pod_terms(spec, "podAntiAffinity"):
                for peer in specs:
                    pinned = len(placed[peer]) == 1
                    if (
                        peer != key
                        and pinned
                        and _term_sees(term, namespaces[key], namespaces[peer])
                        and selector_matches(term["labelSelector"], labels[peer])
                    ):
                        allowed -= placed[peer]
            if allowed != placed[key]:
                placed[key] = allowed
                changed = True
    return placed


def placement_matrix(overlay: str, objects: tuple[Manifest, ...] | None = None) -> dict[str, set[str]]:
    """node -> names of the workloads that run there (DaemonSets on each of their nodes).

    ``objects``: another render of ``overlay`` (default: the shipped one). Fails when a non-DaemonSet
    workload could land on more than one node, or on none.
    """
    objects = rendered(overlay) if objects is None else objects
    nodes = node_labels(overlay)
    placed = placement(objects, nodes)
    matrix: dict[str, set[str]] = {node: set() for node in nodes}
    for obj in workloads(objects):
        where = placed[describe(obj)]
        if obj["kind"] != "DaemonSet":
            assert len(where) == 1, f"{describe(obj)} may run on {sorted(where) or 'no node'}"
        for node in where:
            matrix[node].add(obj["metadata"]["name"])
    return matrix


# --- resources ---------------------------------------------------------------------------------------

_BINARY: dict[str, int] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL: dict[str, int | Fraction] = {
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "m": Fraction(1, 1000),
}


def quantity(value: str | int | float) -> Fraction:
    """A Kubernetes resource quantity as an exact number (cores or bytes)."""
    text = str(value)
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return Fraction(text[: -len(suffix)]) * factor
    for suffix, scale in _DECIMAL.items():
        if text.endswith(suffix):
            return Fraction(text[: -len(suffix)]) * scale
    return Fraction(text)


@dataclass(frozen=True)
class Resources:
    cpu: Fraction = Fraction(0)
    memory: Fraction = Fraction(0)

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory)

    def scaled(self, factor: int) -> Resources:
        return Resources(self.cpu * factor, self.memory * factor)


def _container_resources(container: Mapping[str, Any], which: str) -> Resources:
    values = (container.get("resources") or {}).get(which) or {}
    return Resources(quantity(values.get("cpu", 0)), quantity(values.get("memory", 0)))


def pod_resources(spec: Mapping[str, Any], which: str = "requests") -> Resources:
    """A pod's effective requests (or limits): its containers' sum, or its largest init container."""
    main = Resources()
    for container in spec.get("containers") or []:
        main = main + _container_resources(container, which)
    for init in spec.get("initContainers") or []:
        own = _container_resources(init, which)
        main = Resources(max(main.cpu, own.cpu), max(main.memory, own.memory))
    return main


def node_load(overlay: str, which: str = "requests") -> dict[str, Resources]:
    """node -> summed requests (or limits) of the long-running pods placed on it."""
    objects = rendered(overlay)
    nodes = node_labels(overlay)
    placed = placement(objects, nodes)
    load = {node: Resources() for node in nodes}
    for obj in workloads(objects):
        if obj["kind"] not in LONG_RUNNING:
            continue
        replicas = 1 if obj["kind"] == "DaemonSet" else int(str(obj["spec"].get("replicas", 1)))
        per_pod = pod_resources(pod_spec(obj) or {}, which).scaled(replicas)
        for node in placed[describe(obj)]:
            load[node] = load[node] + per_pod
    return load


def all_containers(objects: Iterable[Manifest]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(owner, pod spec, container) for every container, worker pod templates included."""
    found: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for obj in objects:
        pods: list[tuple[str, Manifest]] = [(describe(obj), obj)]
        pods += [(f"{describe(obj)} (worker pod template)", pod) for pod in embedded_pods(obj)]
        for owner, pod in pods:
            spec = pod_spec(pod)
            for container in containers(spec) if spec else ():
                found.append((f"{owner} [{container['name']}]", spec or {}, container))
    return found


def repo_file(path: str) -> Path:
    return REPO_ROOT / path
