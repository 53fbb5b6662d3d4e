"""The layer contract: gitops_tool.core is pure and imports no outer layer."""

from __future__ import annotations

import ast
from pathlib import Path

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
