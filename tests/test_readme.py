"""The README's two set-up commands stay true: the test command is what .ci/run runs."""

from __future__ import annotations

import re
import subprocess
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
    """Verbatim, in a subshell: `set -e` ignores a failure inside an `a && b` list, a subshell's not."""
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    assert f"( {_commands(repo_root)[1]} )" in ci.splitlines()


def test_every_command_list_of_ci_run_stops_it_when_a_part_fails(repo_root: Path, tmp_path: Path) -> None:
    """No `a && b` list at the top level of .ci/run, where `set -e` would let a failing `a` pass."""
    script = (repo_root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    lists = [line for line in script if " && " in line and not line.lstrip().startswith("#")]
    assert lists and all(line.startswith("( ") and line.endswith(" )") for line in lists), lists
    # The shape works as intended in bash: the failing first part stops the script.
    probe = tmp_path / "probe.sh"
    probe.write_text("set -euo pipefail\n( false && true )\necho reached\n", encoding="utf-8")
    result = subprocess.run(["bash", str(probe)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "reached" not in result.stdout
    probe.write_text("set -euo pipefail\nfalse && true\necho reached\n", encoding="utf-8")
    unwrapped = subprocess.run(["bash", str(probe)], capture_output=True, text=True, check=False)
    assert "reached" in unwrapped.stdout  # what the subshell guards against
