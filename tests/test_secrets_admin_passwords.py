"""`gitops-tool secrets rotate --admin-passwords` (and with --database-password) against the emulated
API server: each stored password is set in its server by a Job before the Secret records it.

An emulated kubelet runs each Job: it resolves the pod's secretKeyRef environment from the Secrets
stored at that moment (as a kubelet does when the container starts) and plays the server the Job
talks to (PostgreSQL, Airflow's user table, Grafana), which accepts a login only with the password
it holds. So the tests see what a cluster would: which passwords the servers end up with, and
whether the Secret tells the truth about them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gitops_tool.core import conventions as c
from gitops_tool.core import password_jobs as pj
from tests.cluster_support import (
    CANARY_TOKEN,
    canary_secret_values,
    kube_args,
    namespace,
    secret_object,
    writes,
)
from tests.conftest import RunCli
from tests.kubeapi import KubeApiServer

SECRETS = "/api/v1/namespaces/airflow/secrets"
SECRET = f"{SECRETS}/airflow-secrets"
ROTATION = f"{SECRETS}/airflow-secrets-rotation"
JOBS = "/apis/batch/v1/namespaces/airflow/jobs"
DEPLOYMENTS = "/apis/apps/v1/namespaces/airflow/deployments"
AIRFLOW_IMAGE = "apache/airflow:2.11.0-python3.9"


def _decoded(data: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def _reader(name: str, container: str, image: str, key: str, **extra: Any) -> dict[str, Any]:
    env = [
        {"name": "GF_SECURITY_ADMIN_USER", "value": "grafana-root"},
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "airflow-secrets", "key": key}}},
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "airflow"},
        "spec": {
            **extra,
            "template": {"spec": {"containers": [{"name": container, "image": image, "env": env}]}},
        },
    }


def _postgres() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "postgres", "namespace": "airflow"},
        "spec": {"template": {"spec": {"containers": [{"name": "postgres", "image": "postgres:16.9"}]}}},
    }


@dataclass
class Servers:
    """The passwords PostgreSQL, Airflow and Grafana hold, and the Jobs they saw."""

    postgres: str
    airflow_admin: str
    grafana_admin: str
    failing: set[str] = field(default_factory=set)  # components whose Job fails after logging in
    hanging: bool = False
    jobs: list[dict[str, Any]] = field(default_factory=list)
    envs: list[dict[str, str]] = field(default_factory=list)

    def _env(self, api: KubeApiServer, container: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        for entry in container.get("env") or []:
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
            if ref is None:
                env[entry["name"]] = entry["value"]
                continue
            secret = api.get_object("Secret", "airflow", ref["name"])
            assert secret is not None, f"the pod would not start: Secret {ref['name']} is missing"
            env[entry["name"]] = _decoded(secret["data"])[ref["key"]]
        return env

    def _run(self, component: str, env: dict[str, str]) -> bool:
        new = env.get(pj.NEW_PASSWORD_ENV, "")
        if component == pj.COMPONENT_DB_PASSWORD:
            if env["PGPASSWORD"] != self.postgres or component in self.failing:
                return False
            self.postgres = new
        elif component == pj.COMPONENT_AIRFLOW_ADMIN:
            # Airflow reaches its metadata DB with the URL from the Secret.
            if f":{self.postgres}@" not in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]:
                return False
            if component in self.failing:
                return False
            self.airflow_admin = new
        elif component == pj.COMPONENT_GRAFANA_ADMIN:
            if env["CURRENT_PASSWORD"] != self.grafana_admin or component in self.failing:
                return False
            self.grafana_admin = new
        else:
            return False
        return True

    def kubelet(self, api: KubeApiServer, job: dict[str, Any]) -> None:
        self.jobs.append(job)
        if not self.hanging:
            self.finish(api, job)

    def finish(self, api: KubeApiServer, job: dict[str, Any]) -> None:
        """Run ``job`` to its end now (the pod starts, talks to its server, exits)."""
        name = job["metadata"]["name"]
        container = job["spec"]["template"]["spec"]["containers"][0]
        env = self._env(api, container)
        self.envs.append(env)
        ok = self._run(job["spec"]["template"]["metadata"]["labels"][c.COMPONENT_LABEL], env)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"{name}-p", "namespace": "airflow", "labels": {"job-name": name}},
            "status": {"phase": "Succeeded" if ok else "Failed"},
        }
        api.add(pod)
        api.set_log("airflow", f"{name}-p", "done\n" if ok else "refused: HTTP 401\n")
        job["status"] = {"conditions": [{"type": "Complete" if ok else "Failed", "status": "True"}]}
        api.add(job)


@pytest.fixture
def initial() -> dict[str, str]:
    return canary_secret_values()


@pytest.fixture
def servers(initial: dict[str, str]) -> Servers:
    return Servers(
        initial[c.SECRET_KEY_POSTGRES_PASSWORD],
        initial[c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD],
        initial[c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD],
    )


@pytest.fixture
def api(servers: Servers, initial: dict[str, str]) -> Iterator[KubeApiServer]:
    # The database URL in the Secret must carry the database password, as `secrets init` writes it.
    from gitops_tool.core.secret_values import sql_alchemy_conn

    values = {
        **initial,
        c.SECRET_KEY_SQL_ALCHEMY_CONN: sql_alchemy_conn(initial[c.SECRET_KEY_POSTGRES_PASSWORD]),
    }
    with KubeApiServer([namespace(), secret_object(values)], token=CANARY_TOKEN) as server:
        server.add_all(
            [
                _reader("airflow-webserver", "airflow-webserver", AIRFLOW_IMAGE, c.SECRET_KEY_FERNET),
                _reader("grafana", "grafana", "grafana/grafana:12.0.2", c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD),
                _postgres(),
            ]
        )
        server.on_create("Job", servers.kubelet)
        yield server


def _stored(api: KubeApiServer) -> dict[str, str]:
    secret = api.get_object("Secret", "airflow", "airflow-secrets")
    assert secret is not None
    return _decoded(secret["data"])


def _steps(api: KubeApiServer) -> list[tuple[str, str]]:
    """(method, path) of every write, a Job's generated name shortened to its prefix."""
    steps = []
    for w in writes(api):
        path = w.path
        if path.startswith(JOBS + "/"):
            path = JOBS + "/" + path.rsplit("/", 1)[1].rsplit("-", 2)[0]
        steps.append((w.method, path))
    return steps


def _step(job: str) -> list[tuple[str, str]]:
    return [("POST", SECRETS), ("POST", JOBS), ("DELETE", f"{JOBS}/{job}"), ("DELETE", ROTATION)]


def _assert_no_value_printed(text: str, *value_sets: dict[str, str]) -> None:
    for values in value_sets:
        for value in values.values():
            assert value not in text


def test_admin_passwords_are_set_in_the_servers_before_the_secret_records_them(
    api: KubeApiServer, servers: Servers, initial: dict[str, str], tmp_path: Path, run_cli: RunCli
) -> None:
    before = _stored(api)
    result = run_cli("secrets", "rotate", "--admin-passwords", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert _steps(api) == [
        *_step("airflow-admin-password"),
        ("PUT", SECRET),  # recorded before the next server is touched
        *_step("grafana-admin-password"),
        ("PUT", SECRET),
        ("PATCH", f"{DEPLOYMENTS}/airflow-webserver"),
        ("PATCH", f"{DEPLOYMENTS}/grafana"),
    ]
    after = _stored(api)
    # The Secret tells the truth: what the servers hold now, and new values.
    assert (
        after[c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD]
        == servers.airflow_admin
        != initial[c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD]
    )
    assert (
        after[c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD]
        == servers.grafana_admin
        != initial[c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD]
    )
    assert after[c.SECRET_KEY_POSTGRES_PASSWORD] == servers.postgres == before[c.SECRET_KEY_POSTGRES_PASSWORD]
    assert after[c.SECRET_KEY_FERNET].split(",")[1] == before[c.SECRET_KEY_FERNET]
    assert after[c.SECRET_KEY_WEBSERVER] != before[c.SECRET_KEY_WEBSERVER]
    first_put = _decoded(writes(api)[4].body["data"])
    assert first_put == {**before, c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD: servers.airflow_admin}
    assert writes(api)[4].body["metadata"]["resourceVersion"]  # optimistic concurrency on every write
    assert api.get_object("Secret", "airflow", "airflow-secrets-rotation") is None
    # The Jobs: Airflow's image from the live webserver; the values only through secretKeyRef.
    airflow_job, grafana_job = servers.jobs
    for job in servers.jobs:
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == AIRFLOW_IMAGE
        body = str(job)
        for value in (*after.values(), *before.values()):
            assert value not in body
        new_password = {e["name"]: e.get("valueFrom") for e in container["env"]}[pj.NEW_PASSWORD_ENV]
        assert new_password["secretKeyRef"]["name"] == "airflow-secrets-rotation"
    assert "airflow users reset-password --username admin" in str(airflow_job)
    grafana_env = {e["name"]: e for e in grafana_job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert grafana_env["GRAFANA_USER"]["value"] == "grafana-root"  # the login the live Grafana was given
    assert grafana_env["CURRENT_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "airflow-secrets", "key": "grafana-admin-password"}
    }
    assert (
        "rotated fernet-key, webserver-secret-key, jwt-secret, airflow-admin-password, grafana-admin-password"
        in result.out
    )
    assert "restarted Deployment/grafana" in result.out
    _assert_no_value_printed(result.out + result.err, before, after)


@pytest.mark.parametrize("failing", [pj.COMPONENT_AIRFLOW_ADMIN, pj.COMPONENT_GRAFANA_ADMIN])
def test_a_failed_job_leaves_its_server_and_key_as_they_were(
    api: KubeApiServer, servers: Servers, tmp_path: Path, run_cli: RunCli, failing: str
) -> None:
    servers.failing = {failing}
    before = _stored(api)
    result = run_cli("secrets", "rotate", "--admin-passwords", *kube_args(api, tmp_path))
    assert result.code == 2
    assert result.err.strip().splitlines()[-1].startswith("gitops-tool: error: changing the ")
    after = _stored(api)
    assert api.get_object("Secret", "airflow", "airflow-secrets-rotation") is None
    assert api.objects("Job") == []  # every Job it created was deleted
    if failing == pj.COMPONENT_AIRFLOW_ADMIN:
        assert _steps(api) == _step("airflow-admin-password")  # nothing else happens
        assert (
            "the Airflow admin password failed" in result.err and "the Secret was not changed" in result.err
        )
        assert after == before
    else:
        assert _steps(api) == [
            *_step("airflow-admin-password"),
            ("PUT", SECRET),
            *_step("grafana-admin-password"),
        ]
        assert "the Grafana admin password failed" in result.err
        assert (
            "grafana-admin-password keeps its value; already rotated and recorded in the Secret: "
            in result.err
        )
        assert after == {**before, c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD: servers.airflow_admin}
    assert after[c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD] == servers.grafana_admin
    assert after[c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD] == servers.airflow_admin
    _assert_no_value_printed(result.out + result.err, before, after)


def test_with_the_database_password_the_database_goes_last(
    api: KubeApiServer, servers: Servers, tmp_path: Path, run_cli: RunCli
) -> None:
    before = _stored(api)
    result = run_cli(
        "secrets", "rotate", "--admin-passwords", "--database-password", *kube_args(api, tmp_path)
    )
    assert result.code == 0, result.err
    assert [s for s in _steps(api) if s[0] != "PATCH"] == [
        *_step("airflow-admin-password"),
        ("PUT", SECRET),
        *_step("grafana-admin-password"),
        ("PUT", SECRET),
        *_step("airflow-db-password"),
        ("PUT", SECRET),
    ]
    after = _stored(api)
    assert servers.postgres == after[c.SECRET_KEY_POSTGRES_PASSWORD] != before[c.SECRET_KEY_POSTGRES_PASSWORD]
    assert f":{servers.postgres}@" in after[c.SECRET_KEY_SQL_ALCHEMY_CONN]
    assert servers.airflow_admin == after[c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD]
    assert servers.grafana_admin == after[c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD]
    assert "airflow-admin-password, grafana-admin-password, postgres-password, sql-alchemy-conn" in result.out
    _assert_no_value_printed(result.out + result.err, before, after)


def test_a_leftover_rotation_secret_is_removed_first(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    leftover = pj.rotation_secret(pj.GRAFANA_ADMIN, "left-by-an-interrupted-run")
    api.add(leftover)
    result = run_cli("secrets", "rotate", "--admin-passwords", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert _steps(api)[:2] == [("DELETE", ROTATION), ("POST", SECRETS)]
    assert api.get_object("Secret", "airflow", "airflow-secrets-rotation") is None


def test_a_job_that_never_finishes_is_deleted_and_nothing_is_recorded(
    api: KubeApiServer, servers: Servers, tmp_path: Path, run_cli: RunCli
) -> None:
    servers.hanging = True
    before = _stored(api)
    result = run_cli(
        "secrets", "rotate", "--admin-passwords", "--timeout", "1", "--poll-interval", "0.05",
        *kube_args(api, tmp_path),
    )  # fmt: skip
    assert result.code == 2
    assert "did not finish within 1s (--timeout); it was stopped and deleted" in result.err
    assert "the Secret was not changed" in result.err
    delete_job = [w for w in writes(api) if w.method == "DELETE" and w.path.startswith(JOBS)]
    assert delete_job and delete_job[0].query == {"propagationPolicy": "Background"}
    assert api.objects("Job") == []
    assert api.get_object("Secret", "airflow", "airflow-secrets-rotation") is None
    assert _stored(api) == before


@pytest.mark.parametrize(
    ("present", "message"),
    [
        (
            {"airflow-webserver": {}, "grafana": {"replicas": 2}},
            "has 2 replicas; its admin password can be changed only while exactly one runs",
        ),
        ({"airflow-webserver": {}}, "no Deployment airflow/grafana with a grafana container"),
        ({"grafana": {}}, "no Deployment airflow/airflow-webserver with an airflow-webserver container"),
    ],
)
def test_preconditions_are_checked_before_any_change(
    tmp_path: Path, run_cli: RunCli, present: dict[str, dict[str, Any]], message: str
) -> None:
    with KubeApiServer([namespace(), secret_object()]) as api:
        api.add_all(
            _reader(name, name, AIRFLOW_IMAGE, c.SECRET_KEY_FERNET, **spec) for name, spec in present.items()
        )
        result = run_cli("secrets", "rotate", "--admin-passwords", *kube_args(api, tmp_path))
        assert result.code == 2 and message in result.err
        assert writes(api) == []


def test_without_the_option_no_admin_password_changes(
    api: KubeApiServer, servers: Servers, tmp_path: Path, run_cli: RunCli
) -> None:
    before = _stored(api)
    result = run_cli("secrets", "rotate", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert servers.jobs == []
    after = _stored(api)
    for key in (c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD, c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD):
        assert after[key] == before[key]
    assert "admin" not in result.out


# --- the Jobs themselves: Pod Security restricted, placement, resources --------------------------

POD_RULES = {
    "no-privilege-escalation", "drop-all-capabilities", "seccomp-profile", "run-as-non-root",
    "read-only-root-filesystem", "pod-security-restricted", "service-account-token", "container-resources",
    "privileged", "host-path", "host-network", "host-pid", "host-ipc",
}  # fmt: skip


def _rotation_jobs() -> list[dict[str, Any]]:
    return [
        pj.database_job("airflow-db-password", "postgres:16.9"),
        pj.airflow_admin_job("airflow-admin-password", AIRFLOW_IMAGE),
        pj.grafana_admin_job("grafana-admin-password", AIRFLOW_IMAGE, "admin"),
    ]


def _pod_findings(jobs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from gitops_tool.adapters.policy import PolicyEngine
    from tests.conftest import REPO_ROOT

    enforcing = namespace()
    enforcing["metadata"]["labels"] = {"pod-security.kubernetes.io/enforce": "restricted"}
    document = {
        "overlay": {"name": "rotation-jobs", "kind": "ha"},
        "objects": [enforcing, *jobs],
        "node_roles": {},
        "embedded_pods": {},
    }
    findings = PolicyEngine(REPO_ROOT / "policies").evaluate(document).findings
    return [(f["rule"], f["object"]) for items in findings.values() for f in items if f["rule"] in POD_RULES]


def test_every_rotation_job_passes_pod_security_restricted_and_the_hardening_policies() -> None:
    jobs = _rotation_jobs()
    assert _pod_findings(jobs) == []
    # Not vacuous: the same evaluation sees a container that may escalate.
    jobs[1]["spec"]["template"]["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    assert ("pod-security-restricted", "Job/airflow/airflow-admin-password") in _pod_findings(jobs)


def test_every_rotation_job_runs_once_on_the_management_node_without_an_api_token() -> None:
    for job in _rotation_jobs():
        pod = job["spec"]["template"]["spec"]
        assert job["spec"]["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"
        assert pod["automountServiceAccountToken"] is False
        terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"][0]["matchExpressions"] == [
            {"key": c.NODE_ROLE_LABEL, "operator": "In", "values": [c.MANAGEMENT_ROLE]}
        ]
        for container in pod["containers"]:
            assert set(container["resources"]) == {"requests", "limits"}
            refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
            assert all(set(ref) == {"name", "key"} for ref in refs)
            assert not [e for e in container["env"] if "PASSWORD" in e["name"] and "value" in e]


def test_a_conflicting_secret_write_still_records_what_a_server_already_holds(
    api: KubeApiServer, servers: Servers, tmp_path: Path, run_cli: RunCli
) -> None:
    api.fail(409, method="PUT", path=SECRET, times=1)  # someone else wrote the Secret meanwhile
    result = run_cli("secrets", "rotate", "--admin-passwords", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    after_first_job = [(r.method, r.path) for r in api.requests if r.path == SECRET][1:4]
    assert after_first_job == [("PUT", SECRET), ("GET", SECRET), ("PUT", SECRET)]
    after = _stored(api)
    assert after[c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD] == servers.airflow_admin
    assert after[c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD] == servers.grafana_admin


def test_when_the_last_write_conflicts_the_password_is_recorded_and_the_keys_are_not_rotated(
    api: KubeApiServer, servers: Servers, tmp_path: Path, run_cli: RunCli
) -> None:
    before = _stored(api)
    api.fail(409, method="PUT", path=SECRET, times=1)
    result = run_cli("secrets", "rotate", "--database-password", *kube_args(api, tmp_path))
    assert result.code == 2
    assert "changed while this command ran: postgres-password, sql-alchemy-conn recorded on top" in result.err
    assert "fernet-key, webserver-secret-key, jwt-secret not rotated; run it again" in result.err
    after = _stored(api)
    assert after[c.SECRET_KEY_POSTGRES_PASSWORD] == servers.postgres != before[c.SECRET_KEY_POSTGRES_PASSWORD]
    assert after[c.SECRET_KEY_FERNET] == before[c.SECRET_KEY_FERNET]
    assert not [w for w in writes(api) if w.method == "PATCH"]  # nothing restarted
    _assert_no_value_printed(result.out + result.err, before, after)


# --- a Job that succeeds while the wait for it ends otherwise -------------------------------------


def _rotate_directly(api: KubeApiServer, tmp_path: Path, waiting: Any) -> None:
    from gitops_tool.services import secrets
    from gitops_tool.services.cluster_access import open_cluster

    # 30 s per request: a test's hook may run a pod to its end inside a request (slow on a busy machine).
    with open_cluster(str(api.kubeconfig(tmp_path, token=CANARY_TOKEN)), None, 30) as client:
        secrets.rotate(client, True, admin_passwords=True, waiting=waiting)


def test_a_job_that_succeeds_as_the_timeout_strikes_is_recorded_before_the_command_stops(
    api: KubeApiServer, servers: Servers, tmp_path: Path
) -> None:
    from gitops_tool.errors import ClusterError
    from gitops_tool.services.backup import Waiting

    servers.hanging = True
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    def finish_late(api_: KubeApiServer, recorded: Any) -> None:
        # The pod finishes after the last look at the Job, as the wait runs out.
        if recorded.method == "GET" and recorded.path.endswith("/pods") and now[0] >= 1 and servers.jobs:
            job = api_.get_object("Job", "airflow", servers.jobs[0]["metadata"]["name"])
            if job is not None and not job.get("status"):
                servers.finish(api_, job)

    api.on_request(finish_late)
    before = _stored(api)
    with pytest.raises(ClusterError) as err:
        _rotate_directly(api, tmp_path, Waiting(timeout=1, poll=1, sleep=advance, clock=lambda: now[0]))
    assert "did not finish within 1s (--timeout); it was stopped and deleted, but it had succeeded" in str(
        err.value
    )
    assert "rotated and recorded in the Secret: airflow-admin-password; nothing else was rotated" in str(
        err.value
    )
    after = _stored(api)
    assert after == {**before, c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD: servers.airflow_admin}
    assert servers.airflow_admin != before[c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD]
    assert len(servers.jobs) == 1  # Grafana was not touched
    assert (
        api.objects("Job") == [] and api.get_object("Secret", "airflow", "airflow-secrets-rotation") is None
    )


def test_ctrl_c_after_the_job_succeeded_records_the_password_then_stops(
    api: KubeApiServer, servers: Servers, tmp_path: Path
) -> None:
    from gitops_tool.services.backup import Waiting

    servers.hanging = True

    def interrupted(_seconds: float) -> None:
        job = api.get_object("Job", "airflow", servers.jobs[0]["metadata"]["name"])
        assert job is not None
        servers.finish(api, job)  # the pod finishes between two looks...
        raise KeyboardInterrupt  # ...and the operator presses Ctrl-C

    before = _stored(api)
    with pytest.raises(KeyboardInterrupt):
        _rotate_directly(api, tmp_path, Waiting(timeout=60, poll=1, sleep=interrupted))
    assert _stored(api) == {**before, c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD: servers.airflow_admin}
    assert (
        api.objects("Job") == [] and api.get_object("Secret", "airflow", "airflow-secrets-rotation") is None
    )


def test_ctrl_c_while_the_job_runs_leaves_server_and_secret_as_they_were(
    api: KubeApiServer, servers: Servers, tmp_path: Path
) -> None:
    from gitops_tool.services.backup import Waiting

    servers.hanging = True

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    before = _stored(api)
    with pytest.raises(KeyboardInterrupt):
        _rotate_directly(api, tmp_path, Waiting(timeout=60, poll=1, sleep=interrupted))
    assert _stored(api) == before
    assert servers.airflow_admin == before[c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD]
    assert (
        api.objects("Job") == [] and api.get_object("Secret", "airflow", "airflow-secrets-rotation") is None
    )


# --- the rotation and the repository's manifests agree ---------------------------------------------


@pytest.mark.parametrize("overlay", ["overlays/three-node-ha", "overlays/single-node-legacy"])
def test_the_rotation_jobs_agree_with_the_rendered_admin_hook_grafana_and_nodes(overlay: str) -> None:
    from tests.manifests_support import find, fits_node, node_labels, node_roles, rendered

    objects = rendered(overlay)
    hook = find(objects, "Job", "airflow-create-admin")
    script = " ".join(hook["spec"]["template"]["spec"]["containers"][0]["args"])
    # The Sync hook only creates a missing admin, the user the rotation resets, from the key it writes:
    # a re-sync never undoes a rotation, and a fresh database gets the Secret's password.
    assert "airflow users create" in script and "reset-password" not in script
    assert f"--username {c.AIRFLOW_ADMIN_USER} " in script
    hook_env = {
        e["name"]: e.get("valueFrom") for e in hook["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert {"secretKeyRef": {"name": c.SECRET_NAME, "key": pj.AIRFLOW_ADMIN.key}} in hook_env.values()
    assert f"--username {c.AIRFLOW_ADMIN_USER} " in str(_rotation_jobs()[1])
    grafana = find(objects, "Deployment", "grafana")["spec"]["template"]["spec"]
    grafana_env = {e["name"]: e for e in grafana["containers"][0]["env"]}
    assert grafana_env["GF_SECURITY_ADMIN_USER"]["value"] == c.GRAFANA_ADMIN_USER
    assert (
        grafana_env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == pj.GRAFANA_ADMIN.key
    )
    # Grafana's database is per pod: why one replica, and why a new pod takes the Secret's value.
    assert next(v for v in grafana["volumes"] if v["name"] == "data").get("emptyDir") is not None
    management = node_labels(overlay)[node_roles(overlay)[c.MANAGEMENT_ROLE]]
    for job in _rotation_jobs():
        assert fits_node(job["spec"]["template"]["spec"], management)
