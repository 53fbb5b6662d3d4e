"""Legacy (single node) -> three-node HA migration: the ordered steps and their preconditions.

Pure: it reads what the cluster says (nodes, label plan, Argo CD Applications, last backup) and
says which step is done, which is next, and which command does it. No step deletes data: the
PostgreSQL volume stays, and restore is only for a database that came up empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gitops_tool.core.conventions import DEFAULT_OVERLAY, LEGACY_OVERLAY, NAMESPACE
from gitops_tool.core.doctor import CheckResult, Status
from gitops_tool.core.node_roles import LabelPlan, RoleMapping
from gitops_tool.core.objects import Manifest
from gitops_tool.errors import UserError


@dataclass(frozen=True)
class ApplicationState:
    name: str
    path: str
    sync: str  # Synced, OutOfSync, Unknown
    health: str  # Healthy, Progressing, Degraded, Missing, Unknown
    revision: str


def application_states(applications: list[Manifest]) -> list[ApplicationState]:
    """Argo CD Applications deploying into the Airflow namespace."""
    states = []
    for app in applications:
        spec, status = app.get("spec") or {}, app.get("status") or {}
        if (spec.get("destination") or {}).get("namespace", NAMESPACE) != NAMESPACE:
            continue
        source: dict[str, Any] = spec.get("source") or next(iter(spec.get("sources") or []), {}) or {}
        states.append(
            ApplicationState(
                name=str((app.get("metadata") or {}).get("name", "")),
                path=str(source.get("path", "")).strip("/"),
                sync=str((status.get("sync") or {}).get("status") or "Unknown"),
                health=str((status.get("health") or {}).get("status") or "Unknown"),
                revision=str((status.get("sync") or {}).get("revision") or ""),
            )
        )
    return sorted(states, key=lambda s: s.name)


@dataclass(frozen=True)
class MigrationFacts:
    now: datetime
    mapping: RoleMapping
    label_plan: LabelPlan
    node_names: list[str]
    applications: list[ApplicationState]
    last_backup: datetime | None
    backup_component: bool  # the backup CronJob exists in the cluster
    scheduler_nodes: dict[str, str]  # ready scheduler pod -> node
    max_backup_age: timedelta = timedelta(hours=24)
    target: str = DEFAULT_OVERLAY
    legacy: str = LEGACY_OVERLAY
    # The target overlay lists components/backup in Git: after the switch the backup CronJob (and
    # with it `restore`) is still there. None: not known.
    target_backups: bool | None = None


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    status: str  # "done", "todo", "check"
    how: str


def _backup_recent(facts: MigrationFacts) -> bool:
    return facts.last_backup is not None and facts.now - facts.last_backup <= facts.max_backup_age


def _on_target(facts: MigrationFacts) -> list[ApplicationState]:
    return [a for a in facts.applications if a.path == facts.target]


def plan_steps(facts: MigrationFacts) -> list[Step]:
    steps: list[Step] = []
    if _backup_recent(facts):
        backup_how = f"last backup {facts.last_backup:%Y-%m-%d %H:%M}Z"
    elif facts.backup_component:
        backup_how = "gitops-tool backup now"
    else:
        backup_how = (
            "gitops-tool backup enable --all (one commit; both layouts keep the backup CronJob and "
            "its claim across the switch), let Argo CD sync, then gitops-tool backup now"
        )
    steps.append(Step(1, "Back up the metadata DB", "done" if _backup_recent(facts) else "todo", backup_how))
    steps.append(
        Step(
            2,
            "Label the nodes with their HA roles",
            "done" if facts.label_plan.in_sync else "todo",
            f"gitops-tool nodes apply {facts.target} --yes",
        )
    )
    switched = _on_target(facts)
    target_app = f"applications/{facts.target.rsplit('/', 1)[-1]}.yaml"
    steps.append(
        Step(
            3,
            f"Switch the Argo CD Application path from {facts.legacy} to {facts.target}",
            "done" if switched else "todo",
            f"gitops-tool migrate switch --to {facts.target} (commits argocd/root.yaml selecting "
            f"{target_app}), then git push",
        )
    )
    synced = [a for a in switched if a.sync == "Synced" and a.health == "Healthy"]
    steps.append(
        Step(
            4,
            "Wait for Argo CD to sync the HA layout",
            "done" if synced else "todo",
            "argocd app wait <app> --sync --health, or watch the Application in the Argo CD UI",
        )
    )
    distinct = len(set(facts.scheduler_nodes.values())) == len(facts.scheduler_nodes) >= 2
    steps.append(
        Step(
            5,
            "Verify the schedulers run on distinct nodes",
            "done" if synced and distinct else "todo",
            "gitops-tool doctor",
        )
    )
    steps.append(
        Step(
            6,
            "Restore the metadata DB, only if PostgreSQL came up empty",
            "check",
            "gitops-tool backup list, then gitops-tool backup restore FILE --yes",
        )
    )
    return steps


def plan_text(steps: list[Step]) -> str:
    marks = {"done": "[x]", "todo": "[ ]", "check": "[?]"}
    lines = [f"{marks[s.status]} {s.number}. {s.title}\n      {s.how}" for s in steps]
    return "\n".join(lines)


def check_preconditions(facts: MigrationFacts) -> list[CheckResult]:
    """What must hold before switching the Application to the HA overlay."""
    results: list[CheckResult] = []
    missing = sorted(set(facts.mapping.roles.values()) - set(facts.node_names))
    count = len(facts.mapping.roles)
    if missing:
        results.append(
            CheckResult(
                "nodes",
                Status.FAIL,
                f"{len(missing)} mapped node(s) not in the cluster: {', '.join(missing)}",
                f"join the nodes, or map the roles to existing nodes in {facts.target}/node-roles.yaml",
            )
        )
    else:
        results.append(CheckResult("nodes", Status.PASS, f"all {count} mapped nodes exist"))
    label_problems = [p for p in facts.label_plan.problems() if "node not found" not in p]
    if label_problems:
        results.append(
            CheckResult(
                "node labels",
                Status.FAIL,
                f"{len(label_problems)} label(s) to change",
                f"gitops-tool nodes apply {facts.target} --yes",
                label_problems,
            )
        )
    else:
        results.append(CheckResult("node labels", Status.PASS, "labels match the mapping"))
    if _backup_recent(facts):
        results.append(
            CheckResult("recent backup", Status.PASS, f"last backup {facts.last_backup:%Y-%m-%d %H:%M}Z")
        )
    else:
        age = "none found" if facts.last_backup is None else f"last one {facts.last_backup:%Y-%m-%d %H:%M}Z"
        results.append(
            CheckResult(
                "recent backup",
                Status.FAIL,
                f"no backup in the last {int(facts.max_backup_age.total_seconds() // 3600)}h ({age})"
                + ("" if facts.backup_component else "; backups are not enabled (no backup CronJob)"),
                "gitops-tool backup now"
                if facts.backup_component
                else "gitops-tool backup enable --all, let Argo CD sync, then gitops-tool backup now",
            )
        )
    if facts.target_backups is False:
        results.append(
            CheckResult(
                "backups after the switch",
                Status.FAIL,
                f"{facts.target} does not enable components/backup: once Argo CD syncs it, the backup "
                "CronJob is gone and `gitops-tool backup restore` has nothing to run",
                f"gitops-tool backup enable {facts.target}",
            )
        )
    elif facts.target_backups:
        results.append(
            CheckResult("backups after the switch", Status.PASS, f"{facts.target} enables components/backup")
        )
    if not facts.applications:
        results.append(
            CheckResult(
                "Argo CD Application",
                Status.FAIL,
                f"no Application deploys into namespace {NAMESPACE}",
                "apply the repository's argocd/ objects (docs/getting-started.md)",
            )
        )
    else:
        unhealthy = [
            f"{a.name}: {a.sync}/{a.health}"
            for a in facts.applications
            if (a.sync, a.health) != ("Synced", "Healthy")
        ]
        if unhealthy:
            results.append(
                CheckResult(
                    "Argo CD Application",
                    Status.FAIL,
                    "not Synced/Healthy",
                    "fix the current layout before migrating (gitops-tool doctor)",
                    unhealthy,
                )
            )
        else:
            shown = ", ".join(f"{a.name} ({a.path})" for a in facts.applications)
            results.append(CheckResult("Argo CD Application", Status.PASS, f"Synced/Healthy: {shown}"))
    return results


def summary(results: list[CheckResult]) -> dict[str, Any]:
    return {
        "ready": all(r.status is Status.PASS for r in results),
        "failed": [r.name for r in results if r.status is not Status.PASS],
    }


_INCLUDE_LINE = re.compile(r"^(?P<head>\s*include:\s*)(?P<value>.+?)\s*$", re.M)
_SELECTED_APP = re.compile(r"applications/(?P<name>[A-Za-z0-9._-]+)\.ya?ml")


def switch_root_include(text: str, target_name: str, source: str) -> tuple[str, str]:
    """``argocd/root.yaml`` with its ``include`` selecting ``applications/<target_name>.yaml``; and the
    layout it selected before. Only that one value changes: comments and layout stay."""
    matches = list(_INCLUDE_LINE.finditer(text))
    if len(matches) != 1:
        raise UserError(
            f"{source}: expected one `include:` line (spec.source.directory.include), found {len(matches)}"
        )
    line = matches[0]
    selected = _SELECTED_APP.findall(line["value"])
    if len(selected) != 1:
        raise UserError(
            f"{source}: its include selects {len(selected)} overlay Applications; expected exactly one"
        )
    if selected[0] == target_name:
        raise UserError(f"{source} already selects applications/{target_name}.yaml; nothing to switch")
    value = _SELECTED_APP.sub(f"applications/{target_name}.yaml", line["value"])
    return text[: line.start("value")] + value + text[line.end("value") :], selected[0]
