"""Validating rendered overlays: Kubernetes schemas (and the repository's policies)."""

from __future__ import annotations

from pathlib import Path

from gitops_tool.adapters.project import find_project_root, list_overlays
from gitops_tool.adapters.schema import SchemaValidator
from gitops_tool.core.validation import OverlayReport
from gitops_tool.services.rendering import render_overlay


def validate_overlays(
    overlays: list[str],
    kubernetes_version: str,
    kustomize: str | None = None,
    root: Path | None = None,
) -> list[OverlayReport]:
    validator = SchemaValidator(kubernetes_version)
    if not overlays:
        project = root or find_project_root()
        overlays = [str(p) for p in list_overlays(project)]
    reports: list[OverlayReport] = []
    for overlay in overlays:
        rendered = render_overlay(overlay, kustomize, root)
        objects = rendered.objects()
        violations, skipped = validator.validate(objects, rendered.label)
        reports.append(OverlayReport(rendered.label, len(objects), violations, skipped))
    return reports
