"""The layer contract: gitops_tool.core is pure and imports no outer layer."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "gitops_tool" / "core"

FORBIDDEN_MODULES = {
    "subprocess",
    "git",
    "kubernetes",
    "requests",
    "urllib3",
    "http",
    "socket",
    "shutil",
    "tempfile",
    "regopy",
    "kubernetes_validate",
    "gitops_tool.adapters",
    "gitops_tool.cli",
    "gitops_tool.services",
}
FORBIDDEN_CALLS = {"open", "exec", "eval", "print"}
FORBIDDEN_ATTRS = {"write_text", "write_bytes", "read_text", "read_bytes", "mkdir", "unlink", "system"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_MODULES):
                found.append(f"{path.name}:{getattr(node, 'lineno', 0)} imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"{path.name}:{node.lineno} calls {func.id}()")
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_ATTRS:
                found.append(f"{path.name}:{node.lineno} calls .{func.attr}()")
    return found


def test_core_is_pure() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert files, "gitops_tool/core has no modules"
    problems = [problem for path in files for problem in _violations(path)]
    assert problems == []


def test_the_contract_check_catches_an_impure_module(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import subprocess\nfrom gitops_tool.adapters import kustomize\nopen('x')\n")
    assert len(_violations(bad)) == 3


REPO = CORE.parent.parent


def _lint_imports(cwd: Path, package_parent: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_lint_imports_keeps_every_contract() -> None:
    """.importlinter: layers cli > services > adapters > core; the cli reaches adapters through
    services; kubernetes, GitPython and subprocess are imported by their adapters only."""
    result = _lint_imports(REPO, REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/images.py", "import subprocess", "subprocess only in the process runner adapters"),
        ("services/nodes.py", "import git", "GitPython only in the git adapters"),
        ("cli/render.py", "import gitops_tool.adapters.files", "The cli reaches adapters only through"),
        ("core/images.py", "import gitops_tool.services.rendering", "Layers"),
    ],
)
def test_lint_imports_breaks_on_a_forbidden_import(
    module: str, line: str, contract: str, tmp_path: Path
) -> None:
    """The contracts can fail: the same check on a copy with one forbidden import added."""
    shutil.copytree(REPO / "gitops_tool", tmp_path / "gitops_tool")
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    target = tmp_path / "gitops_tool" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = _lint_imports(tmp_path, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert contract in result.stdout.split("Broken contracts")[-1]


PACKAGE = CORE.parent
ERROR_BASES = {"GitopsError", "UserError", "ClusterError", "RepositoryError", "ClusterApiError"}


def _error_classes_outside_errors_module() -> list[str]:
    """Classes deriving from the tool's error tree defined anywhere but gitops_tool/errors.py
    (a subclass of a class defined in the same module, like ``NothingToChange(AlreadyInState)``,
    is a specialisation of one error and may live beside the code that raises it; bases named
    ``*Error`` or ``*Exception`` outside the tree are checked too)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
            if bases & ERROR_BASES or any(b.endswith(("Error", "Exception")) for b in bases):
                found.append(f"{path.relative_to(PACKAGE.parent)}: {node.name}")
    return found


def test_the_error_tree_lives_in_one_module() -> None:
    assert _error_classes_outside_errors_module() == []


def _raw_status_comparisons() -> list[str]:
    """``exc.status == 404``-style tests of an API error's HTTP status: callers catch the status
    subclass (``ApiNotFound``, ``ApiConflict``, ...) instead. The client that builds them is exempt."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "adapters" / "kube" / "client.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            statuses = [
                o for o in operands if isinstance(o, ast.Attribute) and o.attr in ("status", "status_code")
            ]
            numbers = [
                o
                for o in ast.walk(node)
                if isinstance(o, ast.Constant) and isinstance(o.value, int) and 100 <= o.value <= 599
            ]
            if statuses and numbers:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_raw_http_status_comparisons() -> None:
    assert _raw_status_comparisons() == []
