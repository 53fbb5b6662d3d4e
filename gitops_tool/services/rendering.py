"""Rendering overlays with kustomize."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from gitops_tool.adapters.files import atomic_write, ensure_parent_exists
from gitops_tool.adapters.kustomize import KUSTOMIZE_ENV, KustomizeRenderer, resolve_kustomize
from gitops_tool.adapters.project import display_path, resolve_overlay

if TYPE_CHECKING:
    from gitops_tool.core.objects import Manifest

# Re-exported for the cli layer, which does not import adapters (.importlinter).
__all__ = ["KUSTOMIZE_ENV"]


class RenderedOverlay(NamedTuple):
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


def render_to(
    overlay: str, output: str | None, kustomize: str | None, stdout: TextIO, *, as_json: bool = False
) -> None:
    """``gitops-tool render``: the overlay's YAML (or, ``as_json``, one JSON List of its objects) to
    ``output`` (atomically) or to ``stdout``."""
    target = Path(output) if output else None
    if target is not None:
        ensure_parent_exists(target)
    rendered = render_overlay(overlay, kustomize)
    text = rendered.text
    if as_json:
        import json

        items = rendered.objects()
        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2) + "\n"
    if target is None:
        stdout.write(text)
        stdout.flush()
    else:
        atomic_write(target, text)
