"""What ``dags push``, ``rollback`` and ``status`` tell the user, built from agent reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gitops_tool.core.dags.agent import AgentReport
from gitops_tool.core.dags.bundle import human_size
from gitops_tool.core.dags.versions import TreeDiff, diff_files, parse_manifest


@dataclass(frozen=True)
class PushOutcome:
    version: str
    files: int
    archive_bytes: int
    dry_run: bool = False
    problems: list[str] = field(default_factory=list)  # files that do not compile or import
    previous: str = ""  # the version (or link) published before
    diff: TreeDiff | None = None
    pruned: list[str] = field(default_factory=list)
    prune_failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RollbackOutcome:
    previous: str
    published: str
    diff: TreeDiff | None


@dataclass(frozen=True)
class VolumeView:
    """The published version as one node sees it."""

    where: str  # "scheduler airflow-scheduler-1-... on node-a", or "the volume"
    kind: str  # push, git-sync, other, none
    version: str
    published_at: str
    versions: list[str]


@dataclass(frozen=True)
class StatusOutcome:
    views: list[VolumeView]
    schedulers_found: bool

    @property
    def consistent(self) -> bool:
        return len({(v.kind, v.version) for v in self.views}) <= 1


def push_outcome_from(
    report: AgentReport, version: str, files: dict[str, str], archive_bytes: int
) -> PushOutcome:
    previous_manifest = report.blocks.get("previous-manifest")
    before = parse_manifest(previous_manifest, "previous manifest").files if previous_manifest else {}
    previous = report.fact("previous") or report.fact("previous-link")
    pruned = _all(report, "pruned")
    return PushOutcome(
        version=version,
        files=len(files),
        archive_bytes=archive_bytes,
        previous=previous,
        diff=diff_files(before, files),
        pruned=pruned,
        prune_failed=_all(report, "prune-failed"),
    )


def _all(report: AgentReport, key: str) -> list[str]:
    """Every value of a fact the script may print several times."""
    prefix = f"gitops-tool:{key}="
    return [line[len(prefix) :] for line in report.lines if line.startswith(prefix)]


def rollback_outcome_from(report: AgentReport) -> RollbackOutcome:
    before_text = report.blocks.get("previous-manifest")
    after_text = report.blocks.get("published-manifest")
    diff = None
    if before_text and after_text:
        diff = diff_files(
            parse_manifest(before_text, "previous manifest").files,
            parse_manifest(after_text, "published manifest").files,
        )
    return RollbackOutcome(
        report.fact("previous") or report.fact("previous-link"), report.fact("published"), diff
    )


def view_from(report: AgentReport, where: str) -> VolumeView:
    kind = report.fact("kind") or "none"
    published_at = ""
    manifest_text = report.blocks.get("published-manifest")
    if manifest_text:
        published_at = parse_manifest(manifest_text, "published manifest").created
    elif report.fact("modified").isdigit():
        stamp = datetime.fromtimestamp(int(report.fact("modified")), UTC).replace(microsecond=0)
        published_at = stamp.isoformat().replace("+00:00", "Z")
    return VolumeView(where, kind, report.fact("version"), published_at, report.fact("versions").split())


def format_push(outcome: PushOutcome) -> str:
    size = human_size(outcome.archive_bytes)
    if outcome.problems:
        lines = [f"{len(outcome.problems)} DAG file(s) do not load; nothing was published:"]
        return "\n".join([*lines, *(f"  {p}" for p in outcome.problems)])
    if outcome.dry_run:
        return (
            f"dry run: {outcome.files} files compile and pack into {size}; "
            f"version {outcome.version} would be published (the API server accepted the ConfigMap "
            "and the pod with dryRun=All; nothing changed)"
        )
    before = outcome.previous or "nothing"
    lines = [f"published {outcome.version} ({outcome.files} files, {size}); before: {before}"]
    lines += _diff_lines(outcome.diff)
    if outcome.pruned:
        lines.append("removed old versions: " + ", ".join(outcome.pruned))
    if outcome.prune_failed:
        lines.append("could not remove (still on the volume): " + ", ".join(outcome.prune_failed))
    return "\n".join(lines)


def format_rollback(outcome: RollbackOutcome) -> str:
    lines = [f"rolled back: {outcome.previous or 'nothing'} -> {outcome.published}"]
    lines += _diff_lines(outcome.diff)
    return "\n".join(lines)


def format_status(outcome: StatusOutcome) -> str:
    lines: list[str] = []
    first = outcome.views[0] if outcome.views else None
    if first is None or first.kind == "none":
        lines.append("published: nothing (no link on the volume yet)")
    else:
        source = {"push": "gitops-tool dags push", "git-sync": "git-sync commit"}.get(first.kind, first.kind)
        lines.append(f"published: {first.version} ({source}, {first.published_at or 'time unknown'})")
    if not outcome.schedulers_found:
        lines.append("schedulers: none running; read from one pod mounting the volume")
    else:
        for view in outcome.views:
            lines.append(f"  {view.where}: {view.version or 'nothing'}")
        verdict = "yes" if outcome.consistent else "NO: they differ (NFS caching or a switch in progress?)"
        lines.append(f"schedulers see the same version: {verdict}")
    if first is not None and first.versions:
        lines.append("versions kept on the volume: " + ", ".join(first.versions))
    return "\n".join(lines)


def _diff_lines(diff: TreeDiff | None) -> list[str]:
    if diff is None:
        return ["files: unknown (no manifest stored with one of the versions)"]
    lines = [f"files: {len(diff.added)} added, {len(diff.changed)} changed, {len(diff.removed)} removed"]
    lines += [f"  + {p}" for p in diff.added]
    lines += [f"  ~ {p}" for p in diff.changed]
    lines += [f"  - {p}" for p in diff.removed]
    return lines
