"""``gitops-tool secrets init|rotate``: the out-of-band Secret every workload reads.

Values go to the API server or to a 0600 file outside any Git work tree, and nowhere else:
messages name keys, never values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops_tool.adapters.files import atomic_write, enclosing_work_tree
from gitops_tool.adapters.kube.client import KubeClient, api_path
from gitops_tool.adapters.project import find_project_root
from gitops_tool.core import password_jobs as pj
from gitops_tool.core import secret_values as sv
from gitops_tool.core.backup_jobs import job_state
from gitops_tool.core.conventions import (
    GRAFANA_ADMIN_USER,
    NAMESPACE,
    SECRET_KEY_FERNET,
    SECRET_KEY_WEBSERVER,
    SECRET_KEYS,
    SECRET_NAME,
)
from gitops_tool.errors import ApiConflict, ClusterApiError, ClusterError, UserError
from gitops_tool.services.backup import JOBS, Report, Waiting, run_job

SECRET_PATH = api_path("", "v1", "secrets", NAMESPACE, SECRET_NAME)
RESTART_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
_WORKLOADS = (("apps", "v1", "deployments", "Deployment"), ("apps", "v1", "statefulsets", "StatefulSet"))


@dataclass(frozen=True)
class InitResult:
    action: str  # "created", "replaced", "written"
    where: str
    keys: tuple[str, ...] = SECRET_KEYS
    notes: list[str] = field(default_factory=list)


def init_in_cluster(client: KubeClient, force: bool) -> InitResult:
    existing = client.get_or_none(SECRET_PATH)
    if existing is not None and not force:
        raise UserError(
            f"Secret {NAMESPACE}/{SECRET_NAME} already exists; refusing to overwrite it (--force replaces "
            "every value: a new postgres-password no longer matches an initialised database, "
            "so prefer `gitops-tool secrets rotate`)"
        )
    notes: list[str] = []
    manifest = sv.secret_manifest(sv.generate_values())
    if existing is None:
        if client.get_or_none(api_path("", "v1", "namespaces", name=NAMESPACE)) is None:
            client.create(
                api_path("", "v1", "namespaces"),
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            )
            notes.append(f"created namespace {NAMESPACE} (Argo CD adopts it on the first sync)")
        _write(client, "POST", manifest)
        return InitResult("created", f"Secret {NAMESPACE}/{SECRET_NAME}", notes=notes)
    manifest["metadata"]["resourceVersion"] = (existing.get("metadata") or {}).get("resourceVersion")
    _write(client, "PUT", manifest)
    notes.append("restart the Airflow and Grafana pods so they read the new values")
    return InitResult("replaced", f"Secret {NAMESPACE}/{SECRET_NAME}", notes=notes)


def _write(client: KubeClient, method: str, manifest: dict[str, Any]) -> dict[str, Any]:
    try:
        if method == "POST":
            return client.create(api_path("", "v1", "secrets", NAMESPACE), manifest)
        return client.replace(SECRET_PATH, manifest)
    except ApiConflict:
        raise ClusterError(
            f"Secret {NAMESPACE}/{SECRET_NAME} changed while this command ran; run it again"
        ) from None


def init_to_file(path: Path, force: bool) -> InitResult:
    target = path.expanduser()
    tree = enclosing_work_tree(target.parent if target.parent != Path() else Path.cwd())
    if tree is None:
        try:
            project = find_project_root()
        except UserError:
            project = None
        if project is not None and target.resolve().is_relative_to(project):
            tree = project
    if tree is not None:
        raise UserError(
            f"refusing to write credentials to {path}: it is inside the work tree {tree}, where they could "
            "be committed; choose a path outside it"
        )
    if target.exists() and not force:
        raise UserError(f"{path} exists; refusing to overwrite it without --force")
    import yaml

    text = yaml.safe_dump(sv.secret_manifest(sv.generate_values()), sort_keys=False)
    atomic_write(target, text, mode=0o600)
    return InitResult(
        "written", str(path), notes=[f"apply it with: kubectl apply -f {path} (then delete the file)"]
    )


@dataclass(frozen=True)
class RotateResult:
    rotated: tuple[str, ...]
    fernet_keys: int
    restarted: list[str]


# The database reads POSTGRES_PASSWORD only when it initialises its data: never restart it for this.
_NOT_RESTARTED = frozenset({("StatefulSet", "postgres")})
_SECRETS = api_path("", "v1", "secrets", NAMESPACE)
_ROTATION_PATH = api_path("", "v1", "secrets", NAMESPACE, pj.ROTATION_SECRET)


@dataclass(frozen=True)
class _Planned:
    change: pj.PasswordChange
    job: Callable[[str], dict[str, Any]]  # Job name -> Job


def rotate(
    client: KubeClient,
    restart: bool,
    *,
    database_password: bool = False,
    admin_passwords: bool = False,
    waiting: Waiting | None = None,
    report: Report | None = None,
    now: datetime | None = None,
) -> RotateResult:
    """New Fernet and webserver keys; with the options, new stored passwords too.

    Each stored password is set in its server first (a Job), and the Secret records it right after
    that Job succeeded, before the next one runs: a failure leaves that server and its key as they
    were and names what was already rotated. The Airflow admin goes first (its Job logs in to the
    database with the current password), the database last.
    """
    existing = client.get_or_none(SECRET_PATH)
    if existing is None:
        raise UserError(
            f"Secret {NAMESPACE}/{SECRET_NAME} does not exist; run `gitops-tool secrets init` first"
        )
    current = sv.decode_data(existing.get("data"))
    regenerated = sv.rotate_values(current)
    planned = _plan(client, database_password, admin_passwords)  # every precondition before any change
    moment = now or datetime.now(UTC)
    when = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = existing.get("metadata") or {}
    version = meta.get("resourceVersion")
    recorded = dict(current)
    done: list[str] = []
    for index, step in enumerate(planned):
        password = sv.new_password()
        try:
            _apply_in_server(client, step, password=password, now=moment, waiting=waiting, report=report)
        except _AppliedThenStopped as stopped:
            # The server took the password as the wait ended (timeout, Ctrl-C): record it, then stop.
            recorded = sv.with_password(recorded, step.change.key, password)
            done.extend(sv.keys_derived_from(step.change.key))
            _record(client, meta, recorded, version, when, applied={key: recorded[key] for key in done})
            if isinstance(stopped.cause, ClusterError):
                raise ClusterError(
                    f"{stopped.cause}, but it had succeeded: rotated and recorded in the Secret: "
                    f"{', '.join(done)}; nothing else was rotated"
                ) from None
            raise stopped.cause from None
        except ClusterError as exc:
            if not done:
                raise ClusterError(f"{exc}; the Secret was not changed") from None
            raise ClusterError(
                f"{exc}; {step.change.key} keeps its value; already rotated and recorded in the "
                f"Secret: {', '.join(done)}"
            ) from None
        recorded = sv.with_password(recorded, step.change.key, password)
        done.extend(sv.keys_derived_from(step.change.key))
        if index < len(planned) - 1:
            applied = {key: recorded[key] for key in done}
            stored, merged = _record(client, meta, recorded, version, when, applied=applied)
            version = (stored.get("metadata") or {}).get("resourceVersion")
            if merged:  # someone else's values are in it now: build on them from here
                meta = stored.get("metadata") or {}
                recorded = sv.decode_data(stored.get("data"))
                regenerated = sv.rotate_values(recorded)
    final = {
        **recorded,
        SECRET_KEY_FERNET: regenerated[SECRET_KEY_FERNET],
        SECRET_KEY_WEBSERVER: regenerated[SECRET_KEY_WEBSERVER],
    }
    _, merged = _record(client, meta, final, version, when, applied={key: final[key] for key in done})
    if merged:
        raise ClusterError(
            f"Secret {NAMESPACE}/{SECRET_NAME} changed while this command ran: {', '.join(done)} "
            f"recorded on top of that change, {', '.join(sv.ROTATABLE_KEYS)} not rotated; run it again"
        )
    restarted = restart_readers(client, when) if restart else []
    return RotateResult((*sv.ROTATABLE_KEYS, *done), len(final[SECRET_KEY_FERNET].split(",")), restarted)


def _record(
    client: KubeClient,
    meta: dict[str, Any],
    values: dict[str, str],
    version: Any,
    when: str,
    *,
    applied: Mapping[str, str],
) -> tuple[dict[str, Any], bool]:
    """PUT the Secret with ``values`` (optimistic concurrency); returns the stored Secret and
    whether the write had to fall back to merging.

    ``applied`` are values a server already holds: if the write fails (someone else changed the
    Secret meanwhile), they alone are merged onto the fresh Secret once, since giving up would leave
    a Secret that lies; the other values of ``values`` are then dropped.
    """
    annotations = {**(meta.get("annotations") or {}), sv.ROTATED_AT_ANNOTATION: when}
    manifest = sv.secret_manifest(values, annotations)
    manifest["metadata"]["labels"] = {**(meta.get("labels") or {}), **manifest["metadata"]["labels"]}
    manifest["metadata"]["resourceVersion"] = version
    try:
        stored = _write(client, "PUT", manifest)
    except ClusterError:
        if not applied:
            raise
        fresh = client.get(SECRET_PATH)
        merged = {**sv.decode_data(fresh.get("data")), **applied}
        manifest["data"] = sv.encode_data(merged)
        manifest["metadata"]["resourceVersion"] = (fresh.get("metadata") or {}).get("resourceVersion")
        try:
            stored = _write(client, "PUT", manifest)
        except ClusterError:
            raise ClusterError(
                f"{', '.join(sorted(applied))} changed in the server(s) but could not be recorded in "
                f"Secret {NAMESPACE}/{SECRET_NAME} (it keeps changing): the Secret no longer matches"
            ) from None
        return stored, True
    return stored, False


def _live(client: KubeClient, plural: str, name: str) -> dict[str, Any] | None:
    """A live Deployment or StatefulSet of the namespace, or None."""
    return client.get_or_none(api_path("apps", "v1", plural, NAMESPACE, name))


def _container(workload: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    template = ((workload or {}).get("spec") or {}).get("template") or {}
    containers = (template.get("spec") or {}).get("containers")
    return next((c for c in containers or [] if c.get("name") == name), None)


def _plan(client: KubeClient, database_password: bool, admin_passwords: bool) -> list[_Planned]:
    planned: list[_Planned] = []
    if admin_passwords:
        webserver = _container(_live(client, "deployments", "airflow-webserver"), "airflow-webserver")
        if webserver is None or not webserver.get("image"):
            raise UserError(
                f"no Deployment {NAMESPACE}/airflow-webserver with an airflow-webserver container: "
                "cannot run the Airflow image to change the admin passwords"
            )
        airflow_image = str(webserver["image"])
        grafana_deployment = _live(client, "deployments", "grafana")
        grafana = _container(grafana_deployment, "grafana")
        if grafana is None:
            raise UserError(
                f"no Deployment {NAMESPACE}/grafana with a grafana container: "
                "cannot change its admin password"
            )
        replicas = ((grafana_deployment or {}).get("spec") or {}).get("replicas", 1)
        if replicas != 1:
            # Each Grafana pod keeps its own database (an emptyDir): one API call reaches one of them.
            raise UserError(
                f"Deployment {NAMESPACE}/grafana has {replicas} replicas; its admin password can be "
                "changed only while exactly one runs"
            )
        user = next(
            (
                str(e["value"])
                for e in grafana.get("env") or []
                if e.get("name") == "GF_SECURITY_ADMIN_USER" and "value" in e
            ),
            GRAFANA_ADMIN_USER,
        )
        planned.append(_Planned(pj.AIRFLOW_ADMIN, lambda name: pj.airflow_admin_job(name, airflow_image)))
        planned.append(
            _Planned(pj.GRAFANA_ADMIN, lambda name: pj.grafana_admin_job(name, airflow_image, user))
        )
    if database_password:
        postgres = _container(_live(client, "statefulsets", "postgres"), "postgres")
        if postgres is None or not postgres.get("image"):
            raise UserError(
                f"no StatefulSet {NAMESPACE}/postgres with a postgres container: cannot change its password"
            )
        postgres_image = str(postgres["image"])
        planned.append(_Planned(pj.DATABASE, lambda name: pj.database_job(name, postgres_image)))
    return planned


class _AppliedThenStopped(Exception):
    """The step's Job succeeded, but waiting for it ended otherwise (``cause``: timeout, Ctrl-C)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__("applied")
        self.cause = cause


def _succeeded(client: KubeClient, name: str) -> bool:
    try:
        live = client.get(api_path("batch", "v1", "jobs", NAMESPACE, name))
    except ClusterError:
        return False
    return job_state(live).phase == "succeeded"


def _apply_in_server(
    client: KubeClient,
    step: _Planned,
    *,
    password: str,
    now: datetime,
    waiting: Waiting | None,
    report: Report | None,
) -> None:
    """Run the step's Job with the new password in the rotation Secret; raise unless it succeeded.

    The rotation Secret and the Job are deleted however this ends (failure, timeout, Ctrl-C): a Job
    left running could change the password after the Secret stopped holding it.
    """
    if client.get_or_none(_ROTATION_PATH) is not None:
        client.delete(_ROTATION_PATH)  # left by an interrupted rotation; holds no password in use
    client.create(_SECRETS, pj.rotation_secret(step.change, password))
    job = step.job(f"{step.change.job_prefix}-{now.strftime('%Y%m%d-%H%M%S')}")
    name = str(job["metadata"]["name"])
    finished = False
    try:
        outcome = run_job(
            client, job, waiting or Waiting(), report or (lambda _line: None), left_running=False
        )
        finished = True
    except (ClusterError, KeyboardInterrupt) as exc:
        # The Job may have finished since the last look: then its server holds the new password
        # and the Secret must record it before the command stops.
        if _succeeded(client, name):
            raise _AppliedThenStopped(exc) from None
        raise
    finally:
        with contextlib.suppress(ClusterApiError, ClusterError):
            client.request("DELETE", f"{JOBS}/{name}", {"propagationPolicy": "Background"})
        with contextlib.suppress(ClusterApiError, ClusterError):
            client.delete(_ROTATION_PATH)
    if finished and outcome.state.phase != "succeeded":
        what = step.change.what
        raise ClusterError(
            f"changing {what} failed (Job {NAMESPACE}/{outcome.name}"
            f"{': ' + outcome.state.detail if outcome.state.detail else ''})"
        )


def _reads_secret(obj: dict[str, Any]) -> bool:
    pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    for volume in pod.get("volumes") or []:
        if ((volume.get("secret") or {}).get("secretName")) == SECRET_NAME:
            return True
    for key in ("initContainers", "containers"):
        for container in pod.get(key) or []:
            for env in container.get("env") or []:
                if (((env.get("valueFrom") or {}).get("secretKeyRef")) or {}).get("name") == SECRET_NAME:
                    return True
            for source in container.get("envFrom") or []:
                if ((source.get("secretRef") or {}).get("name")) == SECRET_NAME:
                    return True
    return False


def restart_readers(client: KubeClient, when: str) -> list[str]:
    """Roll every Deployment and StatefulSet reading the Secret, as `kubectl rollout restart` does.

    The annotation lives only in the cluster under our field manager: Git never sets it, so Argo CD
    leaves it and drift does not count it (it is not an imperative kubectl edit).
    """
    restarted = []
    for group, version, plural, kind in _WORKLOADS:
        for obj in client.list(api_path(group, version, plural, NAMESPACE)):
            if not _reads_secret(obj) or (kind, obj["metadata"]["name"]) in _NOT_RESTARTED:
                continue
            name = str((obj.get("metadata") or {}).get("name"))
            patch = {"spec": {"template": {"metadata": {"annotations": {RESTART_ANNOTATION: when}}}}}
            client.patch(api_path(group, version, plural, NAMESPACE, name), patch)
            restarted.append(f"{kind}/{name}")
    return restarted
