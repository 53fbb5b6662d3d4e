"""``gitops-tool upgrade-airflow VERSION``: a Git-first upgrade instead of ``kubectl set image``.

Every ``apache/airflow:OLD`` in the repository's manifests (containers, init containers, the Sync
hook Jobs, the worker pod templates kept as text in ConfigMaps, kustomize ``images:`` entries)
becomes ``apache/airflow:NEW`` in one commit. Before committing, each affected overlay is rendered,
validated, and checked to run only the new tag; any failure puts files, index and history back.
Argo CD then syncs the commit, running the ``airflow db migrate`` Sync hook with the new image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.git_repo import GitRepo, open_project_repo
from gitops_tool.adapters.overlay_files import resolve_overlay_in
from gitops_tool.adapters.project import display_path, list_overlays
from gitops_tool.adapters.repo_lock import repository_lock
from gitops_tool.adapters.transaction import FileTransaction, sigterm_as_interrupt
from gitops_tool.core import airflow_upgrade as up
from gitops_tool.errors import RepositoryError, UserError
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


@dataclass(frozen=True)
class UpgradeOptions:
    overlay: str | None = None  # None: every overlay
    commit: bool = True
    dry_run: bool = False
    kubernetes_version: str = "1.37"
    kustomize: str | None = None


def upgrade(version: str, options: UpgradeOptions, start: Path | None = None) -> UpgradeResult:
    root, git = open_project_repo(start or Path.cwd())
    git.check_ready()
    # Inside the repository only: an absolute path or a committed symlink elsewhere is refused.
    targets = [resolve_overlay_in(root, options.overlay)] if options.overlay else list_overlays(root)
    if options.dry_run:
        return _plan(root, git, version, targets, options)[0]
    with repository_lock(git.git_dir, "upgrade-airflow"):
        result, changes = _plan(root, git, version, targets, options)
        if options.commit:
            git.identity()
        snapshot = git.snapshot()
        try:
            with sigterm_as_interrupt(), FileTransaction(root) as files:
                for path, text in sorted(changes.items()):
                    files.write_file(path, text)
                _verify(root, targets, up.parse_tag(result.new), options)
                if options.commit:
                    paths = [git.relative(root / p) for p in sorted(changes)]
                    result.commit = git.commit_paths(
                        paths, up.commit_message(_tag(result.new), result.overlays)
                    )
                files.finish()
        except BaseException:
            git.restore(snapshot)
            raise
    return result


def _tag(text: str) -> up.AirflowTag:
    tag = up.parse_tag(text)
    assert tag is not None  # noqa: S101 - built from a parsed tag
    return tag


def _plan(
    root: Path, git: GitRepo, version: str, targets: list[Path], options: UpgradeOptions
) -> tuple[UpgradeResult, dict[str, str]]:
    folders = [f for f in MANIFEST_FOLDERS if (root / f).is_dir()]
    dirty = git.dirty([git.relative(root / f) for f in folders])
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise RepositoryError(f"uncommitted changes in the manifests: {shown}; commit or stash them first")
    currents: dict[up.AirflowTag, list[str]] = {}
    new: up.AirflowTag | None = None
    labels = []
    for target in targets:
        rendered = render_overlay(str(target), options.kustomize, root)
        current = up.current_tag(up.image_uses(rendered.objects()), rendered.label)
        wanted = up.requested_tag(version, current)
        up.check_upgrade(current, wanted, rendered.label)
        if new is not None and wanted != new:
            raise UserError(
                f"{version} means {new} for one overlay and {wanted} for {rendered.label}; give the full tag"
            )
        new = wanted
        currents.setdefault(current, []).append(rendered.label)
        labels.append(rendered.label)
    assert new is not None  # noqa: S101 - list_overlays/resolve_overlay give at least one target
    scope = targets if options.overlay else [root / f for f in folders]
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


def _edits(
    root: Path, scope: list[Path], old_tags: list[up.AirflowTag], new: up.AirflowTag
) -> tuple[dict[str, str], dict[str, int]]:
    changes: dict[str, str] = {}
    counts: dict[str, int] = {}
    for folder in scope:
        for path in sorted(folder.rglob("*")):
            if path.suffix not in (".yaml", ".yml") and path.name != "Kustomization":
                continue
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            relative = path.relative_to(root).as_posix()
            before = read_text(path, "manifest")
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
