"""Rendering overlays with kustomize."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitops_tool.adapters.kustomize import KustomizeRenderer, resolve_kustomize
from gitops_tool.adapters.project import display_path, resolve_overlay
from gitops_tool.core.objects import Manifest


@dataclass(frozen=True)
class RenderedOverlay:
    path: Path
    label: str  # the overlay as shown to users, relative to the repository root
    text: str

    def objects(self) -> list[Manifest]:
        # Imported here: plain `render` never parses, and PyYAML costs start-up time.
        from gitops_tool.core.documents import parse_manifests

        return parse_manifests(self.text, f"render of {self.label}")


def render_overlay(overlay: str, kustomize: str | None = None, root: Path | None = None) -> RenderedOverlay:
    path = resolve_overlay(overlay, root)
    label = display_path(path, root)
    renderer = KustomizeRenderer(resolve_kustomize(kustomize))
    return RenderedOverlay(path, label, renderer.build(path, label))
