"""``gitops-tool upgrade-airflow VERSION``: a Git-first upgrade instead of ``kubectl set image``.

Every ``apache/airflow:OLD`` in the repository's manifests (containers, init containers, the Sync
hook Jobs, the worker pod templates kept as text in ConfigMaps, kustomize ``images:`` entries)
becomes ``apache/airflow:NEW`` in one commit. Before committing, each affected overlay is rendered,
validated, and checked to run only the new tag; any failure puts files, index and history back.
Argo CD then syncs the commit, running the ``airflow db migrate`` Sync hook with the new image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.git_repo import GitRepo, open_project_repo
from gitops_tool.adapters.overlay_files import resolve_overlay_in
from gitops_tool.adapters.project import display_path, list_overlays
from gitops_tool.adapters.transaction import FileTransaction
from gitops_tool.core import airflow_upgrade as up
from gitops_tool.errors import UserError
from gitops_tool.services.committed_change import commit_change, locked_repository, refuse_dirty
from gitops_tool.services.rendering import render_overlay

MANIFEST_FOLDERS = ("base", "components", "overlays")
_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass
class UpgradeResult:
    old: list[str]
    new: str
    overlays: list[str]
    files: dict[str, int] = field(default_factory=dict)  # repo-relative path -> references changed
    commit: str | None = None
    major: bool = False
    options_changed: list[str] = field(default_factory=list)  # "AIRFLOW__A__B -> AIRFLOW__C__D"


@dataclass(frozen=True)
class UpgradeOptions:
    overlay: str | None = None  # None: every overlay
    commit: bool = True
    dry_run: bool = False
    kubernetes_version: str = "1.37"
    kustomize: str | None = None
    major: bool = False  # a new major release: the layout changes too (components/airflow-3)
    backup_checked: bool = False  # the caller saw a backup younger than a day (cluster or user's word)


if TYPE_CHECKING:
    from gitops_tool.adapters.kube.client import KubeClient

MAJOR_COMPONENT = "components/airflow-3"
BACKUP_MAX_AGE = timedelta(days=1)


def recent_backup_in_cluster(client: KubeClient, now: datetime | None = None) -> datetime:
    """Read-only: the backup CronJob and its Jobs, and the time of the last successful backup."""
    from gitops_tool.services.doctor import backups

    cronjob, jobs, readable = backups(client)
    if not readable:
        raise UserError(
            "could not read the backup CronJob and Jobs (HTTP 403): a major upgrade needs to see a "
            "backup younger than a day; or give --backup-confirmed"
        )
    return check_recent_backup(cronjob, jobs, now or datetime.now(UTC))


def check_recent_backup(
    cronjob: dict[str, Any] | None, jobs: list[dict[str, Any]], now: datetime
) -> datetime:
    """The time of the last successful backup; refused when there is none from the last day."""
    from gitops_tool.core.backup_jobs import latest_success

    if cronjob is None:
        raise UserError(
            "a major upgrade needs a backup younger than a day, and backups are not enabled in the "
            "cluster: gitops-tool backup enable, let Argo CD sync, then gitops-tool backup now"
        )
    last = latest_success(jobs, cronjob)
    if last is None or now - last > BACKUP_MAX_AGE:
        seen = f"the last one succeeded {last:%Y-%m-%d %H:%M}Z" if last else "none has succeeded"
        raise UserError(
            f"a major upgrade needs a backup younger than a day ({seen}): run gitops-tool backup now, "
            "then upgrade (the database migration to Airflow 3 is one-way; the backup is the way back)"
        )
    return last


def upgrade(version: str, options: UpgradeOptions, start: Path | None = None) -> UpgradeResult:
    if options.dry_run:
        root, git = open_project_repo(start or Path.cwd())
        git.check_ready()
        return _plan(root, git, version, _targets(root, options), options)[0]
    with locked_repository(start or Path.cwd(), "upgrade-airflow") as (root, git):
        targets = _targets(root, options)
        result, changes = _plan(root, git, version, targets, options)

        def apply(files: FileTransaction) -> list[str]:
            for path, text in sorted(changes.items()):
                files.write_file(path, text)
            _verify(root, targets, up.parse_tag(result.new), options)
            return paths

        paths = [git.relative(root / p) for p in sorted(changes)]
        result.commit = commit_change(
            root,
            git,
            verb="upgrade-airflow",
            message=up.commit_message(_tag(result.new), result.overlays),
            paths=paths,
            apply=apply,
            commit=options.commit,
        )
    return result


def _targets(root: Path, options: UpgradeOptions) -> list[Path]:
    # Inside the repository only: an absolute path or a committed symlink elsewhere is refused.
    return [resolve_overlay_in(root, options.overlay)] if options.overlay else list_overlays(root)


def _tag(text: str) -> up.AirflowTag:
    tag = up.parse_tag(text)
    assert tag is not None  # noqa: S101 - built from a parsed tag
    return tag


def _plan(
    root: Path, git: GitRepo, version: str, targets: list[Path], options: UpgradeOptions
) -> tuple[UpgradeResult, dict[str, str]]:
    folders = [f for f in MANIFEST_FOLDERS if (root / f).is_dir()]
    refuse_dirty(git, root, folders, "the manifests")
    currents: dict[up.AirflowTag, list[str]] = {}
    new: up.AirflowTag | None = None
    labels = []
    for target in targets:
        rendered = render_overlay(str(target), options.kustomize, root)
        current = up.current_tag(up.image_uses(rendered.objects()), rendered.label)
        wanted = up.requested_tag(version, current)
        up.check_upgrade(current, wanted, rendered.label, major=options.major)
        if new is not None and wanted != new:
            raise UserError(
                f"{version} means {new} for one overlay and {wanted} for {rendered.label}; give the full tag"
            )
        new = wanted
        currents.setdefault(current, []).append(rendered.label)
        labels.append(rendered.label)
    assert new is not None  # noqa: S101 - list_overlays/resolve_overlay give at least one target
    scope = targets if options.overlay else [root / f for f in folders]
    if options.major:
        return _plan_major(root, targets, list(currents), new, labels, options)
    changes, counts = _edits(root, scope, list(currents), new)
    if not changes and options.overlay:
        raise UserError(
            f"{labels[0]} sets no Airflow image itself: it comes from files shared with other overlays "
            "(base/); upgrade them together with --all"
        )
    if not changes:
        raise UserError(
            f"no file under {', '.join(display_path(s, root) for s in scope)} sets apache/airflow:"
            f"{', '.join(str(c) for c in currents)}"
        )
    result = UpgradeResult(sorted(str(c) for c in currents), str(new), labels, counts)
    return result, changes


def _plan_major(  # noqa: PLR0917 - the planning state of upgrade(), passed on whole
    root: Path,
    targets: list[Path],
    old_tags: list[up.AirflowTag],
    new: up.AirflowTag,
    labels: list[str],
    options: UpgradeOptions,
) -> tuple[UpgradeResult, dict[str, str]]:
    """2 -> 3 in Git: every image retagged, every moved option renamed (removed ones dropped from env
    files), and components/airflow-3 listed in every overlay. Every overlay shares base/, so a major
    upgrade covers them all."""
    from gitops_tool.adapters.overlay_files import materialise
    from gitops_tool.core import airflow3_migration as a3
    from gitops_tool.core import components as cc
    from gitops_tool.core.scaffold.plan import Plan
    from gitops_tool.services.components import overlay_target

    if options.overlay:
        raise UserError(
            "a major upgrade changes base/, which every overlay shares: run it without an OVERLAY (--all)"
        )
    component_dir = root / MAJOR_COMPONENT
    if not (component_dir / "kustomization.yaml").is_file():
        raise UserError(f"no {MAJOR_COMPONENT} in {root}: this repository cannot run Airflow 3 yet")
    if not options.backup_checked:
        raise UserError(
            "a major upgrade needs a backup younger than a day: give --kubeconfig/--context to check "
            "the cluster's backups, or --backup-confirmed after gitops-tool backup now"
        )
    component = cc.known(MAJOR_COMPONENT.rsplit("/", 1)[-1])
    base_texts: dict[str, str] = {}
    for folder in targets:
        target = overlay_target(root, folder.relative_to(root).as_posix())
        if cc.is_enabled(target.kustomization, target.overlay, target.file, component):
            raise UserError(f"{target.overlay} already lists {MAJOR_COMPONENT}")
        edits = cc.enable_edits(target.kustomization, target.file, target.overlay, [component])
        for change in materialise(root, Plan("", tuple(edits))):
            if change.after is not None:
                base_texts[change.path] = change.after
    shipped = [
        tag
        for path in sorted(component_dir.rglob("*.yaml"))
        for match in up.find_references(read_text(path, "manifest"))
        if (tag := up.parse_tag(match["tag"])) is not None
    ]
    folders = [root / f for f in MANIFEST_FOLDERS if (root / f).is_dir()]
    changes, counts = _edits(root, folders, [*old_tags, *shipped], new, base_texts)
    renamed: set[a3.OptionChange] = set()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if not path.is_file() or relative.startswith(MAJOR_COMPONENT + "/"):
                continue
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            if path.suffix == ".env":
                before = changes.get(relative) or read_text(path, "env file")
                after, found = a3.migrate_env_file(before)
            elif path.suffix in (".yaml", ".yml"):
                before = changes.get(relative) or read_text(path, "manifest")
                after, found = a3.migrate_manifest_text(before, relative)
            else:
                continue
            renamed |= found
            if after != before:
                changes[relative] = after
                counts[relative] = counts.get(relative, 0) + len(found)
    for written in base_texts:
        counts.setdefault(written, 0)
    result = UpgradeResult(
        sorted(str(c) for c in old_tags),
        str(new),
        labels,
        counts,
        major=True,
        options_changed=[c.describe() for c in sorted(renamed)],
    )
    return result, changes


def _edits(
    root: Path,
    scope: list[Path],
    old_tags: list[up.AirflowTag],
    new: up.AirflowTag,
    base_texts: dict[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, int]]:
    """Retag every reference under ``scope``; ``base_texts`` stands in for files already edited."""
    changes: dict[str, str] = dict(base_texts or {})
    counts: dict[str, int] = {}
    for folder in scope:
        for path in sorted(folder.rglob("*")):
            if path.suffix not in (".yaml", ".yml") and path.name != "Kustomization":
                continue
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            relative = path.relative_to(root).as_posix()
            before = changes.get(relative) or read_text(path, "manifest")
            after, count = before, 0
            for old in old_tags:
                after, found = up.retag_text(after, old, new)
                count += found
            if path.name in _KUSTOMIZATIONS and "images:" in after:
                after, found = _retag_kustomization(after, relative, old_tags, new)
                count += found
            if after != before:
                changes[relative] = after
                counts[relative] = count
    return changes, counts


def _retag_kustomization(
    text: str, source: str, old_tags: list[up.AirflowTag], new: up.AirflowTag
) -> tuple[str, int]:
    from gitops_tool.adapters import yaml_roundtrip

    loaded = yaml_roundtrip.load(text, source)
    count = 0
    for document in loaded.documents:
        for old in old_tags:
            count += up.retag_images_entries(
                document.get("images") if hasattr(document, "get") else None, old, new
            )
    return (yaml_roundtrip.dump(loaded.documents, loaded.style), count) if count else (text, 0)


def _verify(root: Path, targets: list[Path], new: up.AirflowTag | None, options: UpgradeOptions) -> None:
    """Each overlay renders, validates and runs only the new tag; otherwise nothing is kept."""
    from gitops_tool.services.validation import validate_overlays

    assert new is not None  # noqa: S101 - parsed before
    for report in validate_overlays(
        [str(t) for t in targets], options.kubernetes_version, options.kustomize, root
    ):
        if not report.ok:
            first = report.violations[0]
            raise UserError(
                f"{report.overlay} would not validate after the upgrade, nothing was changed: "
                f"{first.object}: {first.message}"
            )
    for target in targets:
        rendered = render_overlay(str(target), options.kustomize, root)
        uses = up.image_uses(rendered.objects())
        stale = sorted({u.where for u in uses if u.tag != str(new)})
        if stale:
            shared = (
                " (its Airflow image is set in files shared with other overlays: use --all)"
                if options.overlay
                else ""
            )
            raise UserError(
                f"{rendered.label} would still run another Airflow tag in {', '.join(stale[:3])}"
                f"{shared}; nothing was changed"
            )
