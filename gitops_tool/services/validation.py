"""Validating rendered overlays: Kubernetes schemas (and the repository's policies)."""

from __future__ import annotations

from pathlib import Path

from gitops_tool.adapters.project import find_project_root, list_overlays
from gitops_tool.adapters.schema import CRD_SCHEMA_DIR, SchemaValidator
from gitops_tool.core.validation import OverlayReport
from gitops_tool.errors import UserError
from gitops_tool.services.rendering import render_overlay


def validate_overlays(
    overlays: list[str],
    kubernetes_version: str,
    kustomize: str | None = None,
    root: Path | None = None,
) -> list[OverlayReport]:
    project = root or _project_or_none()
    validator = SchemaValidator(kubernetes_version, project / CRD_SCHEMA_DIR if project else None)
    if not overlays:
        project = project or find_project_root()
        overlays = [str(p) for p in list_overlays(project)]
    reports: list[OverlayReport] = []
    for overlay in overlays:
        rendered = render_overlay(overlay, kustomize, root)
        objects = rendered.objects()
        violations, skipped = validator.validate(objects, rendered.label)
        reports.append(OverlayReport(rendered.label, len(objects), violations, skipped))
    return reports


def _project_or_none() -> Path | None:
    """The repository around the current folder, if any: overlays given by path need none."""
    try:
        return find_project_root()
    except UserError:
        return None
