"""``gitops-tool policy test``."""

import json
from pathlib import Path
from typing import Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK

policy_app = typer.Typer(
    name="policy",
    help="The repository's Rego policies (policies/*.rego).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


@policy_app.command(
    "test",
    epilog="Example: gitops-tool policy test   (cases: policies/tests/<rule>/<pass|fail>/*.yaml)",
)
def test(
    policies: Annotated[
        Path | None,
        typer.Option("--policies", help="Policies folder (default: policies/ of the repository)."),
    ] = None,
    repo: options.Repo = None,
    output: options.OutputFormat = "text",
) -> int:
    """Run every policy test case; each rule needs a passing and a failing case."""
    from gitops_tool.services.policy import run_policy_tests

    report = run_policy_tests(repo, policies)
    if output == "json":
        typer.echo(
            json.dumps(
                {
                    "policies": report.folder,
                    "ok": report.ok,
                    "rules": report.rules,
                    "cases": [
                        {
                            "case": r.case.name,
                            "rule": r.case.rule,
                            "outcome": r.case.outcome,
                            "ok": r.ok,
                            "problems": r.problems,
                        }
                        for r in report.results
                    ],
                    "gaps": report.gaps,
                },
                indent=2,
            )
        )
    else:
        lines: list[str] = []
        for result in report.results:
            lines.append(f"{'ok  ' if result.ok else 'FAIL'} {result.case.name}")
            lines.extend(f"     {problem}" for problem in result.problems)
        lines.extend(f"GAP  {gap}" for gap in report.gaps)
        failed = sum(not r.ok for r in report.results)
        rules = sum(len(ids) for ids in report.rules.values())
        lines.append(
            f"{len(report.results)} case(s) for {rules} rule(s) in {report.folder}: "
            f"{len(report.results) - failed} passed, {failed} failed, {len(report.gaps)} gap(s)"
        )
        typer.echo("\n".join(lines))
    return EXIT_OK if report.ok else EXIT_FINDINGS
