"""``gitops-tool secrets init|rotate``: the out-of-band Secret every workload reads.

Values go to the API server or to a 0600 file outside any Git work tree, and nowhere else:
messages name keys, never values.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops_tool.adapters.files import atomic_write, enclosing_work_tree
from gitops_tool.adapters.kube.client import ClusterApiError, KubeClient, api_path
from gitops_tool.adapters.project import find_project_root
from gitops_tool.core import secret_values as sv
from gitops_tool.core.conventions import (
    NAMESPACE,
    SECRET_KEY_FERNET,
    SECRET_KEY_POSTGRES_PASSWORD,
    SECRET_KEY_SQL_ALCHEMY_CONN,
    SECRET_KEYS,
    SECRET_NAME,
)
from gitops_tool.errors import ClusterError, UserError
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


def _write(client: KubeClient, method: str, manifest: dict[str, Any]) -> None:
    try:
        if method == "POST":
            client.create(api_path("", "v1", "secrets", NAMESPACE), manifest)
        else:
            client.replace(SECRET_PATH, manifest)
    except ClusterApiError as exc:
        if exc.status == 409:
            raise ClusterError(
                f"Secret {NAMESPACE}/{SECRET_NAME} changed while this command ran; run it again"
            ) from None
        raise


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


def rotate(
    client: KubeClient,
    restart: bool,
    *,
    database_password: bool = False,
    waiting: Waiting | None = None,
    report: Report | None = None,
    now: datetime | None = None,
) -> RotateResult:
    existing = client.get_or_none(SECRET_PATH)
    if existing is None:
        raise UserError(
            f"Secret {NAMESPACE}/{SECRET_NAME} does not exist; run `gitops-tool secrets init` first"
        )
    rotated = sv.rotate_values(sv.decode_data(existing.get("data")))
    keys: tuple[str, ...] = sv.ROTATABLE_KEYS
    moment = now or datetime.now(UTC)
    when = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if database_password:
        password = sv.new_database_password()
        _alter_database_password(client, password, moment, waiting, report)
        rotated = sv.with_database_password(rotated, password)
        keys = (*keys, SECRET_KEY_POSTGRES_PASSWORD, SECRET_KEY_SQL_ALCHEMY_CONN)
    meta = existing.get("metadata") or {}
    annotations = {**(meta.get("annotations") or {}), sv.ROTATED_AT_ANNOTATION: when}
    manifest = sv.secret_manifest(rotated, annotations)
    manifest["metadata"]["labels"] = {**(meta.get("labels") or {}), **manifest["metadata"]["labels"]}
    manifest["metadata"]["resourceVersion"] = meta.get("resourceVersion")
    _write(client, "PUT", manifest)
    restarted = restart_readers(client, when) if restart else []
    return RotateResult(keys, len(rotated[SECRET_KEY_FERNET].split(",")), restarted)


def _alter_database_password(
    client: KubeClient, password: str, now: datetime, waiting: Any, report: Any
) -> None:
    """Set the new password in PostgreSQL first (a Job logged in with the current one); only when
    that succeeded does the Secret change. A failure leaves database and Secret as they were."""
    statefulset = client.get_or_none(api_path("apps", "v1", "statefulsets", NAMESPACE, "postgres"))
    containers = (
        (((statefulset or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers")
    )
    image = next((str(c.get("image")) for c in containers or [] if c.get("name") == "postgres"), None)
    if image is None:
        raise UserError(
            f"no StatefulSet {NAMESPACE}/postgres with a postgres container: cannot change its password"
        )
    secrets_path = api_path("", "v1", "secrets", NAMESPACE)
    rotation_path = api_path("", "v1", "secrets", NAMESPACE, sv.ROTATION_SECRET)
    if client.get_or_none(rotation_path) is not None:
        client.delete(rotation_path)  # left by an interrupted rotation; holds no password in use
    client.create(secrets_path, sv.rotation_secret(password))
    try:
        job = sv.password_job(f"airflow-db-password-{now.strftime('%Y%m%d-%H%M%S')}", image)
        outcome = run_job(client, job, waiting or Waiting(), report or (lambda _line: None))
        with contextlib.suppress(ClusterApiError):
            client.request("DELETE", f"{JOBS}/{outcome.name}", {"propagationPolicy": "Background"})
        if outcome.state.phase != "succeeded":
            raise ClusterError(
                f"changing the PostgreSQL password failed (Job {NAMESPACE}/{outcome.name}"
                f"{': ' + outcome.state.detail if outcome.state.detail else ''}); the Secret was not changed"
            )
    finally:
        with contextlib.suppress(ClusterApiError):
            client.delete(rotation_path)


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
