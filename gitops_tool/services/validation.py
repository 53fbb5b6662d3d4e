"""Validating rendered overlays: Kubernetes schemas and the repository's policies."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gitops_tool.adapters.project import find_project_root, list_overlays
from gitops_tool.adapters.schema import CRD_SCHEMA_DIR, SchemaValidator, normalise_version
from gitops_tool.core.dags.git_source import placeholder_warning
from gitops_tool.core.validation import OverlayReport
from gitops_tool.errors import UserError
from gitops_tool.services.rendering import RenderedOverlay, render_overlay

if TYPE_CHECKING:
    from gitops_tool.core.objects import Manifest

# Re-exported for the cli layer, which does not import adapters (.importlinter).
__all__ = ["normalise_version"]


def validate_overlays(
    overlays: list[str],
    kubernetes_version: str,
    kustomize: str | None = None,
    root: Path | None = None,
    policies: bool = True,
) -> list[OverlayReport]:
    """Render each overlay once; check its objects against the schemas and (unless ``policies`` is
    False) against the policies/ of the repository the overlay lives in."""
    project = root or _project_or_none()
    if not overlays:
        project = project or find_project_root()
        overlays = [str(p) for p in list_overlays(project)]
    renders = []
    for overlay in overlays:
        rendered = render_overlay(overlay, kustomize, root)
        renders.append((rendered, rendered.objects()))
    return validate_rendered(renders, kubernetes_version, project, policies)


def validate_rendered(
    renders: list[tuple[RenderedOverlay, list[Manifest]]],
    kubernetes_version: str,
    project: Path | None,
    policies: bool = True,
) -> list[OverlayReport]:
    """``validate_overlays`` for overlays a command has rendered (and parsed) already."""
    from gitops_tool.services.policy import Engines, check_overlay

    engines = Engines()
    validator = SchemaValidator(kubernetes_version, project / CRD_SCHEMA_DIR if project else None)
    reports: list[OverlayReport] = []
    for rendered, objects in renders:
        violations, skipped = validator.validate(objects, rendered.label)
        report = OverlayReport(rendered.label, len(objects), violations, skipped)
        placeholder = placeholder_warning(objects, rendered.label)
        if placeholder is not None:
            report.warnings.append(placeholder)
        if policies:
            engine = engines.for_overlay(rendered.path)
            if engine is None:
                report.skipped.append("policies: the repository has no policies/ folder; none was checked")
            else:
                check = check_overlay(engine, rendered.path, rendered.label, objects)
                report.violations.extend(check.violations)
                report.exceptions.extend(check.exceptions)
                report.layout = f"{check.layout.kind} ({check.layout.reason})"
        reports.append(report)
    return reports


def _project_or_none() -> Path | None:
    """The repository around the current folder, if any: overlays given by path need none."""
    try:
        return find_project_root()
    except UserError:
        return None
