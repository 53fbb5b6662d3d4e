"""Turning desired manifests into the objects a real API server returns after a GitOps sync.

``simulate_apply(obj)`` is what ``kubectl get -o json`` shows after Argo CD (server-side apply,
manager ``argocd-controller``) or ``kubectl apply`` (client-side, ``kubectl-client-side-apply`` and
the last-applied annotation) created ``obj`` and the controllers ran: server defaults (as the
apiserver's defaulting functions set them, e.g. ``pkg/apis/core/v1/defaults.go``), canonical
quantities, base64 Secret data, uid / resourceVersion / generation / creationTimestamp,
managedFields in FieldsV1 (the applier's and the controllers' status entries) and status.
The peer fixtures in tests/fixtures/peer-diff-cases show the same shapes captured from clusters.

``cluster_state(desired)`` adds what a running cluster also holds next to them: ReplicaSets and
Pods of Deployments, Endpoints/EndpointSlices, provisioned PVs, Events, ``kube-root-ca.crt`` and
the namespace's default ServiceAccount, labelled Nodes, and KubernetesExecutor worker pods.

Imperative changes (``kubectl_set_image``, ``kubectl_scale``, ``kubectl_edit_data``,
``kubectl_set_env``, ``kubectl_label``) change a live object and record the field manager the way
kubectl does (manager ``kubectl-set``/``kubectl-scale``/..., operation Update, ownership moved).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

from gitops_tool.core import conventions as c
from gitops_tool.core.drift.mergekeys import key_spec
from gitops_tool.core.drift.quantity import server_form

APPLY_TIME = "2026-11-20T10:00:00Z"
LATER = "2026-11-26T09:30:00Z"
_QUANTITY_MAPS = {"limits", "requests", "hard", "capacity"}
_POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def _uid(*parts: str) -> str:
    return str(uuid.UUID(hashlib.md5("/".join(parts).encode()).hexdigest()))  # noqa: S324 - ids, not security


def _hash(*parts: str, size: int = 10) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, size * 2, 2))


# --- FieldsV1 of an applied object --------------------------------------------------------------


def fields_v1(value: Any, key: str = "") -> dict[str, Any]:
    """The FieldsV1 set server-side apply records for a manager that sent ``value``."""
    out: dict[str, Any] = {}
    for k, v in value.items():
        out[f"f:{k}"] = _field_node(v, k)
    return out


def _field_node(value: Any, key: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return fields_v1(value, key) if value and key not in ("selector",) else {}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        spec = key_spec(key, value[0])
        if spec is None:
            return {}  # atomic list: owned as a whole
        node: dict[str, Any] = {}
        for item in value:
            ident = {name: item.get(name, default) for name, default in spec if item.get(name, default) != ""}
            child = {".": {}, **fields_v1(item)}
            node["k:" + json.dumps(ident, separators=(",", ":"), sort_keys=True)] = child
        return node
    return {}


def _entry(  # noqa: PLR0917 - mirrors the managedFields entry's fields
    manager: str,
    operation: str,
    fields: dict[str, Any],
    api_version: str,
    time: str = APPLY_TIME,
    subresource: str | None = None,
) -> dict[str, Any]:
    entry = {
        "apiVersion": api_version,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "manager": manager,
        "operation": operation,
        "time": time,
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


# --- server defaults ------------------------------------------------------------------------------


def _quantities(value: Any, key: str = "", parent: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _quantities(v, k, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_quantities(v, key, parent) for v in value]
    if parent in _QUANTITY_MAPS or key == "sizeLimit":
        return server_form(value)
    return value


def _probe(probe: dict[str, Any]) -> None:
    probe.setdefault("failureThreshold", 3)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("timeoutSeconds", 1)
    if "httpGet" in probe:
        probe["httpGet"].setdefault("scheme", "HTTP")


def _container(container: dict[str, Any]) -> None:
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    latest = ":" not in tag or tag.endswith(":latest")
    container.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        if name in container:
            _probe(container[name])
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if field_ref is not None:
            field_ref.setdefault("apiVersion", "v1")
        resource_ref = (env.get("valueFrom") or {}).get("resourceFieldRef")
        if resource_ref is not None:
            resource_ref.setdefault("divisor", "0")


def _pod_spec(spec: dict[str, Any]) -> None:
    for name in ("containers", "initContainers"):
        for container in spec.get(name) or []:
            _container(container)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    if "serviceAccountName" in spec:
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
    for volume in spec.get("volumes") or []:
        for source in ("configMap", "secret"):
            if source in volume:
                volume[source].setdefault("defaultMode", 420)
        if "hostPath" in volume:
            volume["hostPath"].setdefault("type", "")
        if "persistentVolumeClaim" in volume:
            volume["persistentVolumeClaim"] = dict(volume["persistentVolumeClaim"])


def _template(template: dict[str, Any]) -> None:
    template.setdefault("metadata", {})["creationTimestamp"] = None
    _pod_spec(template.setdefault("spec", {}))


def _defaults(obj: dict[str, Any], node_ports: Iterable[int]) -> None:
    kind = obj["kind"]
    spec: dict[str, Any] = obj.get("spec") or {}
    if kind == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("revisionHistoryLimit", 10)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.get("type") == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {"maxSurge": "25%", "maxUnavailable": "25%"})
        _template(spec["template"])
    elif kind == "StatefulSet":
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        spec.setdefault(
            "persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"}
        )
        for claim in spec.get("volumeClaimTemplates") or []:
            claim.setdefault("apiVersion", "v1")
            claim.setdefault("kind", "PersistentVolumeClaim")
            claim.setdefault("metadata", {})["creationTimestamp"] = None
            claim["spec"].setdefault("volumeMode", "Filesystem")
            claim["status"] = {"phase": "Pending"}
        _template(spec["template"])
    elif kind == "DaemonSet":
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault(
            "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
        )
        _template(spec["template"])
    elif kind == "Job":
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        uid = obj["metadata"]["uid"]
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        labels = spec["template"].setdefault("metadata", {}).setdefault("labels", {})
        labels.update(
            {
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": obj["metadata"]["name"],
                "controller-uid": uid,
                "job-name": obj["metadata"]["name"],
            }
        )
        _template(spec["template"])
    elif kind == "Pod":
        _pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("nodeName", "node-1")
        tolerations = spec.setdefault("tolerations", [])
        for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            tolerations.append(
                {"effect": "NoExecute", "key": taint, "operator": "Exists", "tolerationSeconds": 300}
            )
        token = f"kube-api-access-{_hash(obj['metadata']['name'], size=5)}"
        spec.setdefault("volumes", []).append(
            {
                "name": token,
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                "name": "kube-root-ca.crt",
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace",
                                    }
                                ]
                            }
                        },
                    ],
                },
            }
        )
        for container in spec["containers"]:
            container.setdefault("volumeMounts", []).append(
                {
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "name": token,
                    "readOnly": True,
                }
            )
    elif kind == "Service":
        ports = iter(node_ports)
        name = obj["metadata"]["name"]
        ip = f"10.96.{int(_hash(name, size=2).encode().hex(), 16) % 250}.{len(name)}"
        if spec.get("clusterIP") != "None":
            spec.setdefault("clusterIP", ip)
        spec.setdefault("clusterIPs", [spec["clusterIP"]] if "clusterIP" in spec else [ip])
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port["port"])
            if spec["type"] in ("NodePort", "LoadBalancer"):
                port.setdefault("nodePort", next(ports))
        if spec["type"] == "LoadBalancer":
            spec.setdefault("externalTrafficPolicy", "Cluster")
            spec.setdefault("allocateLoadBalancerNodePorts", True)
    elif kind == "PersistentVolumeClaim":
        spec.setdefault("volumeMode", "Filesystem")
        spec.setdefault("storageClassName", "standard")
        spec.setdefault("volumeName", f"pvc-{_uid('pv', obj['metadata']['name'])}")
    elif kind == "PersistentVolume":
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
    elif kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
    elif kind == "PodDisruptionBudget":
        pass
    elif kind == "NetworkPolicy":
        spec.setdefault("policyTypes", ["Ingress"])


# --- status and the controllers' managedFields ------------------------------------------------------


def _status(obj: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    kind = obj["kind"]
    spec = obj.get("spec") or {}
    generation = obj["metadata"].get("generation", 1)
    if kind in ("Deployment", "StatefulSet"):
        n = spec.get("replicas", 1)
        status: dict[str, Any] = {
            "observedGeneration": generation,
            "replicas": n,
            "readyReplicas": n,
            "availableReplicas": n,
            "updatedReplicas": n,
        }
        if kind == "Deployment":
            replica_set = f"{obj['metadata']['name']}-{_hash(obj['metadata']['name'])}"
            status["conditions"] = [
                {
                    "lastTransitionTime": APPLY_TIME,
                    "lastUpdateTime": APPLY_TIME,
                    "message": "Deployment has minimum availability.",
                    "reason": "MinimumReplicasAvailable",
                    "status": "True",
                    "type": "Available",
                },
                {
                    "lastTransitionTime": APPLY_TIME,
                    "lastUpdateTime": APPLY_TIME,
                    "message": f'ReplicaSet "{replica_set}" has successfully progressed.',
                    "reason": "NewReplicaSetAvailable",
                    "status": "True",
                    "type": "Progressing",
                },
            ]
        else:
            revision = f"{obj['metadata']['name']}-{_hash(obj['metadata']['name'])}"
            status.update(
                {
                    "currentReplicas": n,
                    "currentRevision": revision,
                    "updateRevision": revision,
                    "collisionCount": 0,
                }
            )
        return status, {"f:status": {f"f:{k}": {} for k in status}}
    if kind == "DaemonSet":
        status = {
            "currentNumberScheduled": 3,
            "desiredNumberScheduled": 3,
            "numberAvailable": 3,
            "numberMisscheduled": 0,
            "numberReady": 3,
            "observedGeneration": generation,
            "updatedNumberScheduled": 3,
        }
        return status, {"f:status": {f"f:{k}": {} for k in status}}
    if kind == "PersistentVolumeClaim":
        status = {
            "accessModes": spec.get("accessModes", []),
            "capacity": spec["resources"]["requests"],
            "phase": "Bound",
        }
        return status, {
            "f:status": {"f:accessModes": {}, "f:capacity": {".": {}, "f:storage": {}}, "f:phase": {}}
        }
    if kind == "Service":
        return {"loadBalancer": {}}, None
    if kind == "Namespace":
        return {"phase": "Active"}, None
    if kind == "Pod":
        return {
            "phase": "Running",
            "hostIP": "192.168.10.11",
            "podIP": "10.244.1.17",
            "qosClass": "BestEffort",
            "startTime": APPLY_TIME,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": APPLY_TIME}],
        }, None
    if kind == "Job":
        return {"succeeded": 1, "completionTime": APPLY_TIME, "startTime": APPLY_TIME, "ready": 0}, None
    if kind == "PersistentVolume":
        return {"phase": "Bound", "lastPhaseTransitionTime": APPLY_TIME}, None
    return None, None


def simulate_apply(
    desired: dict[str, Any],
    *,
    manager: str = "argocd-controller",
    server_side: bool = True,
    namespace: str = c.NAMESPACE,
    node_ports: Iterable[int] = range(30080, 30200),
) -> dict[str, Any]:
    """The live form of ``desired`` after an apply by ``manager`` and the controllers (module doc).

    ``server_side=False`` is ``kubectl apply`` (client-side): an Update entry and the last-applied
    annotation instead of an Apply entry.
    """
    sent = copy.deepcopy(desired)
    if sent["kind"] not in _CLUSTER_SCOPED:
        sent["metadata"].setdefault("namespace", namespace)
    live = copy.deepcopy(sent)
    meta = live["metadata"]
    name = meta["name"]
    meta["uid"] = _uid(sent["kind"], meta.get("namespace", ""), name)
    meta["resourceVersion"] = str(100000 + int(_hash(sent["kind"], name, size=3).encode().hex(), 16) % 899999)
    meta["creationTimestamp"] = APPLY_TIME
    if sent["kind"] in _POD_TEMPLATE_KINDS or sent["kind"] in ("PodDisruptionBudget",):
        meta["generation"] = 1
    if not server_side:
        applied = json.dumps(sent, separators=(",", ":"), sort_keys=True)
        meta.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = (
            applied + "\n"
        )
    _defaults(live, node_ports)
    live = _quantities(live)
    meta = live["metadata"]
    sent_fields = copy.deepcopy(sent)
    sent_fields.pop("apiVersion")
    sent_fields.pop("kind")
    sent_fields["metadata"] = {k: v for k, v in sent["metadata"].items() if k in ("labels", "annotations")}
    if not server_side:
        sent_fields["metadata"].setdefault("annotations", {})[
            "kubectl.kubernetes.io/last-applied-configuration"
        ] = ""
    managed = [
        _entry(manager, "Apply" if server_side else "Update", fields_v1(sent_fields), live["apiVersion"])
    ]
    status, status_fields = _status(live)
    if status is not None:
        live["status"] = status
    if sent["kind"] == "Deployment":
        meta.setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "1"
        managed.append(
            _entry(
                "kube-controller-manager",
                "Update",
                {
                    "f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}},
                    **(status_fields or {}),
                },
                live["apiVersion"],
                LATER,
                "status",
            )
        )
    elif status_fields is not None:
        managed.append(
            _entry("kube-controller-manager", "Update", status_fields, live["apiVersion"], LATER, "status")
        )
    if sent["kind"] == "PersistentVolumeClaim":
        meta.setdefault("annotations", {}).update(
            {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}
        )
        meta["finalizers"] = ["kubernetes.io/pvc-protection"]
    meta["managedFields"] = managed
    return dict(live)


_CLUSTER_SCOPED = {
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "CustomResourceDefinition",
    "IngressClass",
}


# --- the rest of a running cluster ------------------------------------------------------------------


def node(name: str, role: str | None) -> dict[str, Any]:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
    }
    managed = [
        _entry("kubelet", "Update", {"f:metadata": {"f:labels": {f"f:{k}": {} for k in labels}}}, "v1")
    ]
    if role is not None:
        labels[c.NODE_ROLE_LABEL] = role
        managed.append(
            _entry(
                "gitops-tool",
                "Update",
                {"f:metadata": {"f:labels": {f"f:{c.NODE_ROLE_LABEL}": {}}}},
                "v1",
                LATER,
            )
        )
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": _uid("node", name),
            "resourceVersion": "88231",
            "creationTimestamp": APPLY_TIME,
            "labels": labels,
            "managedFields": managed,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]},
        "status": {
            "capacity": {"cpu": "4", "memory": "8148100Ki", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8045700Ki", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            "nodeInfo": {"kubeletVersion": "v1.33.1", "containerRuntimeVersion": "containerd://1.7.27"},
        },
    }


def worker_pod(
    index: int, scheduler: int, template: dict[str, Any] | None = None, namespace: str = c.NAMESPACE
) -> dict[str, Any]:
    """A running KubernetesExecutor worker pod, labelled as Airflow's pod generator labels them."""
    labels = {
        **c.OWNERSHIP_LABELS,
        "airflow-worker": str(100 + scheduler),
        "dag_id": "example_etl",
        "task_id": f"extract_{index}",
        "run_id": "scheduled__2026-11-26T09-00-00-00-00",
        "try_number": "1",
        "airflow_version": "2.11.0",
        "kubernetes_executor": "True",
    }
    spec = copy.deepcopy(
        (template or {}).get("spec")
        or {
            "containers": [
                {
                    "name": "base",
                    "image": "apache/airflow:2.11.0-python3.9",
                    "args": ["airflow", "tasks", "run", "example_etl", f"extract_{index}"],
                }
            ],
            "restartPolicy": "Never",
            "serviceAccountName": "airflow",
        }
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"example-etl-extract-{index}-{_hash(str(index), size=8)}",
            "namespace": namespace,
            "labels": labels,
            "annotations": {"dag_id": "example_etl", "task_id": f"extract_{index}", "try_number": "1"},
        },
        "spec": spec,
    }
    live = simulate_apply(pod, manager="OpenAPI-Generator", server_side=False, namespace=namespace)
    live["metadata"]["annotations"].pop("kubectl.kubernetes.io/last-applied-configuration", None)
    live["spec"]["nodeName"] = f"node-{scheduler + 1}"
    return live


def _side_objects(live: dict[str, Any]) -> list[dict[str, Any]]:
    """Controller-made objects next to ``live``: all carry ownerReferences or are never extra."""
    kind = live["kind"]
    meta = live["metadata"]
    namespace = meta.get("namespace", "")
    owner = [
        {
            "apiVersion": live["apiVersion"],
            "kind": kind,
            "name": meta["name"],
            "uid": meta["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    out: list[dict[str, Any]] = []
    if kind == "Deployment":
        template = live["spec"]["template"]
        rs_name = f"{meta['name']}-{_hash(meta['name'])}"
        labels = {**(template["metadata"].get("labels") or {}), "pod-template-hash": _hash(meta["name"])}
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name,
                    "namespace": namespace,
                    "labels": labels,
                    "ownerReferences": owner,
                    "uid": _uid("rs", rs_name),
                    "resourceVersion": "4242",
                    "creationTimestamp": APPLY_TIME,
                },
                "spec": {
                    "replicas": live["spec"]["replicas"],
                    "selector": live["spec"]["selector"],
                    "template": template,
                },
                "status": {"replicas": live["spec"]["replicas"]},
            }
        )
    elif kind == "Service":
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": meta["name"],
                    "namespace": namespace,
                    "labels": meta.get("labels", {}),
                    "uid": _uid("ep", meta["name"]),
                    "resourceVersion": "4243",
                    "creationTimestamp": APPLY_TIME,
                },
                "subsets": [{"addresses": [{"ip": "10.244.1.17"}]}],
            }
        )
        out.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{meta['name']}-{_hash(meta['name'], size=5)}",
                    "namespace": namespace,
                    "labels": {**meta.get("labels", {}), "kubernetes.io/service-name": meta["name"]},
                    "ownerReferences": [{**owner[0], "apiVersion": "v1"}],
                    "uid": _uid("eps", meta["name"]),
                    "resourceVersion": "4244",
                    "creationTimestamp": APPLY_TIME,
                },
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.244.1.17"]}],
            }
        )
    elif kind == "PersistentVolumeClaim" and live["spec"].get("volumeName", "").startswith("pvc-"):
        out.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {
                    "name": live["spec"]["volumeName"],
                    "uid": _uid("pv", meta["name"]),
                    "resourceVersion": "4245",
                    "creationTimestamp": APPLY_TIME,
                    "annotations": {"pv.kubernetes.io/provisioned-by": "cluster.local/nfs-client"},
                    "finalizers": ["kubernetes.io/pv-protection"],
                },
                "spec": {
                    "accessModes": live["spec"].get("accessModes", []),
                    "capacity": live["spec"]["resources"]["requests"],
                    "claimRef": {
                        "kind": "PersistentVolumeClaim",
                        "name": meta["name"],
                        "namespace": namespace,
                        "uid": meta["uid"],
                    },
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": live["spec"].get("storageClassName", ""),
                    "nfs": {"path": f"/exports/{meta['name']}", "server": "10.96.0.20"},
                },
                "status": {"phase": "Bound"},
            }
        )
    return out


def cluster_state(
    desired: Iterable[dict[str, Any]],
    *,
    workers: int = 20,
    server_side: bool = True,
    roles: dict[str, str] | None = None,
    extra_nodes: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Every object a healthy cluster holds after syncing ``desired`` (hooks included, as they ran)."""
    live: list[dict[str, Any]] = []
    manager = "argocd-controller" if server_side else "kubectl-client-side-apply"
    ports = iter(range(30080, 32000))
    namespaces = set()
    for obj in desired:
        applied = simulate_apply(obj, manager=manager, server_side=server_side, node_ports=ports)
        live.append(applied)
        live.extend(_side_objects(applied))
        if applied["metadata"].get("namespace"):
            namespaces.add(applied["metadata"]["namespace"])
    for namespace in sorted(namespaces):
        live.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "kube-root-ca.crt",
                    "namespace": namespace,
                    "uid": _uid("ca", namespace),
                    "resourceVersion": "311",
                    "creationTimestamp": APPLY_TIME,
                    "annotations": {"kubernetes.io/description": "Contains a CA bundle."},
                },
                "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"},
            }
        )
        live.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "default",
                    "namespace": namespace,
                    "uid": _uid("sa", namespace),
                    "resourceVersion": "312",
                    "creationTimestamp": APPLY_TIME,
                },
            }
        )
        if namespace != c.NAMESPACE:
            continue  # the schedulers, their events and worker pods are Airflow's namespace's only
        live.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": f"airflow-scheduler-1.{_hash(namespace, size=8)}",
                    "namespace": namespace,
                    "uid": _uid("ev", namespace),
                    "resourceVersion": "9001",
                    "creationTimestamp": LATER,
                },
                "involvedObject": {
                    "kind": "Deployment",
                    "name": "airflow-scheduler-1",
                    "namespace": namespace,
                },
                "reason": "ScalingReplicaSet",
                "message": "Scaled up replica set",
                "type": "Normal",
            }
        )
        for index in range(workers):
            live.append(worker_pod(index, 1 + index % 2, namespace=namespace))
    for obj in live:  # controllers record what they wrote, like any other manager
        meta = obj["metadata"]
        if "managedFields" not in meta:
            body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
            body["metadata"] = {k: meta[k] for k in ("labels", "annotations", "ownerReferences") if k in meta}
            provisioned = obj["kind"] == "PersistentVolume"
            manager = "nfs-client-provisioner" if provisioned else "kube-controller-manager"
            meta["managedFields"] = [_entry(manager, "Update", fields_v1(body), obj["apiVersion"])]
    for role, name in (roles or {}).items():
        live.append(node(name, role))
    for name in extra_nodes:
        live.append(node(name, None))
    return live


# --- imperative changes, as kubectl records them -----------------------------------------------------


def _record(
    live: dict[str, Any],
    manager: str,
    fields: dict[str, Any],
    subresource: str | None = None,
    time: str = LATER,
) -> None:
    """Add ``manager``'s Update entry and take the touched leaves away from the other managers.

    A manager that already has an Update entry (for the same subresource) gets its fields merged
    into it and its time moved, as the API server does.
    """
    managed = live["metadata"].setdefault("managedFields", [])
    for entry in managed:
        if entry["manager"] != manager:
            _drop_leaves(entry.get("fieldsV1") or {}, fields)
    mine = next(
        (
            e
            for e in managed
            if e["manager"] == manager and e["operation"] == "Update" and e.get("subresource") == subresource
        ),
        None,
    )
    if mine is None:
        managed.append(_entry(manager, "Update", fields, live["apiVersion"], time, subresource))
    else:
        _merge_fields(mine["fieldsV1"], fields)
        mine["time"] = time


def _merge_fields(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, child in more.items():
        if key in into and isinstance(into[key], dict):
            _merge_fields(into[key], child)
        else:
            into[key] = copy.deepcopy(child)


def _drop_leaves(owned: dict[str, Any], taken: dict[str, Any]) -> None:
    for key, child in taken.items():
        if key == "." or key not in owned:
            continue
        if not child or set(child) == {"."}:
            if not owned[key] or set(owned[key]) == {"."}:
                del owned[key]
        else:
            _drop_leaves(owned[key], child)


def _containers_path(live: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    spec = live["spec"]["template"]["spec"] if "template" in live["spec"] else live["spec"]
    return spec, spec["containers"]


def _wrap(live: dict[str, Any], inner: dict[str, Any]) -> dict[str, Any]:
    if "template" in live["spec"]:
        return {"f:spec": {"f:template": {"f:spec": inner}}}
    return {"f:spec": inner}


def kubectl_set_image(live: dict[str, Any], container: str, image: str) -> None:
    _, containers = _containers_path(live)
    next(cn for cn in containers if cn["name"] == container)["image"] = image
    key = "k:" + json.dumps({"name": container}, separators=(",", ":"))
    _record(live, "kubectl-set", _wrap(live, {"f:containers": {key: {"f:image": {}}}}))


def kubectl_set_env(live: dict[str, Any], container: str, name: str, value: str, time: str = LATER) -> None:
    """``kubectl set env deployment/X -c CONTAINER NAME=VALUE``: a new env entry, or a new value."""
    _, containers = _containers_path(live)
    target = next(cn for cn in containers if cn["name"] == container)
    env = target.setdefault("env", [])
    existing = next((e for e in env if e.get("name") == name), None)
    if existing is None:
        env.append({"name": name, "value": value})
    else:
        existing.clear()
        existing.update({"name": name, "value": value})
    key = "k:" + json.dumps({"name": container}, separators=(",", ":"))
    env_key = "k:" + json.dumps({"name": name}, separators=(",", ":"))
    _record(
        live,
        "kubectl-set",
        _wrap(
            live,
            {"f:containers": {key: {"f:env": {".": {}, env_key: {".": {}, "f:name": {}, "f:value": {}}}}}},
        ),
        time=time,
    )


def kubectl_set_resources(
    live: dict[str, Any],
    container: str,
    limits: dict[str, str] | None = None,
    requests: dict[str, str] | None = None,
    time: str = LATER,
) -> None:
    """``kubectl set resources deployment/X -c CONTAINER --limits=cpu=2 --requests=memory=1Gi``:
    the given quantities (server form), owned by ``kubectl-set`` from then on."""
    _, containers = _containers_path(live)
    target = next(cn for cn in containers if cn["name"] == container)
    resources = target.setdefault("resources", {})
    owned: dict[str, Any] = {}
    for part, values in (("limits", limits), ("requests", requests)):
        if values:
            resources.setdefault(part, {}).update({k: server_form(v) for k, v in values.items()})
            owned[f"f:{part}"] = {f"f:{k}": {} for k in values}
    key = "k:" + json.dumps({"name": container}, separators=(",", ":"))
    _record(live, "kubectl-set", _wrap(live, {"f:containers": {key: {"f:resources": owned}}}), time=time)


def kubectl_scale(live: dict[str, Any], replicas: int) -> None:
    live["spec"]["replicas"] = replicas
    live["status"]["replicas"] = replicas
    _record(live, "kubectl-scale", {"f:spec": {"f:replicas": {}}}, "scale")


def kubectl_edit_data(live: dict[str, Any], key: str, value: str) -> None:
    live.setdefault("data", {})[key] = value
    _record(live, "kubectl-edit", {"f:data": {f"f:{key}": {}}})


def kubectl_label(live: dict[str, Any], key: str, value: str) -> None:
    live["metadata"].setdefault("labels", {})[key] = value
    _record(live, "kubectl-label", {"f:metadata": {"f:labels": {f"f:{key}": {}}}})


def find(objects: Iterable[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)
