"""Who may open a connection to which pod port, from the NetworkPolicies of a render.

A small evaluator of the NetworkPolicy API's ingress semantics (networking.k8s.io/v1):

- a pod is isolated for ingress once any policy of its namespace selects it with ``Ingress`` among
  its ``policyTypes`` (absent ``policyTypes`` means ``Ingress``, plus ``Egress`` when the policy has
  egress rules); a pod no policy selects accepts everything;
- an isolated pod accepts a connection when any rule of any policy selecting it admits it (the
  union); a rule admits a source when its ``from`` is absent or empty or one of its peers matches,
  and a port when its ``ports`` is absent or empty or one entry matches;
- a ``podSelector`` peer alone selects pods of the policy's namespace; with a ``namespaceSelector``
  both must match; a ``namespaceSelector`` alone selects every pod of the matching namespaces;
- an ``ipBlock`` peer matches addresses from outside the cluster (``except`` subtracted); pod
  addresses are ephemeral and implementations differ on them, so it never matches a pod here;
- a port is a number or a container port name (resolved against the target pod's ports, protocol
  included), ``protocol`` defaults to TCP and ``endPort`` makes a range;
- pods on the host network are outside NetworkPolicy altogether (reported as not isolated).

Pure: it reads rendered objects, nothing else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops_tool.core.images import embedded_pods, pod_spec
from gitops_tool.core.objects import Manifest

_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Port:
    number: int
    protocol: str = "TCP"
    name: str = ""

    def __str__(self) -> str:
        return f"{self.number}/{self.protocol}"


@dataclass(frozen=True)
class Workload:
    """The pods of one workload object (or one worker pod template), as a NetworkPolicy sees them."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: tuple[Port, ...] = ()
    host_network: bool = False


@dataclass(frozen=True)
class Source:
    """Where a connection comes from: a pod (namespace and labels) or an address outside the cluster."""

    name: str
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    address: str = ""

    @property
    def is_pod(self) -> bool:
        return not self.address


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _workload(name: str, namespace: str, pod_metadata: Any, spec: dict[str, Any]) -> Workload:
    ports = tuple(
        Port(int(p["containerPort"]), str(p.get("protocol", "TCP")), str(p.get("name", "")))
        for container in spec.get("containers") or []
        for p in container.get("ports") or []
        if isinstance(p, dict) and "containerPort" in p
    )
    labels = _str_map((pod_metadata or {}).get("labels") if isinstance(pod_metadata, dict) else None)
    return Workload(name, namespace, labels, ports, bool(spec.get("hostNetwork")))


def _template_metadata(obj: Manifest) -> Any:
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("metadata")
    if kind == "CronJob":
        return (
            ((obj.get("spec") or {}).get("jobTemplate") or {})
            .get("spec", {})
            .get("template", {})
            .get("metadata")
        )
    return ((obj.get("spec") or {}).get("template") or {}).get("metadata")


def workloads(objects: Iterable[Manifest], default_namespace: str = "") -> list[Workload]:
    """Every pod-running object of a render, worker pod templates (ConfigMaps) included."""
    found = []
    for obj in objects:
        metadata = obj.get("metadata") or {}
        namespace = str(metadata.get("namespace") or default_namespace)
        spec = pod_spec(obj)
        if spec is not None:
            found.append(_workload(str(metadata.get("name")), namespace, _template_metadata(obj), spec))
        for pod in embedded_pods(obj):
            pod_spec_ = pod_spec(pod)
            if pod_spec_ is not None:
                found.append(_workload(str(metadata.get("name")), namespace, pod.get("metadata"), pod_spec_))
    return found


def namespace_labels(objects: Iterable[Manifest]) -> dict[str, dict[str, str]]:
    """Labels of each Namespace in the render, with the one the API server always sets."""
    found = {}
    for obj in objects:
        if obj.get("kind") == "Namespace":
            name = str(obj["metadata"]["name"])
            found[name] = {**_str_map(obj["metadata"].get("labels")), _NAMESPACE_NAME_LABEL: name}
    return found


def selector_matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """A LabelSelector as the API evaluates it; an empty selector matches everything."""
    if not isinstance(selector, dict):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = str(expression.get("key")), expression.get("operator")
        values = {str(v) for v in expression.get("values") or []}
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    declared = spec.get("policyTypes")
    if declared:
        return [str(t) for t in declared]
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _peer_matches(
    peer: Mapping[str, Any],
    policy_namespace: str,
    source: Source,
    namespaces: Mapping[str, Mapping[str, str]],
) -> bool:
    if "ipBlock" in peer:
        if source.is_pod:
            return False
        block = peer["ipBlock"]
        address = ipaddress.ip_address(source.address)
        if address not in ipaddress.ip_network(str(block["cidr"]), strict=False):
            return False
        return not any(
            address in ipaddress.ip_network(str(e), strict=False) for e in block.get("except") or []
        )
    if not source.is_pod:
        return False
    if "namespaceSelector" in peer:
        ns_labels = namespaces.get(source.namespace, {_NAMESPACE_NAME_LABEL: source.namespace})
        if not selector_matches(peer["namespaceSelector"], ns_labels):
            return False
    elif source.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selector_matches(peer["podSelector"], source.labels)


def _port_matches(entry: Mapping[str, Any], port: Port) -> bool:
    if str(entry.get("protocol", "TCP")) != port.protocol:
        return False
    if "port" not in entry:
        return True
    wanted = entry["port"]
    if isinstance(wanted, str) and not wanted.isdigit():
        return bool(port.name) and wanted == port.name
    low = int(wanted)
    high = int(entry.get("endPort", low))
    return low <= port.number <= high


def _rule_admits(
    rule: Mapping[str, Any],
    policy_namespace: str,
    source: Source,
    port: Port,
    namespaces: Mapping[str, Mapping[str, str]],
) -> bool:
    ports = rule.get("ports") or []
    if ports and not any(_port_matches(entry, port) for entry in ports):
        return False
    peers = rule.get("from") or []
    return not peers or any(_peer_matches(peer, policy_namespace, source, namespaces) for peer in peers)


@dataclass(frozen=True)
class IngressPolicies:
    """The ingress NetworkPolicies of a render, ready to answer reachability questions."""

    policies: tuple[Manifest, ...]
    namespaces: Mapping[str, Mapping[str, str]]
    default_namespace: str = ""

    @classmethod
    def from_objects(cls, objects: Iterable[Manifest], default_namespace: str = "") -> IngressPolicies:
        objects = list(objects)
        policies = tuple(
            o
            for o in objects
            if o.get("kind") == "NetworkPolicy" and "Ingress" in _policy_types(o.get("spec") or {})
        )
        return cls(policies, namespace_labels(objects), default_namespace)

    def _namespace(self, policy: Manifest) -> str:
        return str((policy.get("metadata") or {}).get("namespace") or self.default_namespace)

    def selecting(self, target: Workload) -> list[Manifest]:
        return [
            p
            for p in self.policies
            if self._namespace(p) == target.namespace
            and selector_matches((p.get("spec") or {}).get("podSelector", {}), target.labels)
        ]

    def isolated(self, target: Workload) -> bool:
        return not target.host_network and bool(self.selecting(target))

    def allows(self, source: Source, target: Workload, port: Port) -> bool:
        if target.host_network:
            return True
        selecting = self.selecting(target)
        if not selecting:
            return True
        return any(
            _rule_admits(rule, self._namespace(policy), source, port, self.namespaces)
            for policy in selecting
            for rule in (policy.get("spec") or {}).get("ingress") or []
        )


def reachability(
    policies: IngressPolicies, targets: Iterable[Workload], sources: Iterable[Source]
) -> dict[str, dict[str, set[str]]]:
    """For each target workload and each of its container ports, the names of the sources admitted."""
    sources = list(sources)
    matrix: dict[str, dict[str, set[str]]] = {}
    for target in targets:
        for port in target.ports:
            admitted = {s.name for s in sources if policies.allows(s, target, port)}
            matrix.setdefault(target.name, {})[str(port)] = admitted
    return matrix


def pod_sources(found: Iterable[Workload]) -> list[Source]:
    return [Source(w.name, w.namespace, w.labels) for w in found if not w.host_network]
