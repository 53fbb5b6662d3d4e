"""``gitops-tool init``: make a fresh clone the user's own in one validated commit.

Every refusal (a URL with credentials, a bad CIDR or address, an unknown role, a dirty tree, the
repository's state, the lock) comes before the first write. Then the files are written, every
overlay is rendered and validated (schemas and policies), and the change is committed; any failure
on the way puts files, index and branch back as they were: services/committed_change.py, the one
routine every committing command runs (its journal lets the next run recover after a SIGKILL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitops_tool.adapters import yaml_roundtrip
from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.git_repo import open_project_repo
from gitops_tool.adapters.overlay_files import FileChange, materialise, read_overlay_state, resolve_overlay_in
from gitops_tool.adapters.transaction import FileTransaction
from gitops_tool.core import init_plan as ip
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.core.scaffold.diff import unified_diff
from gitops_tool.core.scaffold.plan import Edit, MappingSet, Plan
from gitops_tool.errors import ScaffoldInvalid, UserError
from gitops_tool.services.committed_change import commit_change, locked_repository, refuse_dirty_tree

ARGOCD_DIR = "argocd"


@dataclass(frozen=True)
class InitRequest:
    repo_url: str
    overlay: str = DEFAULT_OVERLAY
    revision: str | None = None
    service_cidr: str | None = None
    nfs_cluster_ip: str | None = None
    nodes: tuple[str, ...] = ()
    lb_source_ranges: tuple[str, ...] = ()
    dag_repo: str | None = None
    dry_run: bool = False
    kubernetes_version: str = "1.37"
    kustomize: str | None = None


@dataclass
class InitResult:
    message: str
    diff: str
    paths: list[str] = field(default_factory=list)  # repository-relative
    commit: str | None = None
    nfs_cluster_ip: str | None = None  # None: left as it was
    roles: dict[str, str] = field(default_factory=dict)  # the overlay's mapping after the change


def init(request: InitRequest, start: Path | None = None) -> InitResult:
    repo_url = ip.check_url(request.repo_url, "--repo-url")
    begin = (start or Path.cwd()).resolve()
    if request.dry_run:
        root, git = open_project_repo(begin)
        git.check_ready()
        return _plan(root, request, repo_url)[0]
    with locked_repository(begin, "init") as (root, git):
        refuse_dirty_tree(git, "init starts from a clean clone: commit or stash them first")
        result, changes = _plan(root, request, repo_url)
        result.paths = sorted(git.relative(root / c.path) for c in changes)
        result.commit = commit_change(
            root,
            git,
            verb="init",
            message=result.message,
            paths=result.paths,
            apply=lambda files: _write_and_validate(root, files, request, changes, result.paths),
        )
    return result


def _plan(root: Path, request: InitRequest, repo_url: str) -> tuple[InitResult, list[FileChange]]:
    edits: list[Edit] = ip.argocd_edits(_argocd_objects(root), repo_url, request.revision)
    parts = ["Argo CD source"]
    nfs_ip = None
    if request.service_cidr is not None or request.nfs_cluster_ip is not None:
        nfs_ip = ip.nfs_cluster_ip(request.service_cidr or ip.DEFAULT_SERVICE_CIDR, request.nfs_cluster_ip)
        edits.append(MappingSet(ip.NFS_SERVICE_FILE, ("spec",), "clusterIP", nfs_ip))
        parts.append(f"NFS ClusterIP {nfs_ip}")
    overlay_dir = resolve_overlay_in(root, request.overlay)
    state = read_overlay_state(root, overlay_dir)
    roles = dict(state.node_roles or {})
    if request.nodes:
        known = ip.overlay_roles(state.present(), roles)
        node_edits, roles = ip.node_edits(request.nodes, known, roles, state.node_roles_file)
        edits += node_edits
        parts.append("node roles")
    if request.lb_source_ranges:
        file = (overlay_dir / ip.LB_SOURCE_RANGES_FILE).relative_to(root).as_posix()
        if not (root / file).is_file():
            raise UserError(f"{state.overlay} has no {ip.LB_SOURCE_RANGES_FILE} to set the ranges in")
        ranges = ip.source_ranges(request.lb_source_ranges)
        edits.append(MappingSet(file, ("spec",), "loadBalancerSourceRanges", ranges))
        parts.append("load balancer source ranges")
    if request.dag_repo is not None:
        edits += _dag_source_edits(root, state.overlay, request)
        parts.append("DAG repository")
    message = f"init: {', '.join(parts)}"
    changes = [c for c in materialise(root, Plan(message, tuple(edits))) if c.after != c.before]
    if not changes:
        raise UserError("the repository already says all of this; nothing to change")
    diff = unified_diff((c.path, c.before, c.after) for c in changes)
    result = InitResult(message, diff, [c.path for c in changes], nfs_cluster_ip=nfs_ip, roles=roles)
    return result, changes


def _argocd_objects(root: Path) -> list[ip.ArgocdObject]:
    found: list[ip.ArgocdObject] = []
    folder = root / ARGOCD_DIR
    if not folder.is_dir():
        raise UserError(f"no {ARGOCD_DIR}/ folder in {root}: this is not a gitops-tool repository")
    for path in sorted(folder.rglob("*.y*ml")):
        file = path.relative_to(root).as_posix()
        documents = yaml_roundtrip.load(read_text(path, "Argo CD file"), file).documents
        kind = ip.argocd_kind(yaml_roundtrip.plain(documents[0])) if len(documents) == 1 else None
        if kind is not None:
            found.append(ip.ArgocdObject(file, kind))
    if not found:
        raise UserError(f"no Argo CD Application or AppProject under {ARGOCD_DIR}/")
    return found


def _dag_source_edits(root: Path, overlay: str, request: InitRequest) -> list[Edit]:
    """The git-sync source of the overlay, planned as `dags source set --url` plans it."""
    from gitops_tool.core.dags import git_source as gs
    from gitops_tool.services.components import overlay_target
    from gitops_tool.services.dags_source import plan_source, rendered_source

    target = overlay_target(root, overlay)
    ssh = gs.git_sync_enabled(target.kustomization, target.overlay, target.file)
    try:
        wanted = gs.check_wanted(gs.Source(request.dag_repo, None, None, None, None), ssh)
    except UserError as exc:  # its messages name `dags source set --url`, never the URL
        raise UserError(str(exc).replace("--url", "--dag-repo")) from None
    before = rendered_source(root, target.overlay, request.kustomize)
    try:
        return plan_source(target, wanted, before.source)
    except gs.NothingToChange:
        return []


def _write_and_validate(
    root: Path, files: FileTransaction, request: InitRequest, changes: list[FileChange], paths: list[str]
) -> list[str]:
    """Writes the planned files, then renders and validates every overlay (base/ may have changed
    under all of them); the committed change routine commits ``paths`` or rolls everything back."""
    from gitops_tool.services.validation import validate_overlays

    for change in changes:
        if change.after is not None:
            files.write_file(change.path, change.after)
    reports = validate_overlays([], request.kubernetes_version, request.kustomize, root=root)
    failed = [r for r in reports if not r.ok]
    if failed:
        first = failed[0].violations[0]
        raise ScaffoldInvalid(
            f"{failed[0].overlay} would not validate, nothing was changed: "
            f"{first.source}: {first.object}: {first.message}"
        )
    return paths
