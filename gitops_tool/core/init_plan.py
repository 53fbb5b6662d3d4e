"""``gitops-tool init``: the checks and edits that make a fresh clone the user's own, as data.

Pure: the caller reads the files and applies the edits (adapters/overlay_files.materialise keeps the
comments). Nothing here repeats a URL in a message: a rejected URL may carry a token.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitops_tool.core import argocd
from gitops_tool.core.conventions import MANAGEMENT_ROLE, SCHEDULER_ROLE_PREFIX
from gitops_tool.core.node_roles import is_node_name
from gitops_tool.core.scaffold.plan import Edit, MappingSet
from gitops_tool.errors import UserError

NFS_SERVICE_FILE = "base/nfs/server-service.yaml"
LB_SOURCE_RANGES_FILE = "lb-source-ranges.yaml"
# kubeadm's default Service CIDR, and the NFS Service's address in it as shipped.
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
SHIPPED_NFS_IP = "10.96.20.49"
# Addresses a Service CIDR keeps for others: the first host is the `kubernetes` Service, the tenth
# kube-dns/CoreDNS (kubeadm, k3s, EKS all follow this).
_RESERVED_HOSTS = (1, 10)
_MIN_ADDRESSES = 16


@dataclass(frozen=True)
class ArgocdObject:
    """One Argo CD object of argocd/: where it is and what it is."""

    file: str  # repository-relative
    kind: str  # Application or AppProject


def check_url(url: str, option: str) -> str:
    """``url`` if it is a Git URL Argo CD can clone without credentials in it; the message names the
    option, never the URL."""
    scheme, has_scheme, rest = url.partition("://")
    authority = rest.split("/", 1)[0] if has_scheme else url.split(":", 1)[0]
    userinfo = authority.rpartition("@")[0]
    if (
        (has_scheme and scheme.lower() in ("http", "https") and userinfo)
        or ":" in userinfo
        or "?" in url
        or "#" in url
    ):
        raise UserError(
            f"{option} carries credentials or a query; give the plain URL and keep credentials in the "
            "cluster (Argo CD repository secret, Secret airflow-git-credentials)"
        )
    try:
        return argocd.check_repo_url(url)
    except UserError:
        raise UserError(
            f"{option} is not a Git URL Argo CD can clone: use https://HOST/OWNER/REPO(.git) or "
            "git@HOST:OWNER/REPO.git"
        ) from None


def service_network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise UserError(f"--service-cidr {cidr!r} is not a network in CIDR notation: {exc}") from None
    if network.num_addresses < _MIN_ADDRESSES:
        raise UserError(f"--service-cidr {cidr} is too small for a cluster's Services")
    return network


def usable_problem(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> str | None:
    """Why ``address`` cannot be a Service's fixed ClusterIP in ``network``; None when it can."""
    if address not in network:
        return f"it is outside {network}"
    offset = int(address) - int(network.network_address)
    if offset == 0:
        return "it is the network's own address"
    if network.version == 4 and address == network.broadcast_address:
        return "it is the network's broadcast address"
    if offset in _RESERVED_HOSTS:
        role = "the `kubernetes` Service" if offset == 1 else "the cluster DNS Service (kubeadm, k3s, EKS)"
        return f"it is kept for {role}"
    return None


def nfs_cluster_ip(cidr: str, wanted: str | None = None) -> str:
    """The NFS Service's fixed ClusterIP in the Service CIDR: ``wanted`` when given and usable,
    otherwise the shipped address's place in the network (10.96.20.49 -> 10.43.20.49 in a /16)."""
    network = service_network(cidr)
    if wanted is not None:
        try:
            address = ipaddress.ip_address(wanted)
        except ValueError:
            raise UserError(f"--nfs-cluster-ip {wanted!r} is not an IP address") from None
        problem = usable_problem(address, network)
        if problem:
            raise UserError(f"--nfs-cluster-ip {wanted} cannot be used: {problem}")
        return str(address)
    shipped = int(ipaddress.ip_address(SHIPPED_NFS_IP)) - int(ipaddress.ip_network(DEFAULT_SERVICE_CIDR)[0])
    size = network.num_addresses
    for offset in (shipped, size // 2 + 49, size - 2):
        if offset < size:
            candidate = network[offset]
            if usable_problem(candidate, network) is None:
                return str(candidate)
    raise UserError(f"--service-cidr {cidr} leaves no usable address for the NFS Service")  # pragma: no cover


def parse_node(spec: str) -> tuple[str, str]:
    """``ROLE=NODE`` of ``--node``."""
    role, sep, node = spec.partition("=")
    role, node = role.strip(), node.strip()
    if not sep or not role or not node:
        raise UserError(f"--node {spec!r}: expected ROLE=NODE, e.g. scheduler-1=node-2")
    if not is_node_name(node):
        raise UserError(f"--node {spec!r}: {node!r} is not a valid Kubernetes node name")
    return role, node


def node_edits(
    specs: Iterable[str], known_roles: Iterable[str], current: Mapping[str, str], file: str
) -> tuple[list[Edit], dict[str, str]]:
    """Edits of node-roles.yaml for the ``--node`` values, and the whole mapping after them."""
    known = list(known_roles)
    mapping = dict(current)
    wanted: dict[str, str] = {}
    for spec in specs:
        role, node = parse_node(spec)
        if role not in known:
            raise UserError(
                f"--node {spec!r}: unknown role {role!r}; this overlay's roles: {', '.join(known)}"
            )
        if role in wanted and wanted[role] != node:
            raise UserError(f"--node gives role {role} twice")
        wanted[role] = node
    mapping.update(wanted)
    seen: dict[str, str] = {}
    for role, node in mapping.items():
        if node in seen:
            raise UserError(
                f"node {node} would carry both roles {seen[node]} and {role}; a node has one role label"
            )
        seen[node] = role
    edits: list[Edit] = [MappingSet(file, ("roles",), role, node) for role, node in wanted.items()]
    return edits, mapping


def overlay_roles(scheduler_numbers: Iterable[int], current: Mapping[str, str]) -> list[str]:
    """The roles an overlay uses: management, one per scheduler, and any its mapping names."""
    roles = [MANAGEMENT_ROLE, *(f"{SCHEDULER_ROLE_PREFIX}{n}" for n in sorted(scheduler_numbers))]
    return list(dict.fromkeys([*roles, *current]))


def source_ranges(ranges: Iterable[str]) -> list[str]:
    """``--lb-source-range`` values as networks; 0.0.0.0/0 is left to the policy that refuses it."""
    found: list[str] = []
    for given in ranges:
        try:
            network = ipaddress.ip_network(given, strict=True)
        except ValueError as exc:
            raise UserError(f"--lb-source-range {given!r} is not a network in CIDR notation: {exc}") from None
        if str(network) not in found:
            found.append(str(network))
    return found


def argocd_edits(objects: Iterable[ArgocdObject], repo_url: str, revision: str | None) -> list[Edit]:
    """Every Application of argocd/ syncs from ``repo_url`` (at ``revision``); every AppProject
    accepts ``repo_url`` as its only source."""
    edits: list[Edit] = []
    for obj in objects:
        if obj.kind == "Application":
            edits.append(MappingSet(obj.file, ("spec", "source"), "repoURL", repo_url))
            if revision is not None:
                edits.append(
                    MappingSet(
                        obj.file, ("spec", "source"), "targetRevision", argocd.check_revision(revision)
                    )
                )
        elif obj.kind == "AppProject":
            edits.append(MappingSet(obj.file, ("spec",), "sourceRepos", [repo_url]))
    return edits


def argocd_kind(document: Any) -> str | None:
    if isinstance(document, Mapping) and document.get("apiVersion") == argocd.API_VERSION:
        kind = document.get("kind")
        return str(kind) if kind in ("Application", "AppProject") else None
    return None


def commit_message(overlay: str, repo_url_given: bool, parts: Iterable[str]) -> str:
    listed = ", ".join(parts)
    return f"init: make this repository yours ({listed})" if repo_url_given else f"init: {overlay} ({listed})"
