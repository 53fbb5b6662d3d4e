"""Argo CD Applications for forks of this repository, checked against the shipped CRD schemas."""

from __future__ import annotations

from pathlib import Path

from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.project import find_project_root, resolve_overlay
from gitops_tool.adapters.schema import CRD_SCHEMA_DIR, DEFAULT_KUBERNETES_VERSION, SchemaValidator
from gitops_tool.core.objects import Manifest, describe
from gitops_tool.errors import GitopsError, UserError


def fork_application(
    overlay: str,
    *,
    repo_url: str | None,
    revision: str,
    name: str,
    with_project: bool = False,
    root: Path | None = None,
) -> list[Manifest]:
    """The Application (and, asked for, the AppProject) that deploys ``overlay`` from ``repo_url``."""
    from gitops_tool.core import argocd
    from gitops_tool.core.documents import parse_manifests

    project_root = (root or find_project_root()).resolve()
    if repo_url is None:
        repo_url = repository_url(project_root)
    path = resolve_overlay(overlay, project_root)
    if path.parent != project_root / "overlays":
        raise UserError(f"overlay {overlay} is not a folder directly under {project_root / 'overlays'}")
    objects = [argocd.application(path.name, repo_url, revision, name)]
    if with_project:
        project_file = project_root / argocd.PROJECT_FILE
        shipped = parse_manifests(read_text(project_file, "AppProject file"), str(project_file))
        objects.insert(0, argocd.project_for_repo(shipped[0], repo_url))
    _check_schema(objects, project_root / CRD_SCHEMA_DIR)
    return objects


ROOT_APPLICATION = "argocd/root.yaml"


def repository_url(project_root: Path) -> str:
    """The Git URL the repository's own root Application syncs from (what `gitops-tool init` set)."""
    from gitops_tool.core.documents import parse_manifests

    path = project_root / ROOT_APPLICATION
    documents = parse_manifests(read_text(path, "root Application"), ROOT_APPLICATION)
    url = ((documents[0].get("spec") or {}).get("source") or {}).get("repoURL") if documents else None
    if not isinstance(url, str) or not url:
        raise UserError(f"{ROOT_APPLICATION} names no spec.source.repoURL: give --repo-url")
    return url


def _check_schema(objects: list[Manifest], crd_folder: Path) -> None:
    """Nothing leaves the tool that the Argo CD API server would refuse."""
    validator = SchemaValidator(DEFAULT_KUBERNETES_VERSION, crd_folder)
    for obj in objects:
        errors = validator.validate_one(obj)
        if errors is None:
            raise UserError(f"no CRD schema for {obj['apiVersion']} {obj['kind']} in {crd_folder}")
        if errors:
            path, message = errors[0]
            raise GitopsError(f"{describe(obj)} does not match its CRD schema at {path or '.'}: {message}")
