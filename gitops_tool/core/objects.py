"""Identity of Kubernetes objects and the order gitops-tool shows them in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]

# Cluster-scoped kinds the repository may render; every other kind is namespaced.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "APIService",
        "CSIDriver",
        "IngressClass",
        "RuntimeClass",
    }
)


@dataclass(frozen=True, order=True)
class ObjectRef:
    """What identifies one object: group, kind, namespace and name (the API version is not identity)."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind}/{where}"


def group_of(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` -> the core group ``""``."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def ref_of(obj: Mapping[str, Any], default_namespace: str = "") -> ObjectRef:
    """The identity of ``obj``; namespaced kinds without a namespace get ``default_namespace``."""
    meta = obj.get("metadata") or {}
    kind = str(obj.get("kind", ""))
    namespace = "" if kind in CLUSTER_SCOPED_KINDS else str(meta.get("namespace") or default_namespace)
    return ObjectRef(group_of(str(obj.get("apiVersion", ""))), kind, namespace, str(meta.get("name", "")))


def describe(obj: Mapping[str, Any]) -> str:
    """A short human name such as ``Deployment/airflow/airflow-scheduler-1``."""
    return str(ref_of(obj))


# kubectl apply order, so a rendered overlay reads top-down the way it is applied.
_KIND_ORDER = [
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "NetworkPolicy",
]
_KIND_RANK = {kind: rank for rank, kind in enumerate(_KIND_ORDER)}


def kind_rank(kind: str) -> int:
    """Position of ``kind`` in apply order (unknown kinds last)."""
    return _KIND_RANK.get(kind, len(_KIND_ORDER))


def sort_objects(objects: Iterable[Manifest]) -> list[Manifest]:
    """Apply order by kind, then namespace and name: stable whatever order the input had."""

    def key(obj: Manifest) -> tuple[int, str, str, str]:
        ref = ref_of(obj)
        return (_KIND_RANK.get(ref.kind, len(_KIND_ORDER)), ref.kind, ref.namespace, ref.name)

    return sorted(objects, key=key)
