"""``gitops-tool drift adopt``: the live differences of an overlay written back into it as patches.

Order: every refusal (arguments, repository state, an overlay that does not render, Secret data,
controller-owned fields, extra objects without --include-extra, replicas the scheduling rules
cannot run) comes before the first write. Then the patch files and the kustomization are written,
the overlay is rendered, validated (schemas and policies: a policy's refusal is reported in its own
words), audited again against the same live objects (every adopted object must now be in sync),
and committed in one commit; any failure on the way puts files, index and branch back as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.git_repo import GitRepo, open_project_repo
from gitops_tool.adapters.overlay_files import FileChange, materialise, resolve_overlay_in
from gitops_tool.adapters.project import kustomization_file
from gitops_tool.adapters.repo_lock import repository_lock
from gitops_tool.adapters.transaction import FileTransaction, sigterm_as_interrupt
from gitops_tool.core.drift import adopt as a
from gitops_tool.core.drift.engine import DriftInput, compare, explain_object
from gitops_tool.core.drift.fieldsv1 import DEFAULT_APPLIERS, DEFAULT_IMPERATIVE
from gitops_tool.core.drift.model import ResourceResult, Status
from gitops_tool.core.objects import Manifest, ObjectRef, group_of, ref_of
from gitops_tool.core.scaffold.diff import unified_diff
from gitops_tool.core.scaffold.plan import Plan, SequenceInsert
from gitops_tool.core.validation import Violation
from gitops_tool.errors import UserError
from gitops_tool.services.committed_change import refuse_dirty_tree
from gitops_tool.services.drift import (
    Desired,
    DriftRequest,
    Progress,
    check_request,
    desired_state,
    drift_input,
    live_file_objects,
    with_namespace,
)

VERB = "drift adopt"


@dataclass(frozen=True)
class AdoptRequest:
    overlay: str
    live_file: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    request_timeout: float = 30.0
    kustomize: str | None = None
    only: tuple[str, ...] = ()
    include_extra: bool = False
    dry_run: bool = False
    commit: bool = True
    message: str | None = None
    kubernetes_version: str = "1.37"
    appliers: tuple[str, ...] = DEFAULT_APPLIERS
    imperative: tuple[str, ...] = DEFAULT_IMPERATIVE


@dataclass
class AdoptResult:
    overlay: str
    adoptions: list[a.ObjectAdoption] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # object title -> file, repository-relative
    diff: str = ""
    paths: list[str] = field(default_factory=list)  # written (and committed), repository-relative
    commit: str | None = None
    message: str = ""
    notes: list[str] = field(default_factory=list)  # left out, shown as warnings
    written: bool = False
    changes: list[FileChange] = field(default_factory=list)
    default_namespace: str = ""  # where objects rendered without a namespace live


def adopt(
    request: AdoptRequest, progress: Progress = lambda _m: None, start: Path | None = None
) -> AdoptResult:
    if request.message is not None and not request.message.strip():
        raise UserError("--message must not be empty")
    selectors = [a.parse_selector(s) for s in request.only]
    drift_request = DriftRequest(
        overlay=request.overlay,
        worktree=True,  # the tree is clean (checked below): the work tree is HEAD
        live_file=request.live_file,
        kubeconfig=request.kubeconfig,
        context=request.context,
        namespace=request.namespace,
        request_timeout=request.request_timeout,
        kustomize=request.kustomize,
        appliers=request.appliers,
        imperative=request.imperative,
    )
    check_request(drift_request)
    root, git = open_project_repo((start or Path.cwd()).resolve())
    overlay_dir = resolve_overlay_in(root, request.overlay)
    kfile = kustomization_file(overlay_dir)
    if kfile is None:  # pragma: no cover - resolve_overlay_in checks it
        raise UserError(f"{request.overlay} has no kustomization")
    _check_repository(git)
    live_objects = live_file_objects(request.live_file) if request.live_file is not None else None
    label = overlay_dir.relative_to(root).as_posix()
    result = AdoptResult(label)
    with desired_state(drift_request) as desired:
        inp = drift_input(drift_request, desired, desired.rules, live_objects, progress)
    result.default_namespace = request.namespace or desired.default_namespace or ""
    report = compare(inp)
    if report.has_unknown:
        raise UserError(
            f"{report.summary()['unknown']} resource(s) could not be read; adopt needs to see every "
            "object it changes (grant the auditor read access)"
        )
    chosen = _select(report.resources, selectors, request.include_extra, result.notes)
    if not chosen:
        return result
    result.adoptions = _plan(chosen, inp, desired, request)
    _write_plan(root, git, overlay_dir, kfile, result, subject=request.message)
    if request.dry_run:
        return result
    with repository_lock(git.git_dir, VERB):
        _check_repository(git)
        if request.commit:
            git.identity()
        _apply(root, git, overlay_dir, result, inp=inp, request=request)
    return result


def _check_repository(git: GitRepo) -> None:
    git.check_ready()
    refuse_dirty_tree(git, "commit or stash them first (an adoption is one commit of exactly what was live)")


# --- what is adopted -------------------------------------------------------------------------------


def _select(
    results: list[ResourceResult], selectors: list[a.Selector], include_extra: bool, notes: list[str]
) -> list[ResourceResult]:
    drifted = [r for r in results if r.status in (Status.MODIFIED, Status.MISSING, Status.EXTRA)]
    for selector in selectors:
        if not any(selector.matches(r.kind, r.namespace, r.name) for r in drifted):
            raise UserError(
                f"--only {selector}: no drift to adopt there (in sync, or not an object of the overlay "
                "or the live state)"
            )
    if selectors:
        drifted = [r for r in drifted if any(s.matches(r.kind, r.namespace, r.name) for s in selectors)]
    chosen: list[ResourceResult] = []
    for r in drifted:
        if r.kind == "Node" and group_of(r.api_version) == "":
            message = f"{r.title}: node role labels live in node-roles.yaml; use `gitops-tool nodes`"
            if selectors:
                raise UserError(f"refusing to adopt {message}")
            notes.append(f"not adopted: {message}")
        elif r.status is Status.MISSING:
            message = (
                f"{r.title} is missing live; adopting that would delete it from Git: remove it from the "
                "overlay by hand if that is what you want, or let Argo CD create it"
            )
            if selectors:
                raise UserError(f"refusing to adopt {message}")
            notes.append(f"not adopted: {message}")
        elif r.status is Status.EXTRA and not include_extra:
            raise UserError(
                f"refusing to adopt {r.title}: it is extra (live, not in Git); pass --include-extra to add "
                "it to the overlay as a new resource file, or --only the objects you mean"
            )
        else:
            chosen.append(r)
    return chosen


def _plan(
    chosen: list[ResourceResult], inp: DriftInput, desired: Desired, request: AdoptRequest
) -> list[a.ObjectAdoption]:
    default_ns = request.namespace or desired.default_namespace or ""  # as drift_input used
    rendered_by_ref = {ref_of(o, default_ns): o for o in desired.objects}
    compared_by_ref = {ref_of(o, default_ns): o for o in inp.desired}
    live_by_ref = {ref_of(o): o for o in inp.live}
    autoscalers = a.autoscaled([*inp.desired, *inp.live], default_ns)
    adoptions: list[a.ObjectAdoption] = []
    refusals: list[str] = []
    for r in chosen:
        ref = ObjectRef(group_of(r.api_version), r.kind, r.namespace, r.name)
        live = live_by_ref.get(ref)
        if live is None:  # pragma: no cover - a modified or extra object was read live
            raise UserError(f"{r.title}: not found among the live objects")
        adoption = a.ObjectAdoption(ref, r.title, extra=r.status is Status.EXTRA, owner=r.live_owner)
        if adoption.extra:
            if ref.kind == "Secret" and ref.group == "" and (live.get("data") or live.get("stringData")):
                refusals.append(
                    f"{r.title}: Secret data is never written to Git; create the Secret from your secret "
                    "store (or `gitops-tool secrets init`) and leave it out of the adoption (--only)"
                )
                continue
            adoption.patch = a.resource_from_live(live)
            adoptions.append(adoption)
            continue
        rendered = rendered_by_ref.get(ref) or rendered_by_ref.get(ref_of(live))
        compared = compared_by_ref.get(ref)
        if rendered is None or compared is None:  # pragma: no cover - modified means it was rendered
            raise UserError(f"{r.title}: not found in the render")
        explained = explain_object(compared, live, ref, inp, [])
        if explained is None:  # pragma: no cover - it was modified a moment ago
            continue
        for path, difference in explained.found:
            why = a.refuse_difference(ref, r.title, path, difference, inp.policy, autoscalers)
            if why is None and path == ("spec", "replicas"):
                problem = a.unschedulable_replicas(rendered, difference.live)
                if problem is not None:
                    why = f"{r.title} /spec/replicas={difference.live}: {problem}"
            if why is not None:
                refusals.append(why)
        adoption.differences = list(explained.found)
        adoption.patch = a.patch_for(rendered, live, explained.projected, [p for p, _ in explained.found])
        adoptions.append(adoption)
    if refusals:
        more = f" (and {len(refusals) - 1} more refusal(s))" if len(refusals) > 1 else ""
        raise UserError(f"refusing to adopt {refusals[0]}{more}; nothing was written")
    return adoptions


# --- files ---------------------------------------------------------------------------------------------


def _write_plan(
    root: Path, git: GitRepo, overlay_dir: Path, kfile: Path, result: AdoptResult, *, subject: str | None
) -> None:
    kustomization = yaml.safe_load(read_text(kfile, "kustomization")) or {}
    kfile_rel = kfile.relative_to(root).as_posix()
    listed_patches = {
        str(p.get("path")) for p in kustomization.get("patches") or [] if isinstance(p, Mapping)
    }
    listed_resources = {str(p) for p in kustomization.get("resources") or []}
    edits: list[SequenceInsert] = []
    changes: list[FileChange] = []
    patches_count = len(kustomization.get("patches") or [])
    resources_count = len(kustomization.get("resources") or [])
    for adoption in result.adoptions:
        name = a.file_name(adoption.ref)
        path = overlay_dir / name
        relative = path.relative_to(root).as_posix()
        before = read_text(path, "adopted file") if path.is_file() else None
        content: Mapping[str, Any] = adoption.patch
        if before is not None and not adoption.extra:
            earlier = [d for d in yaml.safe_load_all(before) if isinstance(d, dict)]
            if earlier:
                content = a.merge_patches(earlier[0], adoption.patch)
        after = a.file_header(adoption) + yaml.safe_dump(dict(content), sort_keys=False, width=100)
        changes.append(FileChange(relative, before, after))
        result.files[adoption.title] = relative
        if adoption.extra and name not in listed_resources:
            edits.append(SequenceInsert(kfile_rel, ("resources",), resources_count, name))
            resources_count += 1
            listed_resources.add(name)
        elif not adoption.extra and name not in listed_patches:
            edits.append(SequenceInsert(kfile_rel, ("patches",), patches_count, {"path": name}))
            patches_count += 1
            listed_patches.add(name)
    result.message = a.commit_message(result.overlay, result.adoptions, result.files, subject)
    if edits:
        changes += materialise(root, Plan(result.message, tuple(edits)))
    changes.sort(key=lambda c: c.path)
    result.diff = unified_diff((c.path, c.before, c.after) for c in changes)
    result.paths = [git.relative(root / c.path) for c in changes]
    result.changes = changes


def _apply(
    root: Path,
    git: GitRepo,
    overlay_dir: Path,
    result: AdoptResult,
    *,
    inp: DriftInput,
    request: AdoptRequest,
) -> None:
    snapshot = git.snapshot()
    try:
        with sigterm_as_interrupt(), FileTransaction(root) as files:
            for change in result.changes:
                if change.after is not None:
                    files.write_file(change.path, change.after)
            objects = _render_and_validate(root, overlay_dir, request)
            _check_in_sync(objects, inp, result)
            if request.commit:
                result.commit = git.commit_paths(result.paths, result.message)
            files.finish()
    except BaseException:
        git.restore(snapshot)
        raise
    result.written = True


def _render_and_validate(root: Path, overlay_dir: Path, request: AdoptRequest) -> list[Manifest]:
    from gitops_tool.services.rendering import render_overlay
    from gitops_tool.services.validation import validate_rendered

    rendered = render_overlay(str(overlay_dir), request.kustomize, root)
    objects = rendered.objects()
    for report in validate_rendered([(rendered, objects)], request.kubernetes_version, root):
        if report.violations:
            shown = "; ".join(_violation(v) for v in report.violations[:3])
            more = f" (and {len(report.violations) - 3} more)" if len(report.violations) > 3 else ""
            raise UserError(f"refusing to adopt: {shown}{more}; nothing was written")
    return objects


def _violation(v: Violation) -> str:
    where = f" {v.path}" if v.path else ""
    rule = f"/{v.rule}" if v.rule else ""
    return f"{v.object}{where}: {v.message} [{v.source}{rule}]"


def _check_in_sync(objects: list[Manifest], inp: DriftInput, result: AdoptResult) -> None:
    """The overlay as written, audited against the same live objects: every adopted object in sync."""
    if result.default_namespace:
        objects = [with_namespace(o, result.default_namespace) for o in objects]
    after = compare(
        DriftInput(
            objects, inp.live, inp.overlay, inp.ref, inp.namespace, inp.rules, inp.policy, attribute=False
        )
    )
    adopted = {(x.ref.kind, x.ref.namespace, x.ref.name) for x in result.adoptions}
    still = [
        r.title
        for r in after.resources
        if (r.kind, r.namespace, r.name) in adopted and r.status is not Status.IN_SYNC
    ]
    if still:
        raise UserError(
            f"the adopted patch does not make {', '.join(still)} match the live object (a generated name "
            "or a later patch of the overlay may override it); nothing was written"
        )
