"""CRD structural schemas converted to JSON Schema, and `validate` checking custom resources with them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gitops_tool.adapters.schema import SchemaValidator, load_crds
from gitops_tool.core.crd_schema import CrdVersion, crd_versions, to_json_schema
from tests.conftest import RunCli

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def _crd(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}},
                {"name": "v0", "served": False, "storage": False, "schema": {"openAPIV3Schema": schema}},
            ],
        },
    }


WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {}},
                "empty": {"type": "object"},
            },
        },
    },
}


def _validator() -> jsonschema.Draft202012Validator:
    (version,) = crd_versions(_crd(WIDGET_SCHEMA))
    return jsonschema.Draft202012Validator(to_json_schema(version))


def _widget(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def _errors(obj: dict[str, Any]) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, e.absolute_path))}: {e.validator}" for e in _validator().iter_errors(obj)
    )


def test_only_served_versions_with_a_schema_are_read() -> None:
    versions = list(crd_versions(_crd(WIDGET_SCHEMA)))
    assert [(v.api_version, v.kind, v.namespaced) for v in versions] == [("example.com/v1", "Widget", True)]


def test_int_or_string_takes_either_and_nothing_else() -> None:
    assert _errors(_widget(size=3)) == []
    assert _errors(_widget(size="3Gi")) == []
    assert _errors(_widget(size=[3])) == ["spec/size: anyOf"]


def test_null_only_where_nullable() -> None:
    assert _errors(_widget(size=1, note=None)) == []
    assert _errors({**_widget(size=1), "spec": {"size": None}}) == ["spec/size: anyOf"]


def test_unknown_fields_are_rejected_except_where_preserved_or_a_map() -> None:
    assert _errors(_widget(size=1, values={"any": {"thing": [1]}}, labels={"a": "b"})) == []
    assert _errors(_widget(size=1, colour="red")) == ["spec: additionalProperties"]
    assert _errors(_widget(size=1, labels={"a": 1})) == ["spec/labels/a: type"]
    assert _errors(_widget(size=1, empty={"x": 1})) == ["spec/empty: additionalProperties"]


def test_embedded_resources_keep_their_identity_fields() -> None:
    template = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    assert _errors(_widget(size=1, template=template)) == []
    assert _errors(_widget(size=1, template={**template, "spec": {}})) == [
        "spec/template: additionalProperties"
    ]


def test_the_root_pins_version_and_kind_and_requires_them() -> None:
    assert _errors({**_widget(size=1), "apiVersion": "example.com/v0"}) == ["apiVersion: const"]
    assert _errors({**_widget(size=1), "kind": "Gadget"}) == ["kind: const"]
    missing = _widget(size=1)
    del missing["metadata"]
    assert _errors(missing) == [": required"]


def test_no_kubernetes_extension_survives_the_conversion() -> None:
    (version,) = crd_versions(_crd(WIDGET_SCHEMA))
    text = json.dumps(to_json_schema(version))
    assert "x-kubernetes" not in text and "nullable" not in text


def test_shipped_argocd_crds_load_and_metadata_is_checked_against_object_meta() -> None:
    crds = load_crds(SCHEMAS)
    assert {("argoproj.io/v1alpha1", "Application"), ("argoproj.io/v1alpha1", "AppProject")} <= set(crds)
    assert isinstance(crds[("argoproj.io/v1alpha1", "Application")], CrdVersion)
    validator = SchemaValidator("1.37", SCHEMAS)
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "p", "finalizer": ["x"], "labels": {"a": 1}},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "https://x", "namespace": "*"}]},
    }
    assert validator.validate_one(project) == [
        ("metadata", "unknown field(s): finalizer"),
        ("metadata.labels.a", "1 is not of type 'string', 'null'"),
    ]
    assert validator.validate_one({**project, "apiVersion": "argoproj.io/v1beta9"}) is None


def _overlay_with_application(project: Path, spec_patch: dict[str, Any]) -> str:
    app: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "extra", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "airflow"},
            "source": {
                "repoURL": "https://github.com/x/y.git",
                "path": "overlays/x",
                "targetRevision": "HEAD",
            },
            **spec_patch,
        },
    }
    folder = project / "overlays" / "with-app"
    folder.mkdir()
    (folder / "application.yaml").write_text(yaml.safe_dump(app))
    (folder / "kustomization.yaml").write_text(
        yaml.safe_dump({"resources": ["../../base", "application.yaml"]})
    )
    return "overlays/with-app"


@pytest.mark.parametrize(
    ("spec_patch", "expected"),
    [
        ({}, []),
        (
            {"syncPolicy": {"automated": {"prune": True, "selfheal": True}}},
            [("spec.syncPolicy.automated", "unknown field(s): selfheal")],
        ),
        (
            {"syncPolicy": {"syncOptions": "CreateNamespace=true"}},
            [("spec.syncPolicy.syncOptions", "'CreateNamespace=true' is not of type 'array'")],
        ),
    ],
)
def test_validate_checks_custom_resources_against_the_repository_crds(
    run_cli: RunCli, project_copy: Path, spec_patch: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    overlay = _overlay_with_application(project_copy, spec_patch)
    # The bare base lacks the overlays' ownership labels; the policies are not what is tested here.
    result = run_cli("validate", overlay, "--output", "json", "--no-policies", cwd=project_copy)
    report = json.loads(result.out)["overlays"][0]
    assert report["skipped"] == []
    found = [(v["path"], v["message"]) for v in report["violations"]]
    assert found == expected
    assert all(v["object"] == "Application/argocd/extra" for v in report["violations"])
    assert result.code == (1 if expected else 0), result.err


def test_without_the_crds_a_custom_resource_is_skipped_and_named(run_cli: RunCli, project_copy: Path) -> None:
    overlay = _overlay_with_application(project_copy, {})
    for crd in (project_copy / "schemas").rglob("*.yaml"):
        crd.unlink()
    result = run_cli("validate", overlay, "--output", "json", "--no-policies", cwd=project_copy)
    report = json.loads(result.out)["overlays"][0]
    assert report["skipped"] == ["Application/argocd/extra: no schema for argoproj.io/v1alpha1 Application"]
