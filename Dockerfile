# The gitops-tool image: the CLI with its pinned kubectl (kustomize) and git, for in-cluster use such
# as components/drift-cronjob. Build and push it as the tag that component names:
#   docker build -t ghcr.io/airflow-gitops/gitops-tool:0.1.0 . && docker push ghcr.io/airflow-gitops/gitops-tool:0.1.0
FROM python:3.12.11-slim-bookworm

# git: `gitops-tool drift` renders the overlay at a commit of a clone of this repository.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md /src/
COPY gitops_tool /src/gitops_tool
RUN pip install --no-cache-dir /src && rm -rf /src

# An unprivileged user with a writable home for the clone.
RUN useradd --uid 65534 --non-unique --home-dir /work --create-home --shell /usr/sbin/nologin auditor
USER 65534:65534
WORKDIR /work
ENTRYPOINT ["gitops-tool"]
