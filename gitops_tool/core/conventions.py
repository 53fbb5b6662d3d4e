"""Names this repository's manifests and the tool agree on."""

from __future__ import annotations

NAMESPACE = "airflow"

# Every object the repository renders carries these; drift uses them to find extra live objects.
PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF_VALUE = "airflow"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "gitops-tool"
OWNERSHIP_LABELS = {PART_OF_LABEL: PART_OF_VALUE, MANAGED_BY_LABEL: MANAGED_BY_VALUE}

COMPONENT_LABEL = "app.kubernetes.io/component"
SCHEDULER_COMPONENT = "scheduler"

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
