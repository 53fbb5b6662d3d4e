"""Golden renders: every overlay's render is committed in tests/golden/ and must not drift silently."""

from __future__ import annotations

import difflib

import pytest

from gitops_tool.adapters.project import list_overlays
from gitops_tool.services.rendering import render_overlay
from tests.conftest import REPO_ROOT

GOLDEN = REPO_ROOT / "tests" / "golden"
REGENERATE = ".venv/bin/python scripts/update_golden.py"


def test_every_overlay_has_exactly_one_golden_render() -> None:
    overlays = {p.name for p in list_overlays(REPO_ROOT)}
    golden = {p.stem for p in GOLDEN.glob("*.yaml")}
    assert golden == overlays, f"golden renders out of step with overlays/: run {REGENERATE}"


@pytest.mark.parametrize("overlay", [p.name for p in list_overlays(REPO_ROOT)])
def test_render_equals_the_golden_file(overlay: str) -> None:
    actual = render_overlay(str(REPO_ROOT / "overlays" / overlay), root=REPO_ROOT).text
    expected = (GOLDEN / f"{overlay}.yaml").read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), f"tests/golden/{overlay}.yaml", "render", lineterm=""
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"overlays/{overlay} renders differently from tests/golden/{overlay}.yaml.\n"
            f"If the change is intended, regenerate and commit: {REGENERATE}\n{shown}"
        )
