"""Hardening, images, ownership and deploy order of every rendered object, worker templates included."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gitops_tool.core.conventions import (
    ARGOCD_SYNC_WAVE,
    OWNERSHIP_LABELS,
    POLICY_EXCEPTION_PREFIX,
)
from gitops_tool.core.images import parse_image, pod_spec
from gitops_tool.core.objects import Manifest, describe
from tests.manifests_support import (
    LONG_RUNNING,
    OVERLAYS,
    all_containers,
    find,
    generated_name,
    rendered,
    rendered_with_backup,
)

AIRFLOW_IMAGE = "apache/airflow:2.11.0-python3.9"
# Pods that talk to the Kubernetes API and therefore mount a service account token.
# The webserver reads a running task's log from its worker pod (docs/concepts/webserver-logs.md).
API_USERS = {
    "airflow-scheduler",
    "airflow-webserver",
    "nfs-client-provisioner",
    "prometheus",
    "kube-state-metrics",
}
# Init containers may run as root only to hand a node-local directory to the main container's user.
ROOT_INIT_CAPABILITIES = {"CHOWN", "FOWNER"}
HOST_RULES = {"privileged", "host-path", "host-network", "host-pid", "host-ipc"}
EXACT_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)?([-.][A-Za-z0-9.]+)?$")


@pytest.fixture(params=[*OVERLAYS, *(f"{o}+backup" for o in OVERLAYS)])
def objects(request: pytest.FixtureRequest) -> tuple[Manifest, ...]:
    """Each shipped render, and each with optional components/backup enabled (`backup enable`)."""
    overlay, _, backup = str(request.param).partition("+")
    return rendered_with_backup(overlay) if backup else rendered(overlay)


def _exceptions(obj: Manifest) -> set[str]:
    annotations = obj["metadata"].get("annotations") or {}
    return {
        k.removeprefix(POLICY_EXCEPTION_PREFIX) for k in annotations if k.startswith(POLICY_EXCEPTION_PREFIX)
    }


def _owner(owner: str) -> str:
    return owner.split(" ", maxsplit=1)[0]


def test_every_object_carries_the_ownership_labels(objects: tuple[Manifest, ...]) -> None:
    unlabelled = [
        describe(o)
        for o in objects
        if any((o["metadata"].get("labels") or {}).get(k) != v for k, v in OWNERSHIP_LABELS.items())
    ]
    assert unlabelled == []


def test_every_image_is_pinned_to_an_exact_version(objects: tuple[Manifest, ...]) -> None:
    loose = [
        f"{owner}: {c['image']}"
        for owner, _, c in all_containers(objects)
        if not EXACT_TAG.match(parse_image(c["image"]).tag)
    ]
    assert loose == []


def test_airflow_runs_the_seed_image_everywhere(objects: tuple[Manifest, ...]) -> None:
    airflow = [
        (owner, c)
        for owner, _, c in all_containers(objects)
        if parse_image(c["image"]).repository == "apache/airflow"
    ]
    owners = {_owner(owner).rsplit("/", 1)[1] for owner, _ in airflow}
    assert {
        "airflow-webserver",
        "airflow-db-migrate",
        "airflow-create-admin",
        "airflow-scheduler-1",
    } <= owners
    assert any("worker pod template" in owner for owner, _ in airflow)
    assert {c["image"] for _, c in airflow} == {AIRFLOW_IMAGE}


def test_pods_run_with_the_runtime_default_seccomp_profile(objects: tuple[Manifest, ...]) -> None:
    missing = sorted(
        {
            _owner(owner)
            for owner, spec, _ in all_containers(objects)
            if (spec.get("securityContext") or {}).get("seccompProfile") != {"type": "RuntimeDefault"}
        }
    )
    assert missing == []


def _effective(spec: dict[str, Any], container: dict[str, Any], key: str) -> Any:
    own = container.get("securityContext") or {}
    return own[key] if key in own else (spec.get("securityContext") or {}).get(key)


def test_containers_drop_all_capabilities_and_never_escalate(objects: tuple[Manifest, ...]) -> None:
    problems = []
    for owner, _spec, container in all_containers(objects):
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            continue  # checked against its policy exception below
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{owner}: allowPrivilegeEscalation")
        if "ALL" not in (context.get("capabilities") or {}).get("drop", []):
            problems.append(f"{owner}: capabilities not dropped")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{owner}: writable root filesystem")
    assert problems == []


def test_main_containers_run_as_non_root(objects: tuple[Manifest, ...]) -> None:
    problems = []
    for owner, spec, container in all_containers(objects):
        is_init = container in (spec.get("initContainers") or [])
        privileged = (container.get("securityContext") or {}).get("privileged")
        root = (
            _effective(spec, container, "runAsUser") == 0
            or _effective(spec, container, "runAsNonRoot") is not True
        )
        if privileged:
            continue
        if is_init and root:
            added = set((container.get("securityContext") or {}).get("capabilities", {}).get("add", []))
            if not added <= ROOT_INIT_CAPABILITIES:
                problems.append(f"{owner}: root init container adds {sorted(added)}")
        elif root:
            problems.append(f"{owner}: may run as root")
    assert problems == []


def test_host_access_only_with_a_reasoned_policy_exception(objects: tuple[Manifest, ...]) -> None:
    used: dict[str, set[str]] = {}
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        needs = set()
        if spec.get("hostNetwork"):
            needs.add("host-network")
        if spec.get("hostPID"):
            needs.add("host-pid")
        if any("hostPath" in v for v in spec.get("volumes") or []):
            needs.add("host-path")
        if any(
            (c.get("securityContext") or {}).get("privileged")
            for c in spec.get("containers", []) + spec.get("initContainers", [])
        ):
            needs.add("privileged")
        granted = _exceptions(obj) & HOST_RULES
        assert needs == granted, f"{describe(obj)}: needs {sorted(needs)}, exceptions {sorted(granted)}"
        for rule in granted:
            reason = obj["metadata"]["annotations"][POLICY_EXCEPTION_PREFIX + rule]
            assert len(reason.split()) >= 8, f"{describe(obj)}: give a real reason for {rule}"
        if needs:
            used[obj["metadata"]["name"]] = needs
    assert used == {
        "nfs-server": {"privileged", "host-path"},
        "node-exporter": {"host-network", "host-pid", "host-path"},
    }


def test_only_api_users_mount_a_service_account_token(objects: tuple[Manifest, ...]) -> None:
    accounts = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceAccount"}
    bound = {
        s["name"]
        for o in objects
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for s in o["subjects"]
    }
    mounting = set()
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        account = spec.get("serviceAccountName", "default")
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = (accounts.get(account) or {}).get("automountServiceAccountToken", True)
        if automount:
            assert account in bound, f"{describe(obj)} mounts a token its account cannot use"
            mounting.add(re.sub(r"-\d+$", "", obj["metadata"]["name"]))
    assert mounting == API_USERS


def test_long_running_containers_have_readiness_and_liveness_probes(objects: tuple[Manifest, ...]) -> None:
    missing = []
    for obj in objects:
        if obj["kind"] not in LONG_RUNNING:
            continue
        for container in (pod_spec(obj) or {})["containers"]:
            missing += [
                f"{describe(obj)} [{container['name']}] {p}"
                for p in ("readinessProbe", "livenessProbe")
                if p not in container
            ]
    assert missing == []


def test_scheduler_liveness_is_the_helm_charts_heartbeat_check(objects: tuple[Manifest, ...]) -> None:
    schedulers = [
        o
        for o in objects
        if o["kind"] == "Deployment" and o["metadata"]["name"].startswith("airflow-scheduler-")
    ]
    assert schedulers
    for scheduler in schedulers:
        container = (pod_spec(scheduler) or {})["containers"][0]
        probe = container["livenessProbe"]
        assert "airflow jobs check --job-type SchedulerJob --local" in " ".join(probe["exec"]["command"])
        assert probe["timeoutSeconds"] >= 20


def test_webserver_probes_health(objects: tuple[Manifest, ...]) -> None:
    container = (pod_spec(find(objects, "Deployment", "airflow-webserver")) or {})["containers"][0]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] == "/health"


# --- deploy order --------------------------------------------------------------------------------------

# The seed's manual `kubectl apply` order ("Ручное развертывание"), one step per group.
SEED_ORDER: list[tuple[str, list[tuple[str, str]]]] = [
    ("namespace", [("Namespace", "airflow")]),
    ("configuration", [("ConfigMap", "airflow-config"), ("ConfigMap", "airflow-worker-config")]),
    (
        "NFS storage",
        [
            ("Deployment", "nfs-server"),
            ("Service", "nfs-server"),
            ("Deployment", "nfs-client-provisioner"),
            ("StorageClass", "nfs-client"),
            ("PersistentVolumeClaim", "airflow-dags"),
            ("PersistentVolumeClaim", "airflow-logs"),
            ("Pod", "test-nfs-pod"),
        ],
    ),
    (
        "RBAC",
        [
            ("ServiceAccount", "airflow"),
            ("Role", "airflow-pod-launcher"),
            ("RoleBinding", "airflow-pod-launcher"),
        ],
    ),
    ("PostgreSQL", [("StatefulSet", "postgres"), ("Service", "postgres")]),
    ("migration", [("Job", "airflow-db-migrate")]),
    ("webserver", [("Deployment", "airflow-webserver"), ("Service", "airflow-webserver")]),
    ("schedulers", [("Deployment", "airflow-scheduler-1")]),
    ("node-exporter", [("DaemonSet", "node-exporter")]),
    ("Prometheus", [("Deployment", "prometheus"), ("Service", "prometheus")]),
    (
        "Grafana",
        [("Deployment", "grafana"), ("Service", "grafana"), ("ConfigMap", "grafana-dashboard-basic")],
    ),
    ("advanced dashboard", [("ConfigMap", "grafana-dashboard-advanced")]),
]


def _wave(obj: Manifest) -> int:
    return int((obj["metadata"].get("annotations") or {})[ARGOCD_SYNC_WAVE])


def test_every_object_has_a_sync_wave(objects: tuple[Manifest, ...]) -> None:
    assert [
        describe(o) for o in objects if ARGOCD_SYNC_WAVE not in (o["metadata"].get("annotations") or {})
    ] == []


def test_sync_waves_follow_the_seeds_apply_order(objects: tuple[Manifest, ...]) -> None:
    waves = []
    for step, members in SEED_ORDER:
        found = {_wave(find(objects, kind, name)) for kind, name in members}
        assert len(found) == 1, f"{step}: one wave for the whole step, found {sorted(found)}"
        waves.append((found.pop(), step))
    assert [step for _, step in sorted(waves)] == [step for step, _ in SEED_ORDER]
    assert len({wave for wave, _ in waves}) == len(waves), "each step its own wave"
    # The worker pod templates come with their scheduler: a later wave would keep the scheduler pod,
    # which mounts its template, from starting, and Argo CD would wait on that wave forever.
    for obj in objects:
        if generated_name(obj["metadata"]["name"]).startswith("worker-pod-template-"):
            n = obj["metadata"]["name"].rsplit("-", 1)[1]
            assert _wave(obj) == _wave(find(objects, "Deployment", f"airflow-scheduler-{n}"))


def _references(spec: dict[str, Any]) -> set[tuple[str, str]]:
    refs = {("ServiceAccount", spec["serviceAccountName"])} if "serviceAccountName" in spec else set()
    for volume in spec.get("volumes") or []:
        if "configMap" in volume and not volume["configMap"].get("optional"):
            refs.add(("ConfigMap", volume["configMap"]["name"]))
        if "persistentVolumeClaim" in volume:
            refs.add(("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]))
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                refs.add(("ConfigMap", source["configMapRef"]["name"]))
    return refs


def test_nothing_waits_on_a_later_wave(objects: tuple[Manifest, ...]) -> None:
    """Argo CD holds each wave until it is healthy: a pod needing a later wave's object never starts."""
    by_ref = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    late = []
    for obj in objects:
        spec = pod_spec(obj)
        for ref in _references(spec) if spec else ():
            if ref in by_ref and _wave(by_ref[ref]) > _wave(obj):
                late.append(f"{describe(obj)} needs {ref[0]}/{ref[1]} from wave {_wave(by_ref[ref])}")
            elif ref not in by_ref and ref[0] != "ServiceAccount":
                late.append(f"{describe(obj)} needs {ref[0]}/{ref[1]}, which is not rendered")
    assert late == []


# A variable holding a credential itself (a *_FILE variable names a mounted file instead).
CREDENTIAL_NAME = re.compile(r"^(?!.*_FILE$).*(PASSWORD|PASS$|SECRET|TOKEN|FERNET|_KEY$|SQL_ALCHEMY_CONN)")


def test_no_credential_is_written_in_git(objects: tuple[Manifest, ...]) -> None:
    """Credentials come from the out-of-band Secret only (the seed's admin/admin is gone)."""
    literal = [
        f"{owner}: {env['name']}"
        for owner, _, container in all_containers(objects)
        for env in container.get("env") or []
        if CREDENTIAL_NAME.search(env["name"]) and "value" in env
    ]
    assert literal == []
    config = find(objects, "ConfigMap", "airflow-config")["data"]
    assert not [key for key in config if CREDENTIAL_NAME.search(key)]


def test_the_webserver_may_read_pod_logs_and_nothing_more(objects: tuple[Manifest, ...]) -> None:
    """Its own account, bound in namespace airflow to a Role of pods get/list and pods/log get."""
    webserver = pod_spec(find(objects, "Deployment", "airflow-webserver")) or {}
    assert webserver["serviceAccountName"] == "airflow-webserver"
    assert webserver["automountServiceAccountToken"] is True
    bindings = [
        o
        for o in objects
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding")
        and any(s["name"] == "airflow-webserver" for s in o["subjects"])
    ]
    assert [(b["kind"], b["metadata"]["namespace"]) for b in bindings] == [("RoleBinding", "airflow")]
    role = find(objects, "Role", bindings[0]["roleRef"]["name"])
    grants = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert grants == {("", "pods", "get"), ("", "pods", "list"), ("", "pods/log", "get")}
