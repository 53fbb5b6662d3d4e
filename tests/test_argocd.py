"""The shipped Argo CD objects and `gitops-tool argocd app`: schema-valid, consistent with the repository.

Schema: the Application and AppProject CRDs of Argo CD 3.6.0 (schemas/argocd-3.6.0/, from
argoproj/argo-cd manifests/crds/, Apache-2.0), their openAPIV3Schema converted by core.crd_schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.adapters.project import list_overlays
from gitops_tool.adapters.schema import SchemaValidator
from gitops_tool.core import argocd
from gitops_tool.core.conventions import NAMESPACE, NAMESPACES
from gitops_tool.services.rendering import render_overlay
from tests.conftest import REPO_ROOT, RunCli

ARGOCD = REPO_ROOT / "argocd"
FORK = "https://github.com/someone/gitops-tool-fork.git"


def _load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _shipped() -> dict[str, dict[str, Any]]:
    """Every shipped Argo CD object, by its file relative to argocd/ (one object per file)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(ARGOCD.rglob("*.yaml")):
        docs = _load(path)
        assert len(docs) == 1, f"{path}: one object per file"
        found[str(path.relative_to(ARGOCD))] = docs[0]
    return found


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {name: obj for name, obj in _shipped().items() if obj["kind"] == kind}


def _overlay_names() -> list[str]:
    return [p.name for p in list_overlays(REPO_ROOT)]


@pytest.fixture(scope="module")
def validator() -> SchemaValidator:
    return SchemaValidator("1.37", REPO_ROOT / "schemas")


# --- schema -------------------------------------------------------------------------------------


def test_every_shipped_argocd_object_is_schema_valid(validator: SchemaValidator) -> None:
    shipped = _shipped()
    assert {obj["kind"] for obj in shipped.values()} == {"Application", "AppProject"}
    problems = {name: validator.validate_one(obj) for name, obj in shipped.items()}
    assert problems == {name: [] for name in shipped}


@pytest.mark.parametrize(
    ("mutate", "expected_path"),
    [
        (lambda a: a["spec"]["syncPolicy"]["automated"].update(selfheal=True), "spec.syncPolicy.automated"),
        (
            lambda a: a["spec"]["syncPolicy"].update(syncOptions="PruneLast=true"),
            "spec.syncPolicy.syncOptions",
        ),
        (lambda a: a["metadata"].update(finalizer=["x"]), "metadata"),
        (
            lambda a: a["spec"]["ignoreDifferences"][0].update(jsonPointer="/spec"),
            "spec.ignoreDifferences[0]",
        ),
        (lambda a: a["spec"].pop("destination"), ""),
    ],
)
def test_schema_check_catches_broken_applications(
    validator: SchemaValidator, mutate: Any, expected_path: str
) -> None:
    app = _of_kind("Application")["applications/three-node-ha.yaml"]
    mutate(app)
    errors = validator.validate_one(app)
    assert errors is not None
    assert [path for path, _ in errors] == [expected_path or "spec"]


# --- semantics ----------------------------------------------------------------------------------


def test_one_application_per_overlay_pointing_at_it() -> None:
    apps = {name: obj for name, obj in _of_kind("Application").items() if name.startswith("applications/")}
    assert sorted(apps) == sorted(f"applications/{name}.yaml" for name in _overlay_names())
    for file, app in apps.items():
        overlay = Path(file).stem
        assert app["spec"]["source"]["path"] == f"overlays/{overlay}"
        assert (REPO_ROOT / app["spec"]["source"]["path"] / "kustomization.yaml").is_file()


def test_shipped_applications_are_what_the_generator_builds() -> None:
    """Data equality (comments aside): `gitops-tool argocd app` and the shipped files cannot diverge."""
    for file, app in _of_kind("Application").items():
        if file.startswith("applications/"):
            assert app == argocd.application(Path(file).stem), file


def test_applications_use_existing_projects_and_their_allowed_sources_and_destinations() -> None:
    projects = {obj["metadata"]["name"]: obj for obj in _of_kind("AppProject").values()}
    for file, app in _of_kind("Application").items():
        spec = app["spec"]
        project = projects[spec["project"]]["spec"]
        assert spec["source"]["repoURL"] in project["sourceRepos"], file
        assert spec["destination"] in project["destinations"], file
        assert app["metadata"]["namespace"] == argocd.ARGOCD_NAMESPACE


def test_repo_url_is_one_and_the_same_everywhere() -> None:
    urls = {app["spec"]["source"]["repoURL"] for app in _of_kind("Application").values()}
    urls |= {url for project in _of_kind("AppProject").values() for url in project["spec"]["sourceRepos"]}
    assert urls == {argocd.UPSTREAM_REPO_URL}


def test_overlay_applications_sync_automatically_with_finalizer_and_options() -> None:
    for file, app in _of_kind("Application").items():
        if not file.startswith("applications/"):
            continue
        assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
        policy = app["spec"]["syncPolicy"]
        assert policy["automated"] == {"prune": True, "selfHeal": True}
        assert "CreateNamespace=true" in policy["syncOptions"]
        assert app["spec"]["destination"]["namespace"] == NAMESPACE


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match as Argo CD applies it to directory include (with {a,b} alternatives)."""
    alternatives = re.findall(r"\{([^}]*)\}", pattern)
    if alternatives:
        options = alternatives[0].split(",")
        return re.compile(
            "|".join(
                f"(?:{_glob_regex(pattern.replace('{' + alternatives[0] + '}', o, 1)).pattern})"
                for o in options
            )
        )
    out = ""
    for char in pattern:
        out += "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char)
    return re.compile(f"^{out}$")


def _selected_by(root: dict[str, Any]) -> list[str]:
    source = root["spec"]["source"]
    assert (REPO_ROOT / source["path"]).resolve() == ARGOCD
    include = _glob_regex(source["directory"]["include"])
    return sorted(name for name in _shipped() if include.match(name))


def test_the_root_app_enables_itself_the_project_and_exactly_one_overlay_application() -> None:
    roots = {
        name: obj for name, obj in _of_kind("Application").items() if not name.startswith("applications/")
    }
    assert list(roots) == ["root.yaml"]
    root = roots["root.yaml"]
    selected = _selected_by(root)
    overlay_apps = [name for name in selected if name.startswith("applications/")]
    assert len(overlay_apps) == 1
    assert sorted(selected) == sorted(["root.yaml", "projects/airflow.yaml", *overlay_apps])
    assert root["spec"]["project"] == "airflow-bootstrap"
    assert root["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    # Deleting the root must not cascade into Airflow.
    assert "finalizers" not in root["metadata"]


def test_switching_the_layout_repoints_one_application() -> None:
    """Every overlay Application is the same object, so changing the include switches it in place."""
    overlay_apps = [obj for name, obj in _shipped().items() if name.startswith("applications/")]
    assert len(overlay_apps) == len(_overlay_names())
    assert len({(a["metadata"]["namespace"], a["metadata"]["name"]) for a in overlay_apps}) == 1
    root = _shipped()["root.yaml"]
    for name in _overlay_names():
        include = root["spec"]["source"]["directory"]["include"]
        switched = re.sub(r"applications/[^,}]+\.yaml", f"applications/{name}.yaml", include)
        assert f"applications/{name}.yaml" in _selected_by(
            {"spec": {"source": {**root["spec"]["source"], "directory": {"include": switched}}}}
        )


def test_the_bootstrap_project_only_manages_argo_cd_objects() -> None:
    spec = _of_kind("AppProject")["projects/bootstrap.yaml"]["spec"]
    assert spec["destinations"] == [{"server": argocd.IN_CLUSTER, "namespace": "argocd"}]
    assert spec["clusterResourceWhitelist"] == []
    assert spec["namespaceResourceWhitelist"] == [
        {"group": "argoproj.io", "kind": "Application"},
        {"group": "argoproj.io", "kind": "AppProject"},
    ]


def _rendered_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for name in _overlay_names():
        objects.extend(render_overlay(f"overlays/{name}", root=REPO_ROOT).objects())
    return objects


def test_project_whitelists_are_exactly_what_the_overlays_render() -> None:
    spec = _of_kind("AppProject")["projects/airflow.yaml"]["spec"]
    objects = _rendered_objects()
    cluster, namespaced = argocd.cluster_whitelist(objects), argocd.namespaced_whitelist(objects)
    hint = yaml.safe_dump(
        {"clusterResourceWhitelist": cluster, "namespaceResourceWhitelist": namespaced}, sort_keys=False
    )
    key = lambda item: tuple(sorted(item.items()))  # noqa: E731
    assert sorted(spec["clusterResourceWhitelist"], key=key) == cluster, (
        f"argocd/projects/airflow.yaml:\n{hint}"
    )
    assert sorted(spec["namespaceResourceWhitelist"], key=key) == namespaced, (
        f"argocd/projects/airflow.yaml:\n{hint}"
    )
    assert spec["destinations"] == argocd.destinations(objects), (
        f"argocd/projects/airflow.yaml: {argocd.destinations(objects)}"
    )
    # Both namespaces, and no other: every rendered object may be synced, nothing beyond.
    assert {d["namespace"] for d in spec["destinations"]} == set(NAMESPACES)
    for namespace in NAMESPACES:
        assert {"group": "", "kind": "Namespace", "name": namespace} in spec["clusterResourceWhitelist"]


def test_whitelists_are_computed_from_objects() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "airflow"}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "nfs-client"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}},
    ]
    assert argocd.cluster_whitelist(objects) == [
        {"group": "", "kind": "Namespace", "name": "airflow"},
        {"group": "storage.k8s.io", "kind": "StorageClass", "name": "nfs-client"},
    ]
    assert argocd.namespaced_whitelist(objects) == [
        {"group": "", "kind": "Service"},
        {"group": "apps", "kind": "Deployment"},
    ]
    objects.append(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x", "namespace": "infra"}}
    )
    assert argocd.destinations(objects) == [
        {"server": argocd.IN_CLUSTER, "namespace": NAMESPACE},
        {"server": argocd.IN_CLUSTER, "namespace": "infra"},
    ]


def test_scheduler_replicas_are_never_ignored() -> None:
    """`kubectl scale` on a scheduler must stay drift (the e2e workflow expects exit 1 after it)."""
    for app in _of_kind("Application").values():
        for rule in app["spec"].get("ignoreDifferences", []):
            assert "/spec/replicas" not in rule.get("jsonPointers", [])
            assert not rule.get("managedFieldsManagers")


# --- gitops-tool argocd app ---------------------------------------------------------------------


def test_argocd_app_prints_a_schema_valid_application_for_a_fork(
    run_cli: RunCli, validator: SchemaValidator
) -> None:
    result = run_cli(
        "argocd",
        "app",
        "three-node-ha",
        "--repo-url",
        FORK,
        "--revision",
        "v1.2.0",
        "--name",
        "airflow-fork",
        cwd=REPO_ROOT,
    )
    assert result.code == 0, result.err
    (app,) = _load_text(result.out)
    assert validator.validate_one(app) == []
    assert app["metadata"]["name"] == "airflow-fork"
    assert app["spec"]["source"] == {
        "repoURL": FORK,
        "targetRevision": "v1.2.0",
        "path": "overlays/three-node-ha",
    }
    shipped = _of_kind("Application")["applications/three-node-ha.yaml"]
    assert app["spec"]["ignoreDifferences"] == shipped["spec"]["ignoreDifferences"]
    assert app["spec"]["syncPolicy"] == shipped["spec"]["syncPolicy"]


def _load_text(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_argocd_app_json_with_project_is_a_list_the_project_accepting_only_the_fork(
    run_cli: RunCli, validator: SchemaValidator
) -> None:
    result = run_cli(
        "argocd",
        "app",
        "overlays/single-node-legacy",
        "--repo-url",
        FORK,
        "--with-project",
        "--output",
        "json",
        cwd=REPO_ROOT,
    )
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert shown["kind"] == "List"
    project, app = shown["items"]
    assert [validator.validate_one(project), validator.validate_one(app)] == [[], []]
    assert project["spec"]["sourceRepos"] == [FORK]
    shipped = _of_kind("AppProject")["projects/airflow.yaml"]
    assert project["spec"]["clusterResourceWhitelist"] == shipped["spec"]["clusterResourceWhitelist"]
    assert app["spec"]["project"] == project["metadata"]["name"]
    assert app["spec"]["source"]["path"] == "overlays/single-node-legacy"


def test_argocd_app_works_from_any_folder_of_the_repository(run_cli: RunCli) -> None:
    result = run_cli("argocd", "app", "three-node-ha", "--repo-url", FORK, cwd=REPO_ROOT / "argocd")
    assert result.code == 0, result.err
    assert _load_text(result.out)[0]["spec"]["source"]["path"] == "overlays/three-node-ha"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--repo-url", FORK], "unknown overlay nope"),
        (["base", "--repo-url", FORK], "is not a folder directly under"),
        (["three-node-ha", "--repo-url", "ftp://example.com/x.git"], "invalid --repo-url"),
        (["three-node-ha", "--repo-url", "not a url"], "invalid --repo-url"),
        (["three-node-ha", "--repo-url", FORK, "--name", "Airflow_Prod"], "invalid --name"),
        (["three-node-ha", "--repo-url", FORK, "--revision", "a b"], "invalid --revision"),
        (["three-node-ha", "--repo-url", FORK, "--output", "toml"], "'toml' is not one of 'yaml', 'json'"),
    ],
)
def test_argocd_app_bad_input_is_one_line_exit_2(run_cli: RunCli, args: list[str], message: str) -> None:
    result = run_cli("argocd", "app", *args, cwd=REPO_ROOT)
    assert result.code == 2
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1
    assert message in result.err


def test_argocd_app_refuses_credentials_in_the_url_without_echoing_them(run_cli: RunCli) -> None:
    result = run_cli(
        "argocd",
        "app",
        "three-node-ha",
        "--repo-url",
        "https://bot:ghp_s3cretT0ken@github.com/x/y.git",
        cwd=REPO_ROOT,
    )
    assert result.code == 2
    assert "credentials" in result.err
    assert "s3cret" not in result.err + result.out


def test_argocd_app_outside_a_repository_is_one_line_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("argocd", "app", "three-node-ha", "--repo-url", FORK, cwd=tmp_path)
    assert result.code == 2
    assert "no gitops repository here" in result.err


# --- one source of truth with drift -------------------------------------------------------------


def _drift_with_live_change(run_cli: RunCli, tmp_path: Path, change: dict[str, Any]) -> tuple[int, Any]:
    """`gitops-tool drift` of three-node-ha against a live copy where kubectl changed a scheduler."""
    objects = render_overlay("overlays/three-node-ha", root=REPO_ROOT).objects()
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    (scheduler,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "airflow-scheduler-1"
    ]
    template_meta = scheduler["spec"]["template"].setdefault("metadata", {})
    template_meta.setdefault("annotations", {}).update(change.get("annotations", {}))
    if "replicas" in change:
        scheduler["spec"]["replicas"] = change["replicas"]
    scheduler["metadata"]["managedFields"] = [
        {
            "manager": change["manager"],
            "operation": "Update",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": change["fields"],
        }
    ]
    live = tmp_path / "live.json"
    live.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    result = run_cli(
        "drift",
        "overlays/three-node-ha",
        "--desired-file",
        str(desired),
        "--live-file",
        str(live),
        "--output",
        "json",
        cwd=REPO_ROOT,
    )
    return result.code, json.loads(result.out) if result.out.strip() else result.err


def test_drift_ignores_what_the_application_ignores_and_nothing_more(run_cli: RunCli, tmp_path: Path) -> None:
    def annotation(name: str) -> dict[str, Any]:
        return {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {f"f:{name}": {}}}}}}

    restarted = "kubectl.kubernetes.io/restartedAt"
    code, report = _drift_with_live_change(
        run_cli,
        tmp_path,
        {
            "annotations": {restarted: "2026-11-27T05:00:00Z"},
            "manager": "kubectl-rollout",
            "fields": annotation(restarted),
        },
    )
    assert code == 0, report
    code, report = _drift_with_live_change(
        run_cli,
        tmp_path,
        {
            "annotations": {"example.com/hand-made": "x"},
            "manager": "kubectl-annotate",
            "fields": annotation("example.com/hand-made"),
        },
    )
    assert code == 1, report
    code, report = _drift_with_live_change(
        run_cli,
        tmp_path,
        {"replicas": 2, "manager": "kubectl-scale", "fields": {"f:spec": {"f:replicas": {}}}},
    )
    assert code == 1, report
    modified = [r["name"] for r in report["resources"] if r["status"] == "modified"]
    assert modified == ["airflow-scheduler-1"]


def test_list_items_match_by_key_whatever_the_int_or_string_form() -> None:
    from gitops_tool.core.drift.mergekeys import key_of, key_spec

    spec = key_spec("ports", {"port": 80})
    assert spec is not None
    assert key_of(spec, {"port": "80", "protocol": "TCP"}) == key_of(spec, {"port": 80})
    assert key_of(spec, {"port": 80, "protocol": "UDP"}) != key_of(spec, {"port": 80})


# Values Argo CD accepts (https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/,
# sync-waves/, sync-options/): anything else is ignored or fails the sync at run time.
_HOOKS = {"PreSync", "Sync", "PostSync", "SyncFail", "PostDelete", "Skip"}
_HOOK_DELETE_POLICIES = {"HookSucceeded", "HookFailed", "BeforeHookCreation"}
_RESOURCE_SYNC_OPTIONS = re.compile(
    r"^(Prune=(false|confirm)|Delete=(false|confirm)|Validate=false|SkipDryRunOnMissingResource=true"
    r"|Replace=true|Force=true|ServerSideApply=(true|false)|CreateNamespace=true|PruneLast=true"
    r"|ApplyOutOfSyncOnly=true|RespectIgnoreDifferences=true)$"
)


def test_rendered_argo_cd_annotations_are_values_argo_cd_understands() -> None:
    problems = []
    for obj in _rendered_objects():
        annotations = obj["metadata"].get("annotations") or {}
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        wave = annotations.get("argocd.argoproj.io/sync-wave")
        if wave is not None and not re.fullmatch(r"-?\d+", str(wave)):
            problems.append(f"{where}: sync-wave {wave!r} is not an integer")
        hooks = annotations.get("argocd.argoproj.io/hook")
        if hooks is not None and not {h.strip() for h in str(hooks).split(",")} <= _HOOKS:
            problems.append(f"{where}: hook {hooks!r}")
        policies = annotations.get("argocd.argoproj.io/hook-delete-policy")
        if (
            policies is not None
            and not {p.strip() for p in str(policies).split(",")} <= _HOOK_DELETE_POLICIES
        ):
            problems.append(f"{where}: hook-delete-policy {policies!r}")
        options = annotations.get("argocd.argoproj.io/sync-options")
        for option in str(options).split(",") if options is not None else []:
            if not _RESOURCE_SYNC_OPTIONS.match(option.strip()):
                problems.append(f"{where}: sync option {option!r}")
    assert problems == []
