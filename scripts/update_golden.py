#!/usr/bin/env python3
"""Regenerate the golden renders: tests/golden/<overlay>.yaml for every overlay under overlays/.

Run it after changing anything in base/ or overlays/, and commit the result with the change
(it also regenerates examples/live/three-node-ha.yaml, the drift demo snapshot):

    .venv/bin/python scripts/update_golden.py

It renders with the same pinned kustomize as `gitops-tool render`, writes atomically, and removes
golden files of overlays that no longer exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gitops_tool.adapters.files import atomic_write
from gitops_tool.adapters.project import list_overlays
from gitops_tool.services.rendering import render_overlay

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def golden_path(overlay: Path) -> Path:
    return GOLDEN / f"{overlay.name}.yaml"


def main() -> int:
    GOLDEN.mkdir(exist_ok=True)
    wanted: set[Path] = set()
    for overlay in list_overlays(ROOT):
        target = golden_path(overlay)
        wanted.add(target)
        text = render_overlay(str(overlay), root=ROOT).text
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            print(f"unchanged {target.relative_to(ROOT)}")
            continue
        atomic_write(target, text)
        print(f"wrote     {target.relative_to(ROOT)}")
    for stale in sorted(set(GOLDEN.glob("*.yaml")) - wanted):
        stale.unlink()
        print(f"removed   {stale.relative_to(ROOT)}")
    # The README's drift demo snapshot is rendered from three-node-ha too: keep it in step.
    sys.path.insert(0, str(ROOT / "scripts"))
    from generate_live_example import regenerate

    regenerate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
