"""``gitops-tool drift``: desired from Git (or a file), live from the cluster (or a file), compared.

Desired comes from ``kustomize build`` of the overlay at a commit (exported with ``git archive``,
never touching the work tree), of the work tree (``--worktree``), or from rendered manifests
(``--desired-file``). The overlay's node-roles.yaml and the Argo CD Application's
``ignoreDifferences`` are read from the same tree the manifests came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.kustomize import KustomizeRenderer, resolve_kustomize
from gitops_tool.adapters.project import kustomization_file, overlay_candidates, resolve_overlay
from gitops_tool.core import conventions as c
from gitops_tool.core.documents import parse_documents, parse_manifests
from gitops_tool.core.drift.attribution import parse_duration, since_filter
from gitops_tool.core.drift.engine import DriftInput, compare
from gitops_tool.core.drift.fieldsv1 import DEFAULT_APPLIERS, DEFAULT_IMPERATIVE, ManagerPolicy
from gitops_tool.core.drift.ignore import IgnoreRule, parse_rules
from gitops_tool.core.drift.model import DriftReport
from gitops_tool.core.node_roles import parse_role_mapping
from gitops_tool.core.objects import Manifest
from gitops_tool.errors import UserError

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DriftRequest:
    overlay: str | None = None
    ref: str | None = None
    worktree: bool = False
    desired_file: str | None = None
    live_file: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    ignore_file: str | None = None
    request_timeout: float = 30.0
    kustomize: str | None = None
    appliers: tuple[str, ...] = DEFAULT_APPLIERS
    imperative: tuple[str, ...] = DEFAULT_IMPERATIVE
    since: str | None = None  # keep differences whose live owner wrote within this window
    blame: bool = False  # each difference's desired value traced to a file and commit


@dataclass
class Desired:
    objects: list[Manifest]
    overlay: str | None  # as shown in reports
    ref: str | None
    node_roles: dict[str, str] | None = None
    rules: list[IgnoreRule] = field(default_factory=list)
    # Where Argo CD puts objects rendered without a namespace (the Application's destination).
    default_namespace: str | None = None
    notes: list[str] = field(default_factory=list)  # shown as warnings with the report
    tree: Path | None = None  # the files rendered (the commit's export), for --blame
    commit: str | None = None  # the commit rendered (None: the work tree or a file)
    git_root: Path | None = None


def check_request(request: DriftRequest) -> None:
    chosen = [
        flag
        for flag, on in (
            ("--ref", request.ref is not None),
            ("--worktree", request.worktree),
            ("--desired-file", request.desired_file is not None),
        )
        if on
    ]
    if len(chosen) > 1:
        raise UserError(f"{' and '.join(chosen)} exclude each other: choose where desired state comes from")
    if request.live_file is not None and (request.kubeconfig or request.context):
        raise UserError("--live-file excludes --kubeconfig and --context: choose where live state comes from")
    if request.live_file == "-" and request.desired_file == "-":
        raise UserError("only one of --desired-file and --live-file can read standard input")
    if request.since is not None:
        parse_duration(request.since)
    if request.blame and (request.worktree or request.desired_file is not None):
        raise UserError(
            "--blame traces desired values through a commit's files: use it with --ref (default HEAD), "
            "not with --worktree or --desired-file"
        )


def run_drift(request: DriftRequest, progress: Progress = lambda _m: None) -> DriftReport:
    check_request(request)
    # Bad input (files, ignore rules) fails before any cluster is contacted.
    extra_rules = ignore_file_rules(request.ignore_file)
    live_from_file = live_file_objects(request.live_file) if request.live_file is not None else None
    with desired_state(request) as desired:
        report = _compare_with_live(request, desired, desired.rules + extra_rules, live_from_file, progress)
        report.warnings[:0] = desired.notes
        if request.blame:
            report = _with_git_sources(report, desired, request)
    if request.since is not None:
        report = since_filter(report, datetime.now(UTC) - parse_duration(request.since), request.since)
    return report


def _compare_with_live(
    request: DriftRequest,
    desired: Desired,
    rules: list[IgnoreRule],
    live_from_file: list[Manifest] | None,
    progress: Progress,
) -> DriftReport:
    return compare(drift_input(request, desired, rules, live_from_file, progress))


def drift_input(
    request: DriftRequest,
    desired: Desired,
    rules: list[IgnoreRule],
    live_from_file: list[Manifest] | None,
    progress: Progress,
) -> DriftInput:
    """Desired and live, ready to compare: live from the snapshot, or read from the cluster."""
    policy = ManagerPolicy(request.appliers, request.imperative)
    if live_from_file is not None:
        nodes = [o for o in live_from_file if o.get("kind") == "Node" and o.get("apiVersion") == "v1"]
        namespace = _default_namespace(request, desired)
        objects = desired.objects
        if namespace:  # both sides: hand-written snapshots may leave namespaces out too
            objects = [with_namespace(o, namespace) for o in objects]
            live_from_file = [with_namespace(o, namespace) for o in live_from_file]
        return DriftInput(
            objects,
            live_from_file,
            desired.overlay,
            desired.ref,
            request.namespace,
            rules,
            policy,
            node_roles=desired.node_roles,
            nodes=nodes or None,
        )
    from gitops_tool.adapters.kube.live import read_live
    from gitops_tool.services.cluster_access import open_cluster

    namespace = _default_namespace(request, desired) or "default"  # "default", like kubectl
    objects = [with_namespace(o, namespace) for o in desired.objects]
    with open_cluster(request.kubeconfig, request.context, request.request_timeout) as client:
        snapshot = read_live(client, objects, namespace, bool(desired.node_roles), progress)
    return DriftInput(
        objects,
        snapshot.objects,
        desired.overlay,
        desired.ref,
        request.namespace,
        rules,
        policy,
        snapshot.unreadable,
        desired.node_roles,
        snapshot.nodes,
        snapshot.nodes_unreadable,
    )


def _with_git_sources(report: DriftReport, desired: Desired, request: DriftRequest) -> DriftReport:
    """Each difference of a modified object with the file, line and commit of its desired value."""
    from dataclasses import replace

    from gitops_tool.adapters.git_blame import Blamer
    from gitops_tool.core.drift.blame import GENERATED, Tracer, path_of
    from gitops_tool.core.drift.model import GitSource, Status
    from gitops_tool.core.drift.normalise import normalise_desired
    from gitops_tool.core.objects import ref_of

    if desired.tree is None or desired.commit is None or desired.git_root is None or desired.overlay is None:
        raise UserError("--blame needs a Git repository: the files rendered here have no history")
    tree = desired.tree

    def read(relative: str) -> str | None:
        file = tree / relative
        return read_text(file, "file") if file.is_file() else None

    tracer = Tracer(desired.overlay, read)
    blamer = Blamer(desired.git_root, desired.commit)
    namespace = _default_namespace(request, desired) or ""
    by_ref = {ref_of(o, namespace): o for o in desired.objects}
    resources = []
    for result in report.resources:
        ref = next(
            (
                r
                for r in by_ref
                if (r.kind, r.namespace, r.name) == (result.kind, result.namespace, result.name)
            ),
            None,
        )
        if result.status is not Status.MODIFIED or ref is None:
            resources.append(result)
            continue
        normalised = normalise_desired(by_ref[ref])
        differences = []
        for difference in result.differences:
            found = tracer.trace(ref, path_of(difference.path, normalised), normalised)
            if found == GENERATED or isinstance(found, str):
                source = GitSource(GENERATED)
            else:
                origin = blamer.origin(found.file, found.lines)
                source = (
                    GitSource(found.file, origin.commit, origin.author, origin.date, found.line)
                    if origin is not None
                    else GitSource(found.file, line=found.line)
                )
            differences.append(replace(difference, git_source=source))
        resources.append(replace(result, differences=tuple(differences)))
    return replace(report, resources=resources)


def _default_namespace(request: DriftRequest, desired: Desired) -> str | None:
    """Where objects rendered without a namespace go: --namespace, else the Argo CD Application's
    destination namespace (Argo CD puts them there)."""
    return request.namespace or desired.default_namespace


def with_namespace(obj: Manifest, namespace: str) -> Manifest:
    from gitops_tool.core.objects import CLUSTER_SCOPED_KINDS

    meta = obj.get("metadata") or {}
    if meta.get("namespace") or obj.get("kind") in CLUSTER_SCOPED_KINDS:
        return obj
    return {**obj, "metadata": {**meta, "namespace": namespace}}


@contextmanager
def desired_state(request: DriftRequest) -> Iterator[Desired]:
    if request.desired_file is not None:
        source = "standard input" if request.desired_file == "-" else request.desired_file
        objects = parse_manifests(read_text(request.desired_file, "desired file"), source)
        desired = Desired(objects, None, None)
        if request.overlay is not None:  # the overlay's data (roles, ignore rules) still applies
            path = resolve_overlay(request.overlay)
            root = _repo_root_or(path)
            desired.overlay = _relative(path, root)
            _overlay_data(desired, root, path)
        yield desired
        return
    from gitops_tool.adapters.git_tree import in_git_work_tree, repository_root, tree_at

    overlay = request.overlay or c.DEFAULT_OVERLAY
    renderer = KustomizeRenderer(resolve_kustomize(request.kustomize))
    # A copy without Git history (a downloaded archive) has no HEAD: its files are all there is.
    no_history = request.ref is None and not in_git_work_tree(Path.cwd())
    if request.worktree or no_history:
        path = resolve_overlay(overlay)
        _refuse_symlink_escape(overlay, path)
        root = _repo_root_or(path)
        label = _relative(path, root)
        desired = Desired(_render(renderer, path, label), label, "worktree")
        if no_history:
            desired.notes.append("not inside a Git repository: rendered the files as they are (--worktree)")
        _overlay_data(desired, root, path)
        yield desired
        return

    rev = request.ref or "HEAD"
    root = repository_root(Path.cwd())
    candidates = _overlay_in_repo(overlay, root)
    with tree_at(root, rev) as tree:
        found = [c for c in candidates if kustomization_file(tree.root / c) is not None]
        relative = found[0] if found else candidates[-1]
        path = tree.root / relative
        if not found:
            raise UserError(f"overlay {overlay} does not exist at {rev} ({tree.commit[:12]})")
        label = str(relative)
        desired = Desired(_render(renderer, path, f"{label} at {rev}"), label, f"{rev} ({tree.commit[:12]})")
        desired.tree, desired.commit, desired.git_root = tree.root, tree.commit, root
        _overlay_data(desired, tree.root, path)
        yield desired


def _render(renderer: KustomizeRenderer, path: Path, label: str) -> list[Manifest]:
    return parse_manifests(renderer.build(path, label), f"render of {label}")


def _refuse_symlink_escape(overlay: str, resolved: Path) -> None:
    """An overlay named inside the repository must stay inside it once symlinks are followed: a
    committed symlink to a folder elsewhere would render files Git does not hold."""
    import os

    from gitops_tool.adapters.project import find_project_root

    try:
        root = find_project_root()
    except UserError:
        return
    for candidate in overlay_candidates(overlay, root):
        if candidate.is_dir():
            named = Path(os.path.normpath(candidate.absolute()))
            break
    else:
        return
    if named.is_relative_to(root) and not resolved.is_relative_to(root):
        raise UserError(f"overlay {overlay} leads outside the repository {root} (a symlink to {resolved})")


def _overlay_in_repo(overlay: str, root: Path) -> list[Path]:
    """Where the overlay may be inside the repository, as paths relative to its root, in the order
    the other commands try them (the current folder, the root, ``overlays/``): the commit decides
    which exists (the overlay may exist only there)."""
    found: list[Path] = []
    for candidate in overlay_candidates(overlay, root):
        try:
            relative = candidate.resolve().relative_to(root.resolve())
        except ValueError:
            continue
        if relative not in found:
            found.append(relative)
    if not found:
        raise UserError(f"overlay {overlay} is outside the repository {root}")
    return found


def _repo_root_or(path: Path) -> Path:
    from gitops_tool.adapters.project import find_project_root

    try:
        return find_project_root(path)
    except UserError:
        return path


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _overlay_data(desired: Desired, root: Path, overlay_path: Path) -> None:
    roles_file = overlay_path / c.NODE_ROLES_FILE
    if roles_file.is_file():
        source = f"{desired.overlay}/{c.NODE_ROLES_FILE}"
        docs = parse_documents(read_text(roles_file, "node roles file"), source)
        desired.node_roles = parse_role_mapping(docs[0] if len(docs) == 1 else None, source).roles
    for application, file in argocd_applications(root, _relative(overlay_path, root)):
        desired.rules.extend(parse_rules(application, f"{file} ignoreDifferences"))
        destination = ((application.get("spec") or {}).get("destination") or {}).get("namespace")
        if isinstance(destination, str) and destination and desired.default_namespace is None:
            desired.default_namespace = destination


def argocd_applications(root: Path, overlay: str) -> list[tuple[dict[str, Any], str]]:
    """The Argo CD Applications (under argocd/) whose source path is ``overlay``, with their file."""
    folder = root / c.ARGOCD_DIR
    if not folder.is_dir():
        return []
    wanted = overlay.strip("/").removeprefix("./")
    found: list[tuple[dict[str, Any], str]] = []
    for file in sorted(folder.rglob("*.y*ml")):
        shown = str(file.relative_to(root))
        try:
            docs = parse_documents(read_text(file, "Argo CD file"), shown)
        except UserError:
            continue  # not ours to validate here; `validate` reports broken files
        found.extend((doc, shown) for doc in docs if _is_application_for(doc, wanted))
    return found


def _is_application_for(doc: Any, overlay: str) -> bool:
    if not isinstance(doc, dict) or doc.get("kind") != "Application":
        return False
    spec = doc.get("spec") or {}
    sources = [spec.get("source"), *(spec.get("sources") or [])]
    return any(
        isinstance(s, dict) and str(s.get("path") or "").strip("/").removeprefix("./") == overlay
        for s in sources
    )


def ignore_file_rules(path: str | None) -> list[IgnoreRule]:
    if path is None:
        return []
    docs = parse_documents(read_text(path, "ignore file"), path)
    rules: list[IgnoreRule] = []
    for doc in docs:
        rules.extend(parse_rules(doc, path))
    return rules


def live_file_objects(path: str) -> list[Manifest]:
    source = "standard input" if path == "-" else path
    return parse_manifests(read_text(path, "live file"), source)
