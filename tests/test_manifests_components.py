"""Each component of the seed, in both overlays, with the seed's names, ports, types and storage."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from gitops_tool.core.conventions import (
    ARGOCD_SYNC_WAVE,
    INFRA_NAMESPACE,
    NAMESPACE,
    SECRET_KEY_JWT,
    SECRET_KEYS,
    SECRET_NAME,
)
from gitops_tool.core.images import pod_spec
from gitops_tool.core.objects import CLUSTER_SCOPED_KINDS, Manifest, describe
from tests.manifests_support import (
    HA,
    LEGACY,
    OVERLAYS,
    find,
    pod_labels,
    rendered,
    rendered_with_backup,
    worker_templates,
    workloads,
)

AIRFLOW_IMAGE = "apache/airflow:2.11.0-python3.9"

# The seed's "Service Discovery" block and "Маршрутизация трафика": LoadBalancer for the webserver
# and Grafana, ClusterIP for everything else.
SEED_SERVICES = {
    "postgres": (5432, "ClusterIP"),
    "airflow-webserver": (8080, "LoadBalancer"),
    "prometheus": (9090, "ClusterIP"),
    "grafana": (3000, "LoadBalancer"),
    "nfs-server": (2049, "ClusterIP"),
}


@pytest.fixture(params=[*OVERLAYS, *(f"{o}+backup" for o in OVERLAYS)])
def objects(request: pytest.FixtureRequest) -> tuple[Manifest, ...]:
    """Each shipped render, and each with optional components/backup enabled (`backup enable`)."""
    overlay, _, backup = str(request.param).partition("+")
    return rendered_with_backup(overlay) if backup else rendered(overlay)


def _container(obj: Manifest, name: str) -> dict[str, Any]:
    spec = pod_spec(obj) or {}
    found = [c for c in spec.get("containers", []) + spec.get("initContainers", []) if c["name"] == name]
    assert len(found) == 1, f"{obj['metadata']['name']}: container {name}"
    container: dict[str, Any] = found[0]
    return container


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize(("name", "expected"), sorted(SEED_SERVICES.items()))
def test_seed_services_have_the_seed_port_and_type(
    objects: tuple[Manifest, ...], name: str, expected: tuple[int, str]
) -> None:
    service = find(objects, "Service", name)
    port, kind = expected
    assert service["spec"]["type"] == kind
    assert port in [p["port"] for p in service["spec"]["ports"]]
    selector = service["spec"]["selector"]
    selected = [w for w in workloads(objects) if all(pod_labels(w).get(k) == v for k, v in selector.items())]
    assert selected, f"Service {name} selects no workload"
    target = next(p for p in service["spec"]["ports"] if p["port"] == port)["targetPort"]
    ports = [p for c in pod_spec(selected[0])["containers"] for p in c.get("ports", [])]  # type: ignore[index]
    assert any(target in (p.get("name"), p["containerPort"]) for p in ports), (
        f"{name}: no container port {target}"
    )


# What runs in namespace airflow-infra (Pod Security privileged): the host-access workloads and what
# belongs to them, nothing of Airflow. Everything else namespaced is in namespace airflow.
INFRA_OBJECTS = {
    ("Deployment", "nfs-server"),
    ("ServiceAccount", "nfs-server"),
    ("Service", "nfs-server"),
    ("NetworkPolicy", "nfs-server-from-nodes"),
    ("Deployment", "nfs-client-provisioner"),
    ("ServiceAccount", "nfs-client-provisioner"),
    ("Role", "leader-locking-nfs-client-provisioner"),
    ("RoleBinding", "leader-locking-nfs-client-provisioner"),
    ("DaemonSet", "node-exporter"),
    ("ServiceAccount", "node-exporter"),
    ("NetworkPolicy", "default-deny-ingress"),
    # Prometheus (namespace airflow) discovers node-exporter's pods there.
    ("Role", "prometheus-discovery"),
    ("RoleBinding", "prometheus-discovery"),
    # kube-state-metrics (namespace airflow) watches the NFS server and node-exporter there.
    ("Role", "kube-state-metrics"),
    ("RoleBinding", "kube-state-metrics"),
}


def test_two_namespaces_and_what_each_holds(objects: tuple[Manifest, ...]) -> None:
    find(objects, "Namespace", NAMESPACE)
    find(objects, "Namespace", INFRA_NAMESPACE)
    namespaced = [o for o in objects if o["kind"] not in CLUSTER_SCOPED_KINDS]
    assert {o["metadata"].get("namespace") for o in namespaced} == {NAMESPACE, INFRA_NAMESPACE}
    infra = {
        (o["kind"], o["metadata"]["name"])
        for o in namespaced
        if o["metadata"]["namespace"] == INFRA_NAMESPACE
    }
    assert infra == INFRA_OBJECTS


def test_every_binding_names_a_service_account_of_the_render_in_its_namespace(
    objects: tuple[Manifest, ...],
) -> None:
    """kustomize does not rewrite a subject's explicit namespace: a subject left in the old namespace
    would bind nothing, silently."""
    accounts = {
        (o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects if o["kind"] == "ServiceAccount"
    }
    subjects = [
        (describe(o), (s["namespace"], s["name"]))
        for o in objects
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for s in o["subjects"]
        if s["kind"] == "ServiceAccount"
    ]
    assert subjects
    assert [(binding, s) for binding, s in subjects if s not in accounts] == []
    # A RoleBinding's Role is in the binding's own namespace.
    for binding in (o for o in objects if o["kind"] == "RoleBinding"):
        if binding["roleRef"]["kind"] == "Role":
            find(objects, "Role", binding["roleRef"]["name"], binding["metadata"]["namespace"])


@pytest.mark.parametrize(("claim", "size"), [("airflow-dags", "5Gi"), ("airflow-logs", "10Gi")])
def test_nfs_claims_have_the_seed_size_access_mode_and_class(
    objects: tuple[Manifest, ...], claim: str, size: str
) -> None:
    pvc = find(objects, "PersistentVolumeClaim", claim)
    assert pvc["spec"]["resources"]["requests"]["storage"] == size
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["storageClassName"] == "nfs-client"


def test_storage_class_nfs_client_belongs_to_the_provisioner_which_mounts_the_nfs_server(
    objects: tuple[Manifest, ...],
) -> None:
    storage_class = find(objects, "StorageClass", "nfs-client")
    provisioner = find(objects, "Deployment", "nfs-client-provisioner")
    container = _container(provisioner, "nfs-client-provisioner")
    env = _env(container)
    assert env["PROVISIONER_NAME"] == storage_class["provisioner"]
    server_ip = find(objects, "Service", "nfs-server")["spec"]["clusterIP"]
    volume = next(v for v in pod_spec(provisioner)["volumes"] if "nfs" in v)  # type: ignore[index]
    assert env["NFS_SERVER"] == volume["nfs"]["server"] == server_ip
    assert env["NFS_PATH"] == volume["nfs"]["path"]
    # Its RBAC: PersistentVolumes and claims cluster-wide, its leader lock in its namespace.
    role = find(objects, "ClusterRole", "airflow-nfs-client-provisioner-runner")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"persistentvolumes", "persistentvolumeclaims", "storageclasses", "events"} == resources
    binding = find(objects, "ClusterRoleBinding", "airflow-run-nfs-client-provisioner")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "nfs-client-provisioner", "namespace": INFRA_NAMESPACE}
    ]
    assert pod_spec(provisioner)["serviceAccountName"] == "nfs-client-provisioner"  # type: ignore[index]


def test_nfs_export_is_owned_by_the_airflow_uid(objects: tuple[Manifest, ...]) -> None:
    server = find(objects, "Deployment", "nfs-server")
    init = _container(server, "export-permissions")
    assert "chown 50000:0 /exports" in init["command"][-1]


def test_test_nfs_pod_writes_and_reads_back_on_an_nfs_claim(objects: tuple[Manifest, ...]) -> None:
    pod = find(objects, "Pod", "test-nfs-pod")
    assert pod["spec"]["restartPolicy"] == "Never"
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]}
    assert claims <= {"airflow-dags", "airflow-logs"}
    script = pod["spec"]["containers"][0]["command"][-1]
    assert "echo" in script and "cat" in script and "test " in script


def test_postgres_statefulset_uses_local_read_write_once_storage(objects: tuple[Manifest, ...]) -> None:
    postgres = find(objects, "StatefulSet", "postgres")
    template = postgres["spec"]["volumeClaimTemplates"][0]
    assert template["spec"]["accessModes"] == ["ReadWriteOnce"]
    volume = find(objects, "PersistentVolume", "airflow-postgres-data")
    assert volume["spec"]["claimRef"] == {
        "namespace": NAMESPACE,
        "name": f"{template['metadata']['name']}-postgres-0",
    }
    assert volume["spec"]["storageClassName"] == template["spec"]["storageClassName"]
    assert find(objects, "StorageClass", template["spec"]["storageClassName"])["provisioner"] == (
        "kubernetes.io/no-provisioner"
    )
    container = _container(postgres, "postgres")
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"][0] == "pg_isready"
    assert _env(container)["POSTGRES_PASSWORD"] == {
        "secretKeyRef": {"name": SECRET_NAME, "key": "postgres-password"}
    }


@pytest.mark.parametrize(
    ("workload", "volume_name"),
    [
        (("StatefulSet", "postgres"), "airflow-postgres-data"),
        (("Deployment", "prometheus"), "airflow-prometheus-data"),
    ],
)
def test_node_local_data_is_handed_over_by_fs_group_not_by_a_root_init_container(
    objects: tuple[Manifest, ...], workload: tuple[str, str], volume_name: str
) -> None:
    """The kubelet applies fsGroup to `local` volumes (not to hostPath): the pod runs as its image's
    user from the first instruction, which Pod Security `restricted` requires."""
    spec = pod_spec(find(objects, *workload))
    assert spec is not None
    assert "initContainers" not in spec
    context = spec["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["fsGroup"] == context["runAsGroup"] == context["runAsUser"]
    assert context["fsGroupChangePolicy"] == "OnRootMismatch"  # no walk through the data each start
    volume = find(objects, "PersistentVolume", volume_name)["spec"]
    assert "hostPath" not in volume
    # A local volume's folder must exist before the mount: the NFS server's init container, on the
    # same (management) node and in an earlier sync wave, creates it.
    server = find(objects, "Deployment", "nfs-server")
    server_spec = pod_spec(server)
    assert server_spec is not None
    init = _container(server, "export-permissions")
    host_root = next(v["hostPath"]["path"] for v in server_spec["volumes"] if v["name"] == "local-volumes")
    mount = next(m["mountPath"] for m in init["volumeMounts"] if m["name"] == "local-volumes")
    relative = PurePosixPath(volume["local"]["path"]).relative_to(host_root)
    assert "mkdir -p" in init["command"][-1] and str(PurePosixPath(mount) / relative) in init["command"][-1]
    assert int(server["metadata"]["annotations"][ARGOCD_SYNC_WAVE]) < int(
        find(objects, *workload)["metadata"]["annotations"][ARGOCD_SYNC_WAVE]
    )


def test_executor_rbac_is_exactly_what_the_kubernetes_executor_needs(objects: tuple[Manifest, ...]) -> None:
    role = find(objects, "Role", "airflow-pod-launcher")
    granted = {(r, tuple(sorted(rule["verbs"]))) for rule in role["rules"] for r in rule["resources"]}
    assert granted == {
        ("pods", ("create", "delete", "get", "list", "patch", "watch")),
        ("pods/log", ("get",)),
        ("pods/exec", ("create", "get")),
        ("events", ("list",)),
    }
    assert all(rule["apiGroups"] == [""] for rule in role["rules"])
    binding = find(objects, "RoleBinding", "airflow-pod-launcher")
    assert binding["roleRef"]["name"] == "airflow-pod-launcher"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "airflow", "namespace": NAMESPACE}]
    for scheduler in (o for o in objects if o["metadata"]["name"].startswith("airflow-scheduler-")):
        assert pod_spec(scheduler)["serviceAccountName"] == "airflow"  # type: ignore[index]


def test_airflow_configuration_is_generated_and_complete(objects: tuple[Manifest, ...]) -> None:
    generated = find(objects, "ConfigMap", "airflow-config")
    assert generated["metadata"]["name"] != "airflow-config", "a content-hash name rolls pods on change"
    config = generated["data"]
    assert all(key.startswith("AIRFLOW__") and key == key.upper() for key in config)
    assert config["AIRFLOW__CORE__EXECUTOR"] == "KubernetesExecutor"
    assert config["AIRFLOW__SCHEDULER__USE_ROW_LEVEL_LOCKING"] == "True"
    assert config["AIRFLOW__METRICS__STATSD_ON"] == "True"
    find(objects, "Service", config["AIRFLOW__METRICS__STATSD_HOST"])
    assert int(config["AIRFLOW__KUBERNETES_EXECUTOR__WORKER_PODS_CREATION_BATCH_SIZE"]) > 1
    assert int(config["AIRFLOW__CORE__PARALLELISM"]) > 0
    assert int(config["AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE"]) > 0
    assert config["AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE"] == NAMESPACE
    assert not any("SQL_ALCHEMY_CONN" in key or "FERNET" in key or "SECRET_KEY" in key for key in config)
    # The workers read the same settings under a fixed name (their template is a string).
    assert find(objects, "ConfigMap", "airflow-worker-config")["data"] == config


def test_airflow_pods_mount_what_the_configuration_points_at(objects: tuple[Manifest, ...]) -> None:
    config = find(objects, "ConfigMap", "airflow-config")["data"]
    for scheduler in (o for o in objects if o["metadata"]["name"].startswith("airflow-scheduler-")):
        container = _container(scheduler, "airflow-scheduler")
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        template_dir = config["AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE"].rsplit("/", 1)[0]
        volume = next(v for v in pod_spec(scheduler)["volumes"] if v["name"] == mounts[template_dir])  # type: ignore[index]
        assert (
            volume["configMap"]["name"]
            == f"worker-pod-template-{scheduler['metadata']['name'].rsplit('-', 1)[1]}"
        )
        assert _mounted_at(mounts, config["AIRFLOW__CORE__DAGS_FOLDER"]) == "dags"
        assert _mounted_at(mounts, config["AIRFLOW__LOGGING__BASE_LOG_FOLDER"]) == "logs"
        assert container["envFrom"] == [
            {"configMapRef": {"name": find(objects, "ConfigMap", "airflow-config")["metadata"]["name"]}}
        ]


def _mounted_at(mounts: dict[str, str], folder: str) -> str:
    """The volume whose mount holds ``folder`` (the deepest mount path that is a prefix of it)."""
    holding = [p for p in mounts if folder == p or folder.startswith(p.rstrip("/") + "/")]
    return mounts[max(holding, key=len)]


@pytest.mark.parametrize("name", ["airflow-webserver", "airflow-scheduler-1"])
def test_airflow_workloads_wait_for_migrations(objects: tuple[Manifest, ...], name: str) -> None:
    workload = find(objects, "Deployment", name)
    inits = pod_spec(workload)["initContainers"]  # type: ignore[index]
    assert any(c["args"][:3] == ["airflow", "db", "check-migrations"] for c in inits)


def test_migration_is_a_sync_hook_and_the_admin_user_comes_from_the_secret(
    objects: tuple[Manifest, ...],
) -> None:
    migrate = find(objects, "Job", "airflow-db-migrate")
    annotations = migrate["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "Sync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    assert _container(migrate, "db-migrate")["args"] == ["airflow", "db", "migrate"]
    admin = find(objects, "Job", "airflow-create-admin")
    assert admin["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
    container = _container(admin, "create-admin")
    assert "airflow users create" in container["args"][-1]
    assert '--password "${AIRFLOW_ADMIN_PASSWORD}"' in container["args"][-1]
    assert _env(container)["AIRFLOW_ADMIN_PASSWORD"] == {
        "secretKeyRef": {"name": SECRET_NAME, "key": "airflow-admin-password"}
    }
    assert int(annotations["argocd.argoproj.io/sync-wave"]) < int(
        admin["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
    )


def test_worker_pod_templates_follow_the_kubernetes_executor_conventions(
    objects: tuple[Manifest, ...],
) -> None:
    templates = worker_templates(objects)
    schedulers = [o for o in objects if o["metadata"]["name"].startswith("airflow-scheduler-")]
    assert set(templates) == {
        f"worker-pod-template-{s['metadata']['name'].rsplit('-', 1)[1]}" for s in schedulers
    }
    for pod in templates.values():
        spec = pod["spec"]
        assert spec["restartPolicy"] == "Never"
        assert [c["name"] for c in spec["containers"]] == ["base"]
        base = spec["containers"][0]
        assert base["image"] == AIRFLOW_IMAGE
        assert {m["mountPath"] for m in base["volumeMounts"]} >= {"/opt/airflow/dags", "/opt/airflow/logs"}
        assert set(base["resources"]) == {"requests", "limits"}
        assert base["envFrom"] == [{"configMapRef": {"name": "airflow-worker-config"}}]
        assert spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]


def test_grafana_provisions_the_prometheus_datasource_and_both_dashboards(
    objects: tuple[Manifest, ...],
) -> None:
    datasources = yaml.safe_load(
        find(objects, "ConfigMap", "grafana-datasources")["data"]["datasources.yaml"]
    )
    (prometheus,) = datasources["datasources"]
    assert prometheus["type"] == "prometheus" and prometheus["uid"] == "prometheus"
    assert prometheus["url"] == f"http://prometheus:{SEED_SERVICES['prometheus'][0]}"
    providers = yaml.safe_load(
        find(objects, "ConfigMap", "grafana-dashboard-providers")["data"]["dashboard-providers.yaml"]
    )
    paths = {p["options"]["path"] for p in providers["providers"]}
    grafana = find(objects, "Deployment", "grafana")
    mounts = {m["name"]: m["mountPath"] for m in _container(grafana, "grafana")["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(grafana)["volumes"]}  # type: ignore[index]
    titles = set()
    for which in ("basic", "advanced"):
        config_map = find(objects, "ConfigMap", f"grafana-dashboard-{which}")
        volume = next(
            n
            for n, v in volumes.items()
            if v.get("configMap", {}).get("name") == config_map["metadata"]["name"]
        )
        assert mounts[volume] in paths
        (dashboard_json,) = config_map["data"].values()
        dashboard = json.loads(dashboard_json)
        titles.add(dashboard["title"])
        panel_ids = [p["id"] for p in dashboard["panels"]]
        assert len(panel_ids) >= 3 and len(set(panel_ids)) == len(panel_ids)
        queried = [p for p in dashboard["panels"] if p.get("targets")]
        assert len(queried) >= 3
        for panel in queried:
            assert panel["datasource"]["uid"] == prometheus["uid"]
            assert all(t["expr"].strip() for t in panel["targets"])
    assert titles == {"Airflow Kubernetes Metrics", "Airflow Advanced Kubernetes Metrics"}
    env = _env(_container(grafana, "grafana"))
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == {
        "secretKeyRef": {"name": SECRET_NAME, "key": "grafana-admin-password"}
    }


def test_prometheus_discovers_annotated_pods_and_services_with_its_own_rbac(
    objects: tuple[Manifest, ...],
) -> None:
    config = yaml.safe_load(find(objects, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])
    roles = {sd["role"] for job in config["scrape_configs"] for sd in job.get("kubernetes_sd_configs", [])}
    assert {"pod", "endpoints"} <= roles
    relabels = str(config["scrape_configs"])
    assert "__meta_kubernetes_pod_annotation_prometheus_io_scrape" in relabels
    assert "__meta_kubernetes_service_annotation_prometheus_io_scrape" in relabels
    exporter = find(objects, "DaemonSet", "node-exporter")
    annotations = exporter["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "9100"
    role = find(objects, "Role", "prometheus-discovery", NAMESPACE)
    assert {r for rule in role["rules"] for r in rule["resources"]} >= {"pods", "services", "endpoints"}
    assert pod_spec(find(objects, "Deployment", "prometheus"))["serviceAccountName"] == "prometheus"  # type: ignore[index]
    # Every namespace holding a pod that asks to be scraped is discovered, and Prometheus may list
    # pods there (node-exporter lives in airflow-infra).
    pod_job = next(j for j in config["scrape_configs"] if j["job_name"] == "kubernetes-pods")
    discovered = set(pod_job["kubernetes_sd_configs"][0]["namespaces"]["names"])

    def template_metadata(obj: Manifest) -> dict[str, Any]:
        if obj["kind"] == "Pod":
            return dict(obj["metadata"])
        spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
        return dict(spec["template"].get("metadata") or {})

    annotated = {
        o["metadata"].get("namespace", NAMESPACE)
        for o in workloads(objects)
        if (template_metadata(o).get("annotations") or {}).get("prometheus.io/scrape") == "true"
    }
    assert annotated == {NAMESPACE, INFRA_NAMESPACE} and annotated <= discovered
    for namespace in annotated:
        binding = find(objects, "RoleBinding", "prometheus-discovery", namespace)
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "prometheus", "namespace": NAMESPACE}
        ]
        granted = find(objects, "Role", binding["roleRef"]["name"], namespace)
        assert any("pods" in r["resources"] and "list" in r["verbs"] for r in granted["rules"])


def test_node_exporter_runs_everywhere_on_9100(objects: tuple[Manifest, ...]) -> None:
    exporter = find(objects, "DaemonSet", "node-exporter")
    spec = pod_spec(exporter) or {}
    assert {"operator": "Exists"} in spec["tolerations"]
    assert "affinity" not in spec and "nodeSelector" not in spec
    assert spec["containers"][0]["ports"][0]["containerPort"] == 9100


def test_no_secret_is_rendered_and_every_reference_names_a_known_key(objects: tuple[Manifest, ...]) -> None:
    assert not [o for o in objects if o["kind"] == "Secret"]
    refs: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "secretKeyRef" in node:
                assert node["secretKeyRef"]["name"] == SECRET_NAME
                refs.add(node["secretKeyRef"]["key"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and "secretKeyRef" in node:  # a worker pod template
            for document in yaml.safe_load_all(node):
                walk(document)

    walk(list(objects))
    # jwt-secret is read only by the Airflow 3 layout (components/airflow-3, tests/test_airflow3_layout.py).
    assert refs == set(SECRET_KEYS) - {SECRET_KEY_JWT}, (
        "every key of the out-of-band Secret is used, and no other"
    )


def test_overlays_hold_the_seed_scheduler_count() -> None:
    """HA: the seed's two schedulers (more once added); legacy: exactly one."""
    for overlay, at_least in ((HA, 2), (LEGACY, 1)):
        names = {o["metadata"]["name"] for o in rendered(overlay) if o["kind"] == "Deployment"}
        schedulers = {n for n in names if n.startswith("airflow-scheduler-")}
        assert {f"airflow-scheduler-{n}" for n in range(1, at_least + 1)} <= schedulers
        if overlay == LEGACY:
            assert schedulers == {"airflow-scheduler-1"}


@pytest.mark.parametrize("deployment", ["airflow-webserver", "airflow-scheduler-1"])
def test_seed_upgrade_command_finds_its_container(objects: tuple[Manifest, ...], deployment: str) -> None:
    """The seed upgrades with `kubectl set image deployment/airflow-scheduler-1 airflow-scheduler=...`."""
    container = deployment if deployment == "airflow-webserver" else "airflow-scheduler"
    assert _container(find(objects, "Deployment", deployment), container)["image"] == AIRFLOW_IMAGE
