"""Doctor's check that the NFS Service's fixed ClusterIP lies in the cluster's Service range.

The range itself is not readable through the API; what is: the ``kubernetes`` Service's ClusterIP
(the first address of the range) and, from a dry-run create of a Service asking for the address, the
API server's own verdict ("provided IP is not in the valid range. The range of valid IPs is ...").
Pure: services/doctor.py gathers the facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

NAME = "NFS ClusterIP in the Service range"
_RANGE = re.compile(r"range of valid IPs is ([0-9A-Fa-f.:/, ]+?)(?:[;\"']|$|\s*\()")


class Probe(Enum):
    FREE = "free"  # the dry-run create was admitted: inside the range, not taken
    ALLOCATED = "allocated"  # refused: a Service has the address already
    OUT_OF_RANGE = "out-of-range"  # refused: outside the range
    UNKNOWN = "unknown"  # not asked (no address) or not answered (403, other errors)


@dataclass(frozen=True)
class ServiceRangeFacts:
    wanted_ip: str | None  # the NFS Service's clusterIP as Git renders it; None: not known here
    live_ip: str | None  # the live nfs-server Service's clusterIP; None: no such Service
    kubernetes_ip: str | None  # the `kubernetes` Service's ClusterIP (first address of the range)
    probe: Probe
    detail: str = ""  # the valid range (OUT_OF_RANGE) or why the probe had no answer


def probe_from_refusal(message: str) -> tuple[Probe, str]:
    """What an HTTP 422 answer to the dry-run create says about the address."""
    if "not in the valid range" in message or "range of valid IPs" in message:
        found = _RANGE.search(message)
        return Probe.OUT_OF_RANGE, found.group(1).strip().rstrip(",") if found else ""
    if "already allocated" in message:
        return Probe.ALLOCATED, ""
    return Probe.UNKNOWN, message


def judge(facts: ServiceRangeFacts) -> tuple[str, str, str]:
    """(status PASS/FAIL/UNKNOWN, detail, hint) for the facts."""
    kube = f"; the kubernetes Service is {facts.kubernetes_ip}" if facts.kubernetes_ip else ""
    if facts.wanted_ip is None:
        if facts.live_ip is not None:
            return "PASS", f"the nfs-server Service runs with ClusterIP {facts.live_ip}{kube}", ""
        return "UNKNOWN", f"no overlay render here and no live nfs-server Service{kube}", ""
    ip = facts.wanted_ip
    init_hint = (
        "gitops-tool init --repo-url URL --service-cidr CIDR (or --nfs-cluster-ip) chooses one inside it"
    )
    if ip == facts.kubernetes_ip:
        return "FAIL", f"{ip} is the kubernetes Service's own address", init_hint
    if facts.live_ip is not None and facts.live_ip != ip:
        return (
            "FAIL",
            f"Git asks for {ip} but the live nfs-server Service has {facts.live_ip}",
            "a Service's clusterIP cannot change in place: delete the nfs-server Service and let Argo CD "
            "sync it again (the NFS volumes remount)",
        )
    if facts.probe is Probe.OUT_OF_RANGE:
        where = f" {facts.detail}" if facts.detail else ""
        return "FAIL", f"{ip} is outside the cluster's Service range{where}{kube}", init_hint
    if facts.probe is Probe.ALLOCATED:
        if facts.live_ip == ip:
            return "PASS", f"{ip} is in the Service range and held by the nfs-server Service", ""
        return "FAIL", f"{ip} is in the Service range but another Service holds it", init_hint
    if facts.probe is Probe.FREE:
        return "PASS", f"{ip} is in the Service range and free for the nfs-server Service{kube}", ""
    if facts.live_ip == ip:
        return "PASS", f"the nfs-server Service runs with {ip}", ""
    why = f" ({facts.detail})" if facts.detail else ""
    return (
        "UNKNOWN",
        f"could not ask the API server about {ip}{why}{kube}",
        f"{ip} must lie in the cluster's Service CIDR (kube-apiserver --service-cluster-ip-range)",
    )
