"""Argo CD objects of this repository, built as data: the overlay Application and the project whitelist.

The shipped ``argocd/applications/<overlay>.yaml`` files and ``gitops-tool argocd app`` both come
from ``application()``; a test keeps the two equal, so drift (which reads ``ignoreDifferences`` from
the shipped file) and every fork see the same rules.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gitops_tool.core.conventions import NAMESPACE
from gitops_tool.core.objects import CLUSTER_SCOPED_KINDS, Manifest, group_of
from gitops_tool.core.redact import mask_url
from gitops_tool.errors import UserError

API_VERSION = "argoproj.io/v1alpha1"
ARGOCD_NAMESPACE = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
UPSTREAM_REPO_URL = "https://github.com/airflow-gitops/gitops-tool.git"

PROJECT_NAME = "airflow"
# Both overlays' Applications share one name: the root app enables one at a time, and switching the
# overlay changes the source path of the same Application, so Argo CD updates the objects the two
# layouts share (Namespace, PVCs, PostgreSQL) in place instead of deleting and re-creating them.
APPLICATION_NAME = "airflow"
# Deleting the Application deletes what it deployed (Argo CD's cascading-delete finalizer).
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"

SYNC_OPTIONS = (
    # The namespace exists before the first wave even when the cluster is new.
    "CreateNamespace=true",
    # Server-side apply: no 256 KiB last-applied annotation (Grafana dashboards are large ConfigMaps),
    # field ownership in managedFields (drift reads it), server defaults never show as differences.
    "ServerSideApply=true",
    # Fields listed in ignoreDifferences are left alone by sync and self-heal, not only hidden.
    "RespectIgnoreDifferences=true",
    # Prune only after every wave is applied and healthy: when the overlay switches, the old layout's
    # leftovers go after the new one runs.
    "PruneLast=true",
    # A resource another Application already tracks fails the sync instead of being fought over.
    "FailOnSharedResource=true",
)

# The one source of truth for what neither Argo CD nor `gitops-tool drift` reports as a difference.
# `kubectl rollout restart` and Argo CD's own "restart" action stamp this annotation on the pod
# template: an operation, not configuration. Self-heal removing it would restart the pods again.
# Scheduler replicas are deliberately not ignored: `kubectl scale` on a scheduler is drift.
RESTARTED_AT_POINTER = "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"
IGNORE_DIFFERENCES: tuple[Mapping[str, Any], ...] = tuple(
    {"group": "apps", "kind": kind, "jsonPointers": [RESTARTED_AT_POINTER]}
    for kind in ("Deployment", "StatefulSet", "DaemonSet")
)

RETRY = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HTTPS_RE = re.compile(r"^https://(?P<host>[A-Za-z0-9.-]+(?::\d+)?)/(?P<path>[A-Za-z0-9._~/-]+)$")
_SSH_RE = re.compile(
    r"^(?:ssh://[A-Za-z0-9._-]+@[A-Za-z0-9.-]+(?::\d+)?/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)[A-Za-z0-9._~/-]+$"
)
_REVISION_RE = re.compile(r"^[A-Za-z0-9._/-]+$")


def overlay_path(overlay_name: str) -> str:
    """Where Argo CD finds an overlay in the repository (``spec.source.path``)."""
    return f"overlays/{overlay_name}"


def check_repo_url(url: str) -> str:
    """``url`` if Argo CD can clone it as a public or credential-configured repository.

    The message never repeats credentials a URL carries (userinfo, query, fragment are masked):
    they would end up in logs.
    """
    authority = url.split("://", 1)[-1].split("/", 1)[0]
    userinfo = authority.rpartition("@")[0]
    if userinfo and (url.startswith(("https://", "http://")) or ":" in userinfo):
        raise UserError(
            "--repo-url must not carry credentials; add them to Argo CD as a repository secret instead"
        )
    if _HTTPS_RE.match(url) or _SSH_RE.match(url):
        return url
    masked = mask_url(url)
    shown = masked if len(masked) <= 200 else masked[:200] + "..."
    raise UserError(
        f"invalid --repo-url {shown!r}: expected https://HOST/OWNER/REPO(.git) or git@HOST:OWNER/REPO.git"
    )


def check_name(name: str, what: str = "--name") -> str:
    """A Kubernetes object name (DNS-1123 label: Application names end up in labels)."""
    if len(name) > 63 or not _NAME_RE.match(name):
        raise UserError(f"invalid {what} {name!r}: use at most 63 lowercase letters, digits and '-'")
    return name


def check_revision(revision: str) -> str:
    if not revision or not _REVISION_RE.match(revision) or ".." in revision:
        raise UserError(f"invalid --revision {revision!r}: give a branch, tag, commit SHA or HEAD")
    return revision


def application(
    overlay_name: str,
    repo_url: str = UPSTREAM_REPO_URL,
    revision: str = "HEAD",
    name: str = APPLICATION_NAME,
    project: str = PROJECT_NAME,
) -> Manifest:
    """The Argo CD Application that syncs ``overlays/<overlay_name>``: objects without a namespace go to
    ``airflow``; the infrastructure objects name ``airflow-infra`` themselves."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {
            "name": check_name(name),
            "namespace": ARGOCD_NAMESPACE,
            "finalizers": [RESOURCES_FINALIZER],
        },
        "spec": {
            "project": project,
            "source": {
                "repoURL": check_repo_url(repo_url),
                "targetRevision": check_revision(revision),
                "path": overlay_path(overlay_name),
            },
            "destination": {"server": IN_CLUSTER, "namespace": NAMESPACE},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": list(SYNC_OPTIONS),
                "retry": copy.deepcopy(RETRY),
            },
            "ignoreDifferences": [copy.deepcopy(dict(rule)) for rule in IGNORE_DIFFERENCES],
        },
    }


def project_for_repo(project: Manifest, repo_url: str) -> Manifest:
    """A copy of the shipped AppProject that accepts ``repo_url`` as its only source (for forks)."""
    forked = copy.deepcopy(project)
    forked.setdefault("spec", {})["sourceRepos"] = [check_repo_url(repo_url)]
    return forked


def cluster_whitelist(objects: Iterable[Manifest]) -> list[dict[str, str]]:
    """The exact cluster-scoped objects rendered: group, kind and name (AppProject syntax)."""
    found = {
        (group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind")), str(obj["metadata"]["name"]))
        for obj in objects
        if obj.get("kind") in CLUSTER_SCOPED_KINDS
    }
    return [{"group": g, "kind": k, "name": n} for g, k, n in sorted(found)]


def destinations(objects: Iterable[Manifest]) -> list[dict[str, str]]:
    """One destination per namespace the rendered objects land in (AppProject syntax); an object
    without a namespace lands in the Application's destination namespace."""
    found = {
        str((obj.get("metadata") or {}).get("namespace") or NAMESPACE)
        for obj in objects
        if obj.get("kind") not in CLUSTER_SCOPED_KINDS
    }
    return [{"server": IN_CLUSTER, "namespace": ns} for ns in sorted(found)]


def namespaced_whitelist(objects: Iterable[Manifest]) -> list[dict[str, str]]:
    """The namespaced kinds rendered (AppProject syntax)."""
    found = {
        (group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind")))
        for obj in objects
        if obj.get("kind") not in CLUSTER_SCOPED_KINDS
    }
    return [{"group": g, "kind": k} for g, k in sorted(found)]


# Where the repository keeps its Argo CD objects (relative to the repository root).
PROJECT_FILE = "argocd/projects/airflow.yaml"
APPLICATIONS_DIR = "argocd/applications"
