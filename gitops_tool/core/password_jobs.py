"""Jobs that change a stored password inside the server that keeps it, before the Secret records it.

PostgreSQL, Airflow and Grafana read their passwords from ``airflow-secrets`` only when they create
their data (the database cluster, the admin user, Grafana's own database), so a rotation first sets
the new value in the running server, logged in with the current one, and only a Job that succeeded
lets the Secret change. The new value travels through the short-lived Secret ``ROTATION_SECRET``
and a ``secretKeyRef``: never through a Job spec, a command line built here, or a log line.

Every pod satisfies the Pod Security ``restricted`` profile (non-root, no privilege escalation, all
capabilities dropped, RuntimeDefault seccomp), has a read-only root filesystem, no API token and
resources, and runs on the management node like the repository's other Jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops_tool.core import conventions as c
from gitops_tool.core.objects import Manifest
from gitops_tool.core.secret_values import CREATED_BY_LABEL, encode_data

ROTATE_CREATOR = "gitops-tool-secrets-rotate"
ROTATION_SECRET = "airflow-secrets-rotation"  # noqa: S105 - a name, not a value
NEW_PASSWORD_ENV = "NEW_PASSWORD"  # noqa: S105 - an environment variable name
POSTGRES_HOST = "postgres"
POSTGRES_PORT = 5432
GRAFANA_URL = "http://grafana:3000"
AIRFLOW_CONFIG_MAP = "airflow-config"
# Who the pods are, for the NetworkPolicies (base/network-policies/postgres.yaml admits the two
# that talk to PostgreSQL; Grafana's port is open to every pod already).
COMPONENT_DB_PASSWORD = "rotate-db-password"  # noqa: S105 - a label value
COMPONENT_AIRFLOW_ADMIN = "rotate-admin-password"
COMPONENT_GRAFANA_ADMIN = "rotate-grafana-password"

# psql quotes the :'newpw' variable as a literal itself; ON_ERROR_STOP makes a failure the Job's.
_ALTER_SQL = (  # a shell script; the password itself only ever sits in $NEW_PASSWORD
    'echo "ALTER USER \\"$PGUSER\\" WITH PASSWORD :\'newpw\';" '
    '| psql -v ON_ERROR_STOP=1 -v "newpw=$NEW_PASSWORD"'
)
# `airflow users reset-password` (Airflow 2.9+ takes it from the FAB provider) changes an existing
# user and fails when the user is missing, so a failed run changes nothing (it also fails with
# the FAB provider of Airflow 2.11.2, apache/airflow#63830). Airflow's CLI action log masks the
# value of --password before it writes the command line to its `log` table.
_AIRFLOW_RESET = (
    f'exec airflow users reset-password --username {c.AIRFLOW_ADMIN_USER} --password "${NEW_PASSWORD_ENV}"'
)
# Grafana's own change-password call (PUT /api/user/password, basic auth as the admin, body
# {"oldPassword", "newPassword"}), then a read of /api/user with the new password to prove it took.
# Python rather than curl: the JSON body is built by json.dumps (no shell quoting of a password)
# and no password ever appears on a command line.
_GRAFANA_CHANGE = """
import base64, json, os, sys, urllib.error, urllib.request
url, user = os.environ["GRAFANA_URL"], os.environ["GRAFANA_USER"]
old, new = os.environ["CURRENT_PASSWORD"], os.environ["NEW_PASSWORD"]
def call(method, path, password, body=None):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(url + path, method=method, data=body, headers={
        "Authorization": "Basic " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        sys.exit(f"grafana at {url} unreachable: {type(exc).__name__}")
status = call("PUT", "/api/user/password", old,
              json.dumps({"oldPassword": old, "newPassword": new}).encode())
if status != 200:
    sys.exit(f"grafana refused the password change: HTTP {status}")
status = call("GET", "/api/user", new)
if status != 200:
    sys.exit(f"grafana does not accept the new password: HTTP {status}")
print("grafana admin password changed")
"""


@dataclass(frozen=True)
class PasswordChange:
    """One stored password: the Secret key holding it and how its Job is named and labelled."""

    key: str
    what: str
    job_prefix: str
    rotation_key: str


DATABASE = PasswordChange(
    c.SECRET_KEY_POSTGRES_PASSWORD, "the PostgreSQL password", "airflow-db-password", "new-postgres-password"
)
AIRFLOW_ADMIN = PasswordChange(
    c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD,
    "the Airflow admin password",
    "airflow-admin-password",
    "new-airflow-admin-password",
)
GRAFANA_ADMIN = PasswordChange(
    c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD,
    "the Grafana admin password",
    "grafana-admin-password",
    "new-grafana-admin-password",
)


def rotation_secret(change: PasswordChange, password: str) -> Manifest:
    """The short-lived Secret carrying one new password to its Job."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": ROTATION_SECRET,
            "namespace": c.NAMESPACE,
            "labels": {CREATED_BY_LABEL: ROTATE_CREATOR},
        },
        "type": "Opaque",
        "data": encode_data({change.rotation_key: password}),
    }


def _secret_env(name: str, key: str, secret: str = c.SECRET_NAME) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _hardened(
    container: dict[str, Any], requests: tuple[str, str], limits: tuple[str, str]
) -> dict[str, Any]:
    return {
        **container,
        "resources": {
            "requests": {"cpu": requests[0], "memory": requests[1]},
            "limits": {"cpu": limits[0], "memory": limits[1]},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def _job(
    name: str,
    app: str,
    component: str,
    container: dict[str, Any],
    *,
    run_as: int,
    volumes: list[dict[str, Any]] | None = None,
) -> Manifest:
    labels = {CREATED_BY_LABEL: ROTATE_CREATOR, "app.kubernetes.io/name": app, c.COMPONENT_LABEL: component}
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": c.NODE_ROLE_LABEL, "operator": "In", "values": [c.MANAGEMENT_ROLE]}
                            ]
                        }
                    ]
                }
            }
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": run_as,
            "runAsGroup": run_as if run_as != c.AIRFLOW_UID else 0,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
    }
    if volumes:
        pod["volumes"] = volumes
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": c.NAMESPACE, "labels": dict(labels)},
        "spec": {
            # One attempt: a second could run after the first changed the password and fail on it.
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 600,
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
        },
    }


def database_job(name: str, image: str) -> Manifest:
    """Logs in to PostgreSQL with the current password and sets the new one (``ALTER USER``)."""
    container = {
        "name": "alter-password",
        "image": image,
        "command": ["sh", "-c", _ALTER_SQL],
        "env": [
            {"name": "PGHOST", "value": POSTGRES_HOST},
            {"name": "PGPORT", "value": str(POSTGRES_PORT)},
            {"name": "PGUSER", "value": c.POSTGRES_USER},
            {"name": "PGDATABASE", "value": c.POSTGRES_DB},
            _secret_env("PGPASSWORD", c.SECRET_KEY_POSTGRES_PASSWORD),
            _secret_env(NEW_PASSWORD_ENV, DATABASE.rotation_key, ROTATION_SECRET),
        ],
    }
    hardened = _hardened(container, ("10m", "32Mi"), ("200m", "128Mi"))
    return _job(name, "airflow", COMPONENT_DB_PASSWORD, hardened, run_as=c.POSTGRES_UID)


def _scratch(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"name": n, "emptyDir": {"sizeLimit": "64Mi"}} for n in names]


def airflow_admin_job(name: str, image: str) -> Manifest:
    """Sets the Airflow admin user's password in the metadata DB, configured as the webserver is."""
    container = {
        "name": "reset-password",
        "image": image,
        "args": ["bash", "-c", _AIRFLOW_RESET],
        "envFrom": [{"configMapRef": {"name": AIRFLOW_CONFIG_MAP}}],
        "env": [
            _secret_env("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", c.SECRET_KEY_SQL_ALCHEMY_CONN),
            _secret_env("AIRFLOW__CORE__FERNET_KEY", c.SECRET_KEY_FERNET),
            _secret_env(NEW_PASSWORD_ENV, AIRFLOW_ADMIN.rotation_key, ROTATION_SECRET),
        ],
        # AIRFLOW_HOME (airflow.cfg, webserver_config.py) and /tmp are scratch: the root is read-only.
        "volumeMounts": [
            {"name": "airflow-home", "mountPath": "/opt/airflow"},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir mount point
        ],
    }
    return _job(
        name,
        "airflow",
        COMPONENT_AIRFLOW_ADMIN,
        _hardened(container, ("200m", "512Mi"), ("1", "1Gi")),
        run_as=c.AIRFLOW_UID,
        volumes=_scratch(("airflow-home", "tmp")),
    )


def grafana_admin_job(name: str, image: str, grafana_user: str) -> Manifest:
    """Changes the Grafana admin password through Grafana's HTTP API, logged in with the current one.

    Grafana keeps its users in its own database, which reads GF_SECURITY_ADMIN_PASSWORD only when it
    is created (base/grafana: an emptyDir, so at each new pod). Its HTTP API is the one way to
    change the running server's password without writing its database files; the Airflow image
    (already on the management node) supplies Python for the call.
    """
    container = {
        "name": "change-password",
        "image": image,
        "command": ["python", "-c", _GRAFANA_CHANGE],
        "env": [
            {"name": "GRAFANA_URL", "value": GRAFANA_URL},
            {"name": "GRAFANA_USER", "value": grafana_user},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            _secret_env("CURRENT_PASSWORD", c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD),
            _secret_env(NEW_PASSWORD_ENV, GRAFANA_ADMIN.rotation_key, ROTATION_SECRET),
        ],
    }
    hardened = _hardened(container, ("10m", "64Mi"), ("200m", "256Mi"))
    return _job(name, "grafana", COMPONENT_GRAFANA_ADMIN, hardened, run_as=c.AIRFLOW_UID)
