"""``gitops-tool dags push|rollback|status``: local checks, then the agent pod on the cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gitops_tool.adapters.kube.client import KubeSettings, connect
from gitops_tool.adapters.kube.dags_agent import DagsAgentRunner
from gitops_tool.core import conventions
from gitops_tool.core.dags.agent import (
    AGENT_IMAGE,
    DEFAULT_KEEP,
    PUSH_POD,
    STATUS_POD_PREFIX,
    AgentSpec,
    agent_pod,
    bundle_configmap,
    parse_report,
    require_done,
)
from gitops_tool.core.dags.bundle import DEFAULT_LIMITS, PackLimits, file_digests, pack
from gitops_tool.core.dags.checks import compile_problems
from gitops_tool.core.dags.report import (
    PushOutcome,
    RollbackOutcome,
    StatusOutcome,
    push_outcome_from,
    rollback_outcome_from,
    view_from,
)
from gitops_tool.core.dags.versions import new_manifest
from gitops_tool.errors import UserError

DEFAULT_TIMEOUT_S = 300.0

# Re-exported for the cli layer, which does not import adapters (.importlinter).
__all__ = ["KubeSettings"]


@dataclass(frozen=True)
class DagsTarget:
    """Where the agent runs and how."""

    kube: KubeSettings
    namespace: str = conventions.NAMESPACE
    image: str = AGENT_IMAGE
    timeout_s: float = DEFAULT_TIMEOUT_S
    poll_interval_s: float = 1.0
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), compare=False)


def push(
    folder: Path,
    target: DagsTarget,
    *,
    keep: int = DEFAULT_KEEP,
    dry_run: bool = False,
    check_imports: bool = False,
    limits: PackLimits = DEFAULT_LIMITS,
) -> PushOutcome:
    """Validate and pack ``folder``, then publish it as a new version (or only dry-run it)."""
    from gitops_tool.adapters.dags_source import scan_folder

    if keep < 1:
        raise UserError(f"--keep {keep}: keep at least 1 previous version, so rollback has one")
    entries = scan_folder(folder, limits)
    problems = [str(p) for p in compile_problems(entries)]
    if not problems and check_imports:
        from gitops_tool.adapters.airflow_imports import find_airflow_python, import_errors

        errors = import_errors(folder, find_airflow_python())
        problems = [f"{path}: {_last_line(error)}" for path, error in errors.items()]
    files = file_digests(entries)
    manifest = new_manifest(files, target.now(), folder.resolve().name)
    if problems:
        return PushOutcome(manifest.version, len(files), 0, dry_run, problems)
    archive = pack(entries, limits)
    bundle = bundle_configmap(target.namespace, archive, manifest)
    pod = agent_pod(AgentSpec(PUSH_POD, target.namespace, "publish", target.image, manifest.version, keep))
    with _runner(target) as runner:
        _refuse_second_writer(runner.git_sync_replicas(), target.namespace)
        runner.require_dags_volume()
        if dry_run:
            runner.dry_run([bundle, pod])
            return PushOutcome(manifest.version, len(files), len(archive), dry_run=True)
        log = runner.run(pod, target.timeout_s, bundle)
    report = parse_report(log)
    require_done(report, "publish", PUSH_POD)
    return push_outcome_from(report, manifest.version, files, len(archive))


def rollback(target: DagsTarget, to: str = "") -> RollbackOutcome:
    """Switch the published link back to ``to`` or, by default, to the version before it."""
    pod = agent_pod(AgentSpec(PUSH_POD, target.namespace, "rollback", target.image, to))
    with _runner(target) as runner:
        _refuse_second_writer(runner.git_sync_replicas(), target.namespace)
        runner.require_dags_volume()
        log = runner.run(pod, target.timeout_s)
    report = parse_report(log)
    require_done(report, "rollback", PUSH_POD)
    return rollback_outcome_from(report)


def status(target: DagsTarget) -> StatusOutcome:
    """The published version as each running scheduler's node sees it (one read-only pod each)."""
    with _runner(target) as runner:
        runner.require_dags_volume()
        schedulers = runner.scheduler_pods()
        places = [(str(p["metadata"]["name"]), str(p["spec"]["nodeName"])) for p in schedulers] or [("", "")]
        views = []
        for index, (scheduler, node) in enumerate(places, start=1):
            name = f"{STATUS_POD_PREFIX}{index}"
            pod = agent_pod(AgentSpec(name, target.namespace, "status", target.image, node_name=node))
            report = parse_report(runner.run(pod, target.timeout_s))
            require_done(report, "status", name)
            where = f"scheduler {scheduler} on {node}" if scheduler else "the volume"
            views.append(view_from(report, where))
    return StatusOutcome(views, schedulers_found=bool(schedulers))


def _last_line(error: str) -> str:
    """The exception line of an import traceback, which names the cause."""
    lines = [line for line in error.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "import failed"


def _refuse_second_writer(git_sync_replicas: int, namespace: str) -> None:
    if git_sync_replicas > 0:
        raise UserError(
            f"git-sync (Deployment {namespace}/{conventions.GIT_SYNC_DEPLOYMENT}) publishes the DAGs of this "
            "cluster: push to its repository instead, or scale it to 0 first (one writer only)"
        )


@contextmanager
def _runner(target: DagsTarget) -> Iterator[DagsAgentRunner]:
    """A runner on a fresh connection, closed whatever happens."""
    with connect(target.kube) as client:
        yield DagsAgentRunner(client, target.namespace, poll_interval_s=target.poll_interval_s)
