"""gitops-tool: GitOps repository generator and drift auditor for Airflow on Kubernetes."""

__version__ = "0.1.0"
