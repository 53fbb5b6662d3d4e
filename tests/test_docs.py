"""The README stays a short front page, every docs/ page is in the MkDocs nav, and the command reference
generator covers the whole CLI and notices a stale page.

`mkdocs build --strict` itself (broken links and anchors) and the staleness check of the committed
reference run in .ci/run and CI.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer.main
import yaml

from gitops_tool.cli.app import app
from tests.conftest import REPO_ROOT

README_LIMIT = 10_240


def test_the_readme_is_under_10_kib() -> None:
    assert (REPO_ROOT / "README.md").stat().st_size < README_LIMIT


def _nav_pages(entries: list[Any]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_every_docs_page_is_in_the_nav_once() -> None:
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = _nav_pages(config["nav"])
    pages = sorted(p.relative_to(REPO_ROOT / "docs").as_posix() for p in (REPO_ROOT / "docs").rglob("*.md"))
    assert sorted(nav) == pages
    assert len(set(nav)) == len(nav)


def test_the_ci_builds_the_docs_strictly_and_checks_the_reference() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ".venv/bin/mkdocs build --strict" in script
    assert ".venv/bin/python scripts/gen_command_reference.py --check" in script


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_command_reference", REPO_ROOT / "scripts" / "gen_command_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _command_paths(command: Any, path: str) -> list[str]:
    paths = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            paths += _command_paths(sub, f"{path} {name}")
    return paths


def test_the_reference_has_a_section_for_every_visible_command(generator: ModuleType) -> None:
    text = generator.render()
    paths = _command_paths(typer.main.get_command(app), "gitops-tool")
    assert len(paths) > 20
    for path in paths:
        assert f"\n## `{path}`\n" in text, path
    # Every option of a command, e.g. drift's --live-file, is listed under that command (`drift
    # OVERLAY` runs `drift audit`, the group's default command).
    drift = text.split("\n## `gitops-tool drift audit`\n", 1)[1].split("\n## ", 1)[0]
    assert "`--live-file`" in drift
    assert "- `-h`, `--help`" not in text


def test_check_fails_on_a_stale_page_and_passes_once_regenerated(
    generator: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "commands.md"
    page.write_text("# Command reference\n\nstale\n", encoding="utf-8")
    assert generator.main(["--check", "--output", str(page)]) == 1
    assert page.read_text(encoding="utf-8") == "# Command reference\n\nstale\n"
    assert "scripts/gen_command_reference.py" in capsys.readouterr().err
    assert generator.main(["--output", str(page)]) == 0
    assert generator.main(["--check", "--output", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == generator.render()


def test_help_text_is_shown_literally_outside_code_spans(generator: ModuleType) -> None:
    assert generator._escape("policies/*.rego and `a*b` <role>") == r"policies/\*.rego and `a*b` \<role\>"


def _user_facing_texts() -> dict[str, str]:
    texts = {"README.md": (REPO_ROOT / "README.md").read_text(encoding="utf-8")}
    for page in sorted((REPO_ROOT / "docs").rglob("*.md")):
        texts[page.relative_to(REPO_ROOT).as_posix()] = page.read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    for path in _command_paths(root, "gitops-tool"):
        command = root
        for name in path.split()[1:]:
            command = command.commands[name]  # type: ignore[attr-defined]
        helps = [command.help or "", command.epilog or ""]
        helps += [getattr(p, "help", None) or "" for p in command.params]
        texts[f"{path} --help"] = "\n".join(helps)
    return texts


def test_user_facing_text_says_reference_architecture_not_seed() -> None:
    """ "Seed" was never defined for users; the docs define and use "the reference architecture"."""
    found = [where for where, text in _user_facing_texts().items() if re.search(r"\bseeds?\b", text, re.I)]
    assert found == []


def test_the_readme_links_to_files_that_exist() -> None:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    targets = [t.split("#", 1)[0] for t in re.findall(r"\]\(([^)]+)\)", text) if "://" not in t]
    assert "docs/getting-started.md" in targets
    assert [t for t in targets if t and not (REPO_ROOT / t).exists()] == []


def _empty_snapshot() -> Any:
    """A cluster with nothing in it, whatever fields the snapshot has grown."""
    from gitops_tool.core.doctor import ClusterSnapshot

    values: dict[str, Any] = {}
    for field in dataclasses.fields(ClusterSnapshot):
        if field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING:
            continue
        kind = str(field.type)
        values[field.name] = datetime.now(UTC) if field.name == "now" else [] if "list" in kind else None
    return ClusterSnapshot(**values)


def test_the_troubleshooting_page_lists_every_doctor_check() -> None:
    from gitops_tool.core.doctor import run_checks

    names = [result.name for result in run_checks(_empty_snapshot())]
    assert len(names) >= 9
    page = (REPO_ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    table = page.split("## `gitops-tool doctor`", 1)[1].split("\n## ", 1)[0]
    assert [name for name in names if f"| **{name}**" not in table] == []


def test_the_manual_builds_strictly(tmp_path: Path) -> None:
    """What .ci/run runs, here too so a broken link or anchor shows in the tests of whoever broke it."""
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(REPO_ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "reference" / "commands" / "index.html").is_file()
