"""JSON Schemas for custom resources, from the structural OpenAPI v3 schema of their CRD.

A CRD's ``spec.versions[].schema.openAPIV3Schema`` is OpenAPI v3.0 with Kubernetes extensions, not
JSON Schema. The conversion follows what the API server enforces
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
sections "Specifying a structural schema", "Field pruning", "IntOrString", "RawExtension" and
"Field validation"), and kubeconform's ``openapi2jsonschema.py`` for the strict mode:

- ``x-kubernetes-int-or-string: true``: an integer or a string (``anyOf`` when the CRD has none);
- ``nullable: true``: ``null`` is allowed as well, otherwise it is not;
- strictness: the API server prunes fields its schema does not name, and ``kubectl apply`` since
  Kubernetes 1.27 rejects them (``--validate=strict``, server-side field validation), so an object
  with ``properties`` gets ``additionalProperties: false`` unless it declares ``additionalProperties``
  (a map) or ``x-kubernetes-preserve-unknown-fields: true`` (free-form, e.g. Helm ``valuesObject``);
  likewise an object schema with no properties at all accepts only ``{}``;
- ``x-kubernetes-embedded-resource: true``: a whole object, whose apiVersion, kind and metadata are
  allowed even though the schema does not list them;
- the root: ``apiVersion`` and ``kind`` must name this CRD's version and kind; ``metadata``, which a
  CRD schema cannot describe beyond name and generateName, is checked against the Kubernetes
  ObjectMeta schema the caller names (``metadata_ref``), as the API server does;
- every other ``x-kubernetes-*`` key is dropped: JSON Schema has no meaning for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gitops_tool.core.objects import Manifest

_EMBEDDED_FIELDS = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True)
class CrdVersion:
    """One served version of a CRD: what objects of it look like."""

    api_version: str  # e.g. argoproj.io/v1alpha1
    kind: str
    namespaced: bool
    schema: Mapping[str, Any]  # the version's openAPIV3Schema, as in the CRD


def crd_versions(crd: Manifest) -> Iterator[CrdVersion]:
    """The served versions of a CustomResourceDefinition that carry a schema."""
    spec = crd.get("spec") or {}
    group = str(spec.get("group", ""))
    kind = str((spec.get("names") or {}).get("kind", ""))
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    for version in spec.get("versions") or []:
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if version.get("served", True) and isinstance(schema, dict) and group and kind:
            yield CrdVersion(f"{group}/{version['name']}", kind, namespaced, schema)


def to_json_schema(version: CrdVersion, metadata_ref: str | None = None) -> dict[str, Any]:
    """A Draft 2020-12 JSON Schema for objects of ``version``, strict about unknown fields."""
    schema = _convert(version.schema)
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "const": version.api_version}
    properties["kind"] = {"type": "string", "const": version.kind}
    properties["metadata"] = {"$ref": metadata_ref} if metadata_ref else {"type": "object"}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def _convert(node: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key == "nullable":
            continue
        if key == "properties":
            out[key] = {name: _convert(child) for name, child in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, Mapping):
            out[key] = _convert(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_convert(child) for child in value]
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        for field in _EMBEDDED_FIELDS:
            props.setdefault(field, {"type": "object"} if field == "metadata" else {"type": "string"})
    free_form = node.get("x-kubernetes-preserve-unknown-fields") is True
    is_object = "properties" in out or out.get("type") == "object"
    if is_object and "additionalProperties" not in out and not free_form:
        # What the schema does not name, the API server prunes or (strict validation) rejects.
        out["additionalProperties"] = False
    return out
