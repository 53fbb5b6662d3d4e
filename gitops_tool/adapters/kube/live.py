"""Reading the live objects a drift audit needs, and nothing more, with GET and LIST only.

What is read: the kinds the desired objects have, plus the kinds people create by hand that can
be "extra" (``EXTRA_CANDIDATES``), in the desired objects' namespaces; namespaced kinds are listed
page by page per namespace (Pods are fetched one by one, as a namespace may hold thousands of
worker pods); cluster-scoped desired objects are fetched one by one and cluster-scoped candidates
are listed with the ownership label selector. Kind names are resolved with discovery of just the
group-versions involved. A kind the auditor may not read (403) becomes an ``UnreadableScope``
instead of failing the whole audit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from gitops_tool.adapters.kube.client import ClusterApiError, KubeClient, api_path
from gitops_tool.core import conventions as c
from gitops_tool.core.drift.engine import UnreadableScope
from gitops_tool.core.objects import CLUSTER_SCOPED_KINDS, Manifest, group_of, ref_of

# Namespaced kinds that can be extra; the repository renders these and people hand-make them.
EXTRA_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("policy/v1", "PodDisruptionBudget"),
)
CLUSTER_EXTRA_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("storage.k8s.io/v1", "StorageClass"),
)
OWNERSHIP_SELECTOR = ",".join(f"{k}={v}" for k, v in c.OWNERSHIP_LABELS.items())
FETCH_ONE_BY_ONE = frozenset({"Pod"})

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool


@dataclass
class LiveSnapshot:
    objects: list[Manifest] = field(default_factory=list)
    unreadable: list[UnreadableScope] = field(default_factory=list)
    nodes: list[Manifest] | None = None
    nodes_unreadable: str | None = None


def read_live(
    client: KubeClient,
    desired: Sequence[Manifest],
    default_namespace: str,
    want_nodes: bool,
    progress: Progress = lambda _m: None,
) -> LiveSnapshot:
    snapshot = LiveSnapshot()
    refs = [ref_of(obj, default_namespace) for obj in desired]
    namespaces = sorted({r.namespace for r in refs if r.namespace})
    versions = {
        (
            group_of(str(o.get("apiVersion", ""))),
            str(o.get("apiVersion", "")).rsplit("/", 1)[-1],
            str(o.get("kind", "")),
        )
        for o in desired
    }
    wanted = {(group_of(gv), gv.rsplit("/", 1)[-1], kind) for gv, kind in EXTRA_CANDIDATES}
    cluster_wanted = {(group_of(gv), gv.rsplit("/", 1)[-1], kind) for gv, kind in CLUSTER_EXTRA_CANDIDATES}
    resources = _discover(client, versions | wanted | cluster_wanted, snapshot, progress)
    seen: set[tuple[str, str, str, str]] = set()

    def keep(items: Iterable[Manifest]) -> None:
        for item in items:
            ref = ref_of(item)
            key = (ref.group, ref.kind, ref.namespace, ref.name)
            if key not in seen:
                seen.add(key)
                snapshot.objects.append(item)

    listed_kinds = {
        (g, k) for g, _, k in versions if k not in CLUSTER_SCOPED_KINDS and k not in FETCH_ONE_BY_ONE
    }
    listed_kinds |= {(g, k) for g, _, k in wanted}
    for group, kind in sorted(listed_kinds):
        resource = resources.get((group, kind))
        if resource is None or not resource.namespaced:
            continue
        for namespace in namespaces:
            progress(f"listing {kind} in {namespace}")
            path = api_path(resource.group, resource.version, resource.plural, namespace)
            try:
                keep(client.list(path))
            except ClusterApiError as exc:
                if exc.status not in (403, 404):
                    raise
                if exc.status == 403:
                    snapshot.unreadable.append(
                        UnreadableScope(group, kind, namespace, _denied(kind, namespace))
                    )
    for ref in refs:
        resource = resources.get((ref.group, ref.kind))
        if resource is None or (resource.namespaced and ref.kind not in FETCH_ONE_BY_ONE):
            continue
        progress(f"reading {ref}")
        path = api_path(
            resource.group,
            resource.version,
            resource.plural,
            ref.namespace if resource.namespaced else "",
            ref.name,
        )
        try:
            found = client.get_or_none(path)
        except ClusterApiError as exc:
            if exc.status != 403:
                raise
            snapshot.unreadable.append(
                UnreadableScope(ref.group, ref.kind, ref.namespace, _denied(ref.kind, ref.namespace))
            )
            continue
        if found is not None:
            keep([found])
    for group, _version, kind in sorted(cluster_wanted):
        resource = resources.get((group, kind))
        if resource is None:
            continue
        progress(f"listing {kind} labelled {OWNERSHIP_SELECTOR}")
        try:
            keep(
                client.list(
                    api_path(resource.group, resource.version, resource.plural),
                    label_selector=OWNERSHIP_SELECTOR,
                )
            )
        except ClusterApiError as exc:
            if exc.status != 403:
                raise
            # Only extras go unseen; desired objects of the kind were fetched one by one above.
    if want_nodes:
        progress("listing Nodes")
        try:
            snapshot.nodes = list(client.list(api_path("", "v1", "nodes")))
        except ClusterApiError as exc:
            if exc.status != 403:
                raise
            snapshot.nodes_unreadable = _denied("Node", "")
    return snapshot


def _discover(
    client: KubeClient, wanted: set[tuple[str, str, str]], snapshot: LiveSnapshot, progress: Progress
) -> dict[tuple[str, str], Resource]:
    """Plural names of the wanted kinds, one discovery GET per group-version involved."""
    found: dict[tuple[str, str], Resource] = {}
    by_version: dict[tuple[str, str], set[str]] = {}
    for group, version, kind in wanted:
        by_version.setdefault((group, version), set()).add(kind)
    for (group, version), kinds in sorted(by_version.items()):
        progress(f"discovering {group or 'core'}/{version}")
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            listing = client.get(path)
        except ClusterApiError as exc:
            if exc.status == 404:
                continue  # the server does not serve this API: none of its objects can exist
            if exc.status != 403:
                raise
            for kind in kinds:
                snapshot.unreadable.append(UnreadableScope(group, kind, "", _denied(kind, "")))
            continue
        for entry in listing.get("resources") or []:
            name = str(entry.get("name", ""))
            kind = str(entry.get("kind", ""))
            if "/" in name or kind not in kinds or (group, kind) in found:
                continue
            found[(group, kind)] = Resource(group, version, kind, name, bool(entry.get("namespaced")))
    return found


def _denied(kind: str, namespace: str) -> str:
    where = f" in {namespace}" if namespace else ""
    return f"forbidden: the auditor may not read {kind}{where}"
