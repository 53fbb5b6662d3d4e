"""Policies: checking a rendered overlay against policies/*.rego, and running the policy test cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.policy import PolicyEngine, find_policies
from gitops_tool.adapters.project import display_path, find_project_root
from gitops_tool.core.conventions import NODE_ROLES_FILE
from gitops_tool.core.policy import (
    CaseResult,
    OverlayLayout,
    PolicyCase,
    check_case,
    coverage_gaps,
    decide_layout,
    exceptions_in,
    parse_case,
    policy_input,
    unknown_exception_rules,
    violations_from_findings,
)
from gitops_tool.errors import UserError

if TYPE_CHECKING:
    from gitops_tool.core.objects import Manifest
    from gitops_tool.core.validation import Violation

CASES_DIR = "tests"


@dataclass
class PolicyCheck:
    """What the policies say about one overlay."""

    layout: OverlayLayout
    violations: list[Violation]
    exceptions: list[str]


class Engines:
    """One compiled engine per policies folder, built on first use and reused for every overlay."""

    def __init__(self) -> None:
        self._engines: dict[Path, PolicyEngine] = {}

    def for_overlay(self, overlay: Path) -> PolicyEngine | None:
        """The engine of the repository holding ``overlay``; None when it has no policies/ folder
        (or the overlay lives in no repository at all)."""
        try:
            root = find_project_root(overlay)
        except UserError:
            return None
        folder = find_policies(root)
        if folder is None:
            return None
        folder = folder.resolve()
        if folder not in self._engines:
            self._engines[folder] = PolicyEngine(folder)
        return self._engines[folder]


def check_overlay(engine: PolicyEngine, overlay: Path, label: str, objects: list[Manifest]) -> PolicyCheck:
    """Evaluate every policy package on the overlay's render (plus its node-roles.yaml)."""
    from gitops_tool.core.documents import parse_documents
    from gitops_tool.core.node_roles import parse_role_mapping

    roles_file = overlay / NODE_ROLES_FILE
    source = f"{label}/{NODE_ROLES_FILE}"
    roles_doc: Any | None = None
    roles: dict[str, str] = {}
    if roles_file.is_file():
        docs = parse_documents(read_text(roles_file, "node roles file"), source)
        roles_doc = docs[0] if docs else {}
        roles = parse_role_mapping(roles_doc, source).roles
    layout = decide_layout(roles_doc, objects, source)
    evaluation = engine.evaluate(policy_input(label, layout, objects, roles))
    violations: list[Violation] = []
    for package, findings in evaluation.findings.items():
        violations.extend(violations_from_findings(label, package, findings))
    exceptions = exceptions_in(objects)
    violations.extend(unknown_exception_rules(label, exceptions, engine.rule_ids))
    return PolicyCheck(layout, violations, [str(e) for e in exceptions])


# --- policy test ----------------------------------------------------------------------------------


@dataclass
class PolicyTestReport:
    folder: str
    results: list[CaseResult] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    rules: dict[str, list[str]] = field(default_factory=dict)  # package -> rule ids

    @property
    def ok(self) -> bool:
        return not self.gaps and all(r.ok for r in self.results)


def policies_folder(root: Path | None = None, policies: Path | None = None) -> Path:
    if policies is not None:
        if not policies.is_dir():
            raise UserError(f"policies folder {policies} does not exist")
        return policies
    project = root or find_project_root()
    folder = find_policies(project)
    if folder is None:
        raise UserError(f"no policies: {project} has no policies/ folder")
    return folder


def load_cases(folder: Path, root: Path) -> list[PolicyCase]:
    """Every ``<folder>/tests/<rule>/<pass|fail>/*.yaml``, sorted."""
    from gitops_tool.core.documents import parse_documents

    cases: list[PolicyCase] = []
    for path in sorted((folder / CASES_DIR).glob("*/*/*.y*ml")):
        name = display_path(path, root)
        docs = parse_documents(read_text(path, "policy test case"), name)
        if len(docs) != 1:
            raise UserError(f"{name}: a policy case is one YAML document, found {len(docs)}")
        cases.append(parse_case(docs[0], path.parent.parent.name, path.parent.name, name))
    return cases


def run_policy_tests(root: Path | None = None, policies: Path | None = None) -> PolicyTestReport:
    """Run each case through the same engine `validate` uses; every rule must have both outcomes."""
    folder = policies_folder(root, policies)
    anchor = root or folder.resolve().parent
    engine = PolicyEngine(folder)
    cases = load_cases(folder, anchor)
    report = PolicyTestReport(
        display_path(folder, anchor),
        rules={pkg: sorted(ids) for pkg, ids in sorted(engine.rules.items())},
    )
    for case in cases:
        evaluation = engine.evaluate(case.input())
        messages: dict[str, list[str]] = {}
        for findings in evaluation.findings.values():
            for finding in findings:
                messages.setdefault(str(finding.get("rule", "")), []).append(str(finding.get("msg", "")))
        report.results.append(check_case(case, messages))
    report.gaps = coverage_gaps(cases, engine.rule_ids)
    return report
