"""Reading the live objects a drift audit needs, and nothing more, with GET and LIST only.

What is read: the kinds the desired objects have, plus the kinds people create by hand that can
be "extra" (``EXTRA_CANDIDATES``), in the desired objects' namespaces; namespaced kinds are listed
page by page per namespace (Pods are fetched one by one, as a namespace may hold thousands of
worker pods); cluster-scoped desired objects are fetched one by one and cluster-scoped candidates
are listed with the ownership label selector. Kind names are resolved with discovery of just the
group-versions involved.

An auditor never reports what it did not see: a kind (in a namespace) whose answer is not usable
(403, an HTTP error that outlasted the retries, a body that is not a Kubernetes list or discovery
document, a body cut off) becomes an ``UnreadableScope`` with the reason, never an empty list, so
its objects are ``unknown``, not ``missing`` and not "in sync". Failures of the connection itself
(401, unreachable, TLS, timeout) end the audit: nothing could be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from gitops_tool.adapters.kube.client import KubeClient, api_path
from gitops_tool.core import conventions as c
from gitops_tool.core.drift.model import UnreadableScope
from gitops_tool.core.objects import CLUSTER_SCOPED_KINDS, Manifest, group_of, ref_of
from gitops_tool.errors import ApiForbidden, ApiUnauthorized, ClusterAnswerError, ClusterApiError

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
            except (ClusterApiError, ClusterAnswerError) as exc:
                reason = _why(exc, kind, namespace)
                snapshot.unreadable.append(UnreadableScope(group, kind, namespace, reason))
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
            if found is not None and (found.get("metadata") or {}).get("name") != ref.name:
                raise client_answer_error(client, path, f"the answer is not {ref.kind} {ref.name}")
        except (ClusterApiError, ClusterAnswerError) as exc:
            # Only this object is unknown: a scope naming it alone.
            reason = _why(exc, ref.kind, ref.namespace)
            snapshot.unreadable.append(UnreadableScope(ref.group, ref.kind, ref.namespace, reason, ref.name))
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
        except (ClusterApiError, ClusterAnswerError) as exc:
            # Extras of the kind go unseen; desired objects of the kind were fetched one by one above.
            snapshot.unreadable.append(UnreadableScope(group, kind, "", _why(exc, kind, "")))
    if want_nodes:
        progress("listing Nodes")
        try:
            snapshot.nodes = client.list(api_path("", "v1", "nodes"))
        except (ClusterApiError, ClusterAnswerError) as exc:
            snapshot.nodes_unreadable = _why(exc, "Node", "")
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
        try:
            listing = client.discover(group, version)
        except (ClusterApiError, ClusterAnswerError) as exc:
            for kind in sorted(kinds):
                snapshot.unreadable.append(UnreadableScope(group, kind, "", _why(exc, kind, "")))
            continue
        if listing is None:
            continue  # the server does not serve this API (a Status 404): none of its objects exist
        for entry in listing:
            name = str(entry.get("name", ""))
            kind = str(entry.get("kind", ""))
            if "/" in name or kind not in kinds or (group, kind) in found:
                continue
            found[(group, kind)] = Resource(group, version, kind, name, bool(entry.get("namespaced")))
    return found


def _why(exc: ClusterApiError | ClusterAnswerError, kind: str, namespace: str) -> str:
    """Why a scope is unknown, in a few words (the server and path are in the report's context)."""
    where = f" in {namespace}" if namespace else ""
    if isinstance(exc, ClusterAnswerError):
        return f"unreadable answer for {kind}{where}: {exc.reason}"
    if isinstance(exc, ApiUnauthorized):
        raise exc  # the credentials were rejected: nothing at all can be read
    if isinstance(exc, ApiForbidden):
        return f"forbidden: the auditor may not read {kind}{where}"
    return f"could not read {kind}{where}: {exc.message.rsplit('): ', 1)[-1]}"


def client_answer_error(client: KubeClient, path: str, reason: str) -> ClusterAnswerError:
    return ClusterAnswerError(f"cluster {client.server} ({path}): unusable answer: {reason}", reason, path)
