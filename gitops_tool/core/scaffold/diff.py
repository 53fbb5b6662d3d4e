"""Planned file changes shown as one unified diff, the way ``git diff`` shows them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unified_diff(changes: Iterable[tuple[str, str | None, str | None]]) -> str:
    """``(path, text before or None if new, text after or None if removed)`` -> a unified diff."""
    parts: list[str] = []
    for path, before, after in changes:
        if before == after:
            continue
        old_name = f"a/{path}" if before is not None else "/dev/null"
        new_name = f"b/{path}" if after is not None else "/dev/null"
        lines = difflib.unified_diff(
            _lines(before), _lines(after), fromfile=old_name, tofile=new_name, lineterm="\n"
        )
        parts.append("".join(lines))
    return "".join(parts)


def _lines(text: str | None) -> list[str]:
    if not text:
        return []
    lines = text.splitlines(keepends=True)
    if not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
