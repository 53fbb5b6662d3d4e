"""Names this repository's manifests and the tool agree on."""

from __future__ import annotations

# Airflow and everything it needs that passes Pod Security `restricted` (the namespace enforces it).
NAMESPACE = "airflow"
# The infrastructure that needs host access (NFS server and provisioner, node-exporter, the drift
# CronJob's textfile writer): Pod Security `privileged`, kept apart from Airflow (docs/security.md).
INFRA_NAMESPACE = "airflow-infra"
NAMESPACES = (NAMESPACE, INFRA_NAMESPACE)

# Every object the repository renders carries these; drift uses them to find extra live objects.
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF_VALUE = "airflow"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "gitops-tool"
OWNERSHIP_LABELS = {PART_OF_LABEL: PART_OF_VALUE, MANAGED_BY_LABEL: MANAGED_BY_VALUE}

COMPONENT_LABEL = "app.kubernetes.io/component"
SCHEDULER_COMPONENT = "scheduler"
# One triggerer per scheduler node (base/triggerer): deferred tasks resume only while one runs.
TRIGGERER_COMPONENT = "triggerer"

# Node role label of the seed architecture: node-role.kubernetes.io/airflow=<role>.
NODE_ROLE_LABEL = "node-role.kubernetes.io/airflow"
MANAGEMENT_ROLE = "management"
SCHEDULER_ROLE_PREFIX = "scheduler-"

# Where an overlay keeps its role -> node-name mapping (data, never Node objects for Argo CD).
NODE_ROLES_FILE = "node-roles.yaml"

SECRET_NAME = "airflow-secrets"  # noqa: S105 - a name, not a value
AIRFLOW_IMAGE_REPOSITORY = "apache/airflow"

DEFAULT_OVERLAY = "overlays/three-node-ha"
LEGACY_OVERLAY = "overlays/single-node-legacy"

# Keys of the out-of-band Secret every workload reads (created by `gitops-tool secrets init`).
SECRET_KEY_FERNET = "fernet-key"  # noqa: S105 - a key name
SECRET_KEY_WEBSERVER = "webserver-secret-key"  # noqa: S105 - a key name
SECRET_KEY_POSTGRES_PASSWORD = "postgres-password"  # noqa: S105 - a key name
SECRET_KEY_SQL_ALCHEMY_CONN = "sql-alchemy-conn"  # noqa: S105 - a key name
SECRET_KEY_AIRFLOW_ADMIN_PASSWORD = "airflow-admin-password"  # noqa: S105 - a key name
SECRET_KEY_GRAFANA_ADMIN_PASSWORD = "grafana-admin-password"  # noqa: S105 - a key name
# Airflow 3 (components/airflow-3): the key the schedulers sign Task Execution API tokens with.
SECRET_KEY_JWT = "jwt-secret"  # noqa: S105 - a key name
SECRET_KEYS = (
    SECRET_KEY_FERNET,
    SECRET_KEY_WEBSERVER,
    SECRET_KEY_POSTGRES_PASSWORD,
    SECRET_KEY_SQL_ALCHEMY_CONN,
    SECRET_KEY_AIRFLOW_ADMIN_PASSWORD,
    SECRET_KEY_GRAFANA_ADMIN_PASSWORD,
    SECRET_KEY_JWT,
)
POSTGRES_USER = "airflow"
POSTGRES_DB = "airflow"
# Login names of the admin users (base/migration/create-admin-job.yaml, base/grafana/deployment.yaml).
AIRFLOW_ADMIN_USER = "admin"
GRAFANA_ADMIN_USER = "admin"
# The users the images run as (the official apache/airflow image: 50000 with group 0; postgres: 999).
AIRFLOW_UID = 50000
POSTGRES_UID = 999

# Policy exceptions: an annotation on the object, reviewable in Git, listed by `validate`.
#   policy.gitops-tool.io/allow-<rule-id>: "<reason>"
POLICY_EXCEPTION_PREFIX = "policy.gitops-tool.io/allow-"

# Argo CD: Applications live under argocd/; drift finds the one whose spec.source.path is the overlay.
ARGOCD_DIR = "argocd"
ARGOCD_SYNC_WAVE = "argocd.argoproj.io/sync-wave"
ARGOCD_HOOK = "argocd.argoproj.io/hook"
ARGOCD_TRACKING_ID = "argocd.argoproj.io/tracking-id"

# DAG delivery (components/git-sync and `gitops-tool dags`): one RWX volume, one published link.
#   <volume>/current -> .git-sync/.worktrees/<commit>   (git-sync, the --link it swaps atomically)
#   <volume>/current -> .dags-push/<version>/dags        (`gitops-tool dags push`)
# Airflow reads only AIRFLOW_DAGS_FOLDER, so readers never see a half-written tree.
DAGS_PVC = "airflow-dags"
AIRFLOW_DAGS_MOUNT = "/opt/airflow/dags"
DAGS_LINK = "current"
AIRFLOW_DAGS_FOLDER = f"{AIRFLOW_DAGS_MOUNT}/{DAGS_LINK}"
DAGS_PUSH_STORE = ".dags-push"
GIT_SYNC_ROOT = ".git-sync"
GIT_SYNC_DEPLOYMENT = "airflow-git-sync"
GIT_SYNC_CREDENTIALS_SECRET = "airflow-git-credentials"  # noqa: S105 - a name, not a value
