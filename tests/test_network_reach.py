"""Who may reach which pod port, computed from the RENDERED NetworkPolicies of each shipped overlay
(real kustomize) and compared with the matrix below; then the evaluator's semantics, case by case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitops_tool.core import password_jobs as pj
from gitops_tool.core.conventions import INFRA_NAMESPACE, NAMESPACE
from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.network_reach import (
    IngressPolicies,
    Port,
    Source,
    Workload,
    pod_sources,
    reachability,
    workloads,
)
from gitops_tool.core.objects import Manifest
from tests.conftest import RunCli
from tests.manifests_support import HA, LEGACY, rendered, rendered_with_backup

EXTERNAL = "external client"
OTHER_NAMESPACE = "webserver-labelled pod in namespace default"
# podSelector-only rules admit pods of the policy's own namespace: labels copied into the
# infrastructure namespace open nothing in airflow.
INFRA_IMPOSTOR = "prometheus- and airflow-labelled pod in airflow-infra"
AIRFLOW_LABELS = {"app": "airflow-webserver", "app.kubernetes.io/name": "airflow"}
# Pods no render holds: the Jobs `secrets rotate` creates at run time (core/password_jobs.py).
ROTATION_JOBS = (
    pj.database_job("airflow-db-password", "postgres:16.9"),
    pj.airflow_admin_job("airflow-admin-password", "apache/airflow:2.11.0-python3.9"),
    pj.grafana_admin_job("grafana-admin-password", "apache/airflow:2.11.0-python3.9", "admin"),
)
# Of those, the ones that log in to PostgreSQL; the Grafana one needs only Grafana's open port.
ROTATION_DB_CLIENTS = {"airflow-db-password", "airflow-admin-password"}


def _airflow_pods(schedulers: int) -> set[str]:
    """Airflow's own pods: what may use PostgreSQL and send statsd."""
    pods = {"airflow-webserver", "airflow-db-migrate", "airflow-create-admin"}
    for n in range(1, schedulers + 1):
        pods |= {f"airflow-scheduler-{n}", f"airflow-triggerer-{n}", f"worker-pod-template-{n}"}
    return pods


def _expected(schedulers: int, git_sync: bool, backup: bool) -> dict[str, dict[str, set[str] | str]]:
    """target -> container port -> sources admitted ("all": every source, outside the cluster too)."""
    airflow = _airflow_pods(schedulers)
    # components/backup: its pg_dump CronJob (and the restore/list Jobs built from it) reach
    # PostgreSQL and nothing else; the pods have no port of their own to open.
    backup_pods = {"airflow-db-backup"} if backup else set()
    matrix: dict[str, dict[str, set[str] | str]] = {
        "postgres": {"5432/TCP": airflow | {"postgres-exporter"} | ROTATION_DB_CLIENTS | backup_pods},
        # Behind their LoadBalancers: source ranges are enforced at the LB (loadBalancerSourceRanges).
        "airflow-webserver": {"8080/TCP": "all"},
        "grafana": {"3000/TCP": "all"},
        "prometheus": {"9090/TCP": {"grafana"}},
        "statsd-exporter": {"9125/UDP": airflow, "9102/TCP": {"prometheus"}},
        "postgres-exporter": {"9187/TCP": {"prometheus"}},
        "kube-state-metrics": {"8080/TCP": {"prometheus"}, "8081/TCP": set()},
        # NFS is mounted by every node's kernel client, from node addresses no pod selector matches.
        # (namespace airflow-infra)
        "nfs-server": {"2049/TCP": "all", "20048/TCP": "all", "111/TCP": "all"},
        # Host network: outside NetworkPolicy (docs/security.md, "Network isolation").
        "node-exporter": {"9100/TCP": "all"},
    }
    for n in range(1, schedulers + 1):
        matrix[f"airflow-scheduler-{n}"] = {"8974/TCP": set()}  # health port: the kubelet only
        # The trigger log server: the webserver reads a deferred task's trigger log from it.
        matrix[f"airflow-triggerer-{n}"] = {"8794/TCP": {"airflow-webserver"}}
    if git_sync:
        matrix["airflow-git-sync"] = {"2020/TCP": {"prometheus"}}
    return matrix


def _matrix(objects: tuple[Manifest, ...]) -> tuple[dict[str, dict[str, set[str]]], set[str]]:
    # Objects rendered without a namespace land in the Argo CD Application's destination, airflow.
    found = workloads(objects, NAMESPACE)
    sources = [
        *pod_sources(found),
        *pod_sources(workloads(ROTATION_JOBS)),
        Source(EXTERNAL, address="203.0.113.10"),
        Source(OTHER_NAMESPACE, namespace="default", labels=AIRFLOW_LABELS),
        Source(
            INFRA_IMPOSTOR,
            namespace=INFRA_NAMESPACE,
            labels={**AIRFLOW_LABELS, "app": "prometheus", "app.kubernetes.io/component": "webserver"},
        ),
    ]
    return reachability(IngressPolicies.from_objects(objects, NAMESPACE), found, sources), {
        s.name for s in sources
    }


# The shipped render, and the one with optional components/backup enabled (`gitops-tool backup enable`).
RENDERS = {False: rendered, True: rendered_with_backup}


@pytest.mark.parametrize("backup", [False, True], ids=["shipped", "with-backup"])
@pytest.mark.parametrize(("overlay", "schedulers", "git_sync"), [(HA, 2, True), (LEGACY, 1, False)])
def test_rendered_policies_give_exactly_the_expected_reachability(
    overlay: str, schedulers: int, git_sync: bool, backup: bool
) -> None:
    objects = RENDERS[backup](overlay)
    assert any(w.name == "airflow-db-backup" for w in workloads(objects)) == backup
    actual, everyone = _matrix(objects)
    # The matrix spans both namespaces: the NFS server and node-exporter are in airflow-infra, and
    # the provisioner there is one of the sources.
    found = {w.name: w.namespace for w in workloads(objects, NAMESPACE)}
    assert (found["nfs-server"], found["node-exporter"], found["nfs-client-provisioner"]) == (
        INFRA_NAMESPACE,
    ) * 3
    assert found["postgres"] == NAMESPACE
    expected = {
        target: {port: everyone if allowed == "all" else allowed for port, allowed in ports.items()}
        for target, ports in _expected(schedulers, git_sync, backup).items()
    }
    assert actual == expected


@pytest.mark.parametrize("backup", [False, True], ids=["shipped", "with-backup"])
@pytest.mark.parametrize("overlay", [HA, LEGACY])
def test_every_pod_but_the_host_network_one_is_isolated_and_undeclared_ports_are_closed(
    overlay: str, backup: bool
) -> None:
    objects = RENDERS[backup](overlay)
    policies = IngressPolicies.from_objects(objects)
    found = workloads(objects)
    assert {w.name for w in found if not policies.isolated(w)} == {"node-exporter"}
    sources = pod_sources(found)
    for target in found:
        if target.host_network:
            continue
        for port in (Port(22), Port(5432, "UDP"), Port(8080, "UDP")):
            assert not [s.name for s in sources if policies.allows(s, target, port)], (target.name, port)


@pytest.mark.parametrize("overlay", [HA, LEGACY])
def test_no_policy_restricts_egress(overlay: str) -> None:
    """Egress stays open (DNS, the API server, git remotes): a partial egress policy would break them."""
    policies = [o for o in rendered(overlay) if o["kind"] == "NetworkPolicy"]
    assert policies
    assert all(o["spec"]["policyTypes"] == ["Ingress"] and "egress" not in o["spec"] for o in policies)


# --- the evaluator's semantics ---------------------------------------------------------------------


def _policy(spec: dict[str, Any], namespace: str = "app") -> Manifest:
    return {"kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": namespace}, "spec": spec}


DB = Workload("db", "app", {"app": "db"}, (Port(5432, name="pg"), Port(9000, "UDP", "stats")))
PG = Port(5432, name="pg")
CLIENT = Source("client", "app", {"app": "client"})
STRANGER = Source("stranger", "app", {"app": "other"})
REMOTE_CLIENT = Source("remote", "other", {"app": "client"})
OUTSIDE = Source("outside", address="198.51.100.7")


def _allows(policies: list[Manifest], source: Source, port: Port = PG) -> bool:
    namespaces = [
        {"kind": "Namespace", "metadata": {"name": "app", "labels": {"team": "data"}}},
        {"kind": "Namespace", "metadata": {"name": "other", "labels": {"team": "web"}}},
    ]
    return IngressPolicies.from_objects([*namespaces, *policies]).allows(source, DB, port)


def test_unselected_pods_accept_everything_and_egress_only_policies_do_not_isolate_ingress() -> None:
    assert _allows([], STRANGER)
    assert _allows([_policy({"podSelector": {"matchLabels": {"app": "web"}}})], STRANGER)
    egress_only = _policy({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]})
    assert _allows([egress_only], STRANGER)
    # No policyTypes and egress rules: Ingress and Egress, so this one isolates and admits nothing.
    assert not _allows([_policy({"podSelector": {}, "egress": [{}]})], STRANGER)


def test_rules_are_a_union_and_empty_from_or_ports_mean_all() -> None:
    deny = _policy({"podSelector": {}, "policyTypes": ["Ingress"]})
    assert not _allows([deny], CLIENT)
    open_port = _policy(
        {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"ports": [{"port": 5432}]}]}
    )
    assert _allows([deny, open_port], OUTSIDE)
    assert not _allows([deny, open_port], OUTSIDE, Port(9000, "UDP"))
    all_ports = _policy(
        {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}]}
    )
    assert _allows([deny, all_ports], CLIENT, Port(9000, "UDP"))
    assert not _allows([deny, all_ports], STRANGER)


def test_pod_and_namespace_selectors() -> None:
    same_namespace = _policy(
        {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}]}
    )
    assert _allows([same_namespace], CLIENT)
    assert not _allows([same_namespace], REMOTE_CLIENT)  # podSelector alone: the policy's namespace
    both = {
        "namespaceSelector": {"matchLabels": {"team": "web"}},
        "podSelector": {"matchLabels": {"app": "client"}},
    }
    assert _allows([_policy({"podSelector": {}, "ingress": [{"from": [both]}]})], REMOTE_CLIENT)
    assert not _allows([_policy({"podSelector": {}, "ingress": [{"from": [both]}]})], CLIENT)
    any_pod_there = _policy(
        {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "web"}}}]}]}
    )
    assert _allows([any_pod_there], Source("x", "other", {}))
    by_name = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}
    assert _allows([_policy({"podSelector": {}, "ingress": [{"from": [by_name]}]})], REMOTE_CLIENT)
    # Separate peers are ORed, unlike the two selectors of one peer.
    either = [
        {"namespaceSelector": {"matchLabels": {"team": "web"}}},
        {"podSelector": {"matchLabels": {"app": "client"}}},
    ]
    assert _allows([_policy({"podSelector": {}, "ingress": [{"from": either}]})], CLIENT)
    expressions = {
        "podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["other"]}]}
    }
    policy = _policy({"podSelector": {}, "ingress": [{"from": [expressions]}]})
    assert _allows([policy], CLIENT) and not _allows([policy], STRANGER)
    assert not _allows([_policy({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]})], OUTSIDE)


def test_ip_blocks_match_outside_addresses_only() -> None:
    block = {"ipBlock": {"cidr": "198.51.100.0/24", "except": ["198.51.100.128/25"]}}
    policy = _policy({"podSelector": {}, "ingress": [{"from": [block]}]})
    assert _allows([policy], OUTSIDE)
    assert not _allows([policy], Source("excepted", address="198.51.100.200"))
    assert not _allows([policy], CLIENT)


def test_ports_by_number_name_range_and_protocol() -> None:
    def only(port_entry: dict[str, Any]) -> list[Manifest]:
        return [_policy({"podSelector": {}, "ingress": [{"ports": [port_entry]}]})]

    assert _allows(only({"port": "pg"}), CLIENT)
    assert not _allows(only({"port": "pg", "protocol": "UDP"}), CLIENT)
    assert _allows(only({"port": "stats", "protocol": "UDP"}), CLIENT, Port(9000, "UDP", "stats"))
    assert _allows(only({"port": 5000, "endPort": 6000}), CLIENT)
    assert not _allows(only({"port": 5433, "endPort": 6000}), CLIENT)
    assert not _allows(only({"port": 5432, "protocol": "UDP"}), CLIENT)
    assert _allows(only({"protocol": "TCP"}), CLIENT)


def test_host_network_pods_are_outside_network_policy() -> None:
    host = Workload("exporter", "app", {"app": "db"}, (Port(9100),), host_network=True)
    policies = IngressPolicies.from_objects([_policy({"podSelector": {}})])
    assert not policies.isolated(host)
    assert policies.allows(STRANGER, host, Port(9100))
    assert not policies.allows(STRANGER, DB, Port(5432))


# --- LoadBalancer source ranges: one overlay setting ---------------------------------------------------


@pytest.mark.parametrize("overlay", [HA, LEGACY])
def test_one_overlay_file_sets_the_source_ranges_of_every_load_balancer(
    overlay: str, run_cli: RunCli, project_copy: Path
) -> None:
    setting = project_copy / overlay / "lb-source-ranges.yaml"
    setting.write_text(setting.read_text().replace("10.0.0.0/8", "192.168.10.0/24"))
    rendered_ = parse_manifests(run_cli("render", overlay, cwd=project_copy).out, overlay)
    balancers = {
        o["metadata"]["name"]: o["spec"]["loadBalancerSourceRanges"]
        for o in rendered_
        if o["kind"] == "Service" and o["spec"].get("type") == "LoadBalancer"
    }
    assert balancers == {"airflow-webserver": ["192.168.10.0/24"], "grafana": ["192.168.10.0/24"]}
    # The shipped default is private.
    assert {
        r for o in rendered(overlay) for r in (o.get("spec") or {}).get("loadBalancerSourceRanges", [])
    } == {"10.0.0.0/8"}


def test_a_load_balancer_open_to_the_internet_fails_validation(run_cli: RunCli, project_copy: Path) -> None:
    setting = project_copy / HA / "lb-source-ranges.yaml"
    setting.write_text(setting.read_text().replace("10.0.0.0/8", "0.0.0.0/0"))
    result = run_cli("validate", HA, cwd=project_copy)
    assert result.code == 1
    assert "[lb-source-ranges]: Service/airflow/airflow-webserver" in result.out
    assert "[lb-source-ranges]: Service/airflow/grafana" in result.out
