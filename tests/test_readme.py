"""The README's two set-up commands stay true: the test command is what .ci/run runs."""

from __future__ import annotations

import re
from pathlib import Path


def _commands(root: Path) -> list[str]:
    text = (root / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)[:2]


def test_readme_opens_with_two_commands(repo_root: Path) -> None:
    commands = _commands(repo_root)
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "gitops-tool" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command(repo_root: Path) -> None:
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    assert _commands(repo_root)[1] in ci.splitlines()
