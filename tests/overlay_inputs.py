"""Hand-written inputs shared by the loading, rendering and validation tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

# YAML aliases nine deep, nine wide: a few hundred bytes that expand to 9**9 scalars.
BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def write_overlay(root: Path, name: str, files: Mapping[str, str]) -> Path:
    """overlays/NAME under ``root`` with ``files``, each listed in its kustomization's resources;
    returns ``root``."""
    folder = root / "overlays" / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(text)
    (folder / "kustomization.yaml").write_text("resources:\n" + "".join(f"  - {f}\n" for f in files))
    return root
