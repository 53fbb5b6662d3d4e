"""Offline Kubernetes OpenAPI schema validation (strict), over kubernetes-validate's schema files.

kubernetes-validate itself re-reads its 1-2 MB definitions file on every call and stops at the first
error of each object; here the definitions are loaded once per Kubernetes version, each kind's
validator is built once, and every error of every object is reported.

Custom resources (Argo CD Applications and AppProjects, ...) are validated against the CRDs shipped
in the repository's ``schemas/`` folder, converted by ``core.crd_schema``; their ``metadata`` is
checked against the chosen Kubernetes version's ObjectMeta. Kinds with neither are skipped and named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from gitops_tool.core.crd_schema import CrdVersion
from gitops_tool.core.objects import Manifest, describe
from gitops_tool.core.validation import Violation
from gitops_tool.errors import UserError

SUPPORTED_MIN = (1, 30)
DEFAULT_KUBERNETES_VERSION = "1.37"
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")
# The folder of a gitops repository holding the CRDs of the custom resources it uses.
CRD_SCHEMA_DIR = "schemas"
_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META_REF = f"{_DEFINITIONS_ID}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def _schema_root() -> Path:
    import kubernetes_validate

    return Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


@cache
def available_versions() -> tuple[tuple[int, int], ...]:
    found: set[tuple[int, int]] = set()
    for entry in _schema_root().iterdir():
        match = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", entry.name)
        if match:
            found.add((int(match.group(1)), int(match.group(2))))
    return tuple(sorted(found))


def supported_versions() -> list[str]:
    return [f"{a}.{b}" for a, b in available_versions() if (a, b) >= SUPPORTED_MIN]


def normalise_version(version: str) -> str:
    """``v1.31.2`` -> ``1.31``; an unsupported version is a user error naming the supported range."""
    match = _VERSION_RE.match(version.strip())
    supported = supported_versions()
    span = f"{supported[0]}-{supported[-1]}" if supported else "none"
    if not match:
        raise UserError(f"unsupported Kubernetes version {version!r}: expected MAJOR.MINOR within {span}")
    minor = f"{int(match.group(1))}.{int(match.group(2))}"
    if minor not in supported:
        raise UserError(f"unsupported Kubernetes version {version}: this gitops-tool validates {span}")
    return minor


def load_crds(folder: Path) -> dict[tuple[str, str], CrdVersion]:
    """Every served CRD version in the YAML/JSON files under ``folder``, by (apiVersion, kind)."""
    from gitops_tool.adapters.files import read_text
    from gitops_tool.core.crd_schema import crd_versions
    from gitops_tool.core.documents import parse_manifests

    found: dict[tuple[str, str], CrdVersion] = {}
    if not folder.is_dir():
        return found
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    for path in files:
        for obj in parse_manifests(read_text(path, "CRD file"), str(path)):
            if obj.get("kind") == "CustomResourceDefinition":
                for version in crd_versions(obj):
                    found[(version.api_version, version.kind)] = version
    return found


class SchemaValidator:
    """Validates manifests against one Kubernetes version's strict schemas and the repository's CRDs."""

    def __init__(
        self, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION, crd_folder: Path | None = None
    ) -> None:
        self.version = normalise_version(kubernetes_version)
        self._folder = _schema_root() / f"v{self.version}.0-local-strict"
        self._validators: dict[tuple[str, str], Any] = {}
        self._crd_folder = crd_folder
        self._crds: dict[tuple[str, str], CrdVersion] | None = None  # read on the first custom kind

    def validate_one(self, obj: Manifest) -> list[tuple[str, str]] | None:
        """(field path, reason) of every violation of ``obj``; ``None`` when no schema knows its kind."""
        validator = self._validator_for(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        return None if validator is None else list(_errors(validator, obj))

    def validate(self, objects: Iterable[Manifest], overlay: str) -> tuple[list[Violation], list[str]]:
        """All violations of all objects, and the objects skipped for lack of a schema."""
        violations: list[Violation] = []
        skipped: list[str] = []
        for obj in objects:
            errors = self.validate_one(obj)
            if errors is None:
                skipped.append(f"{describe(obj)}: no schema for {obj.get('apiVersion')} {obj.get('kind')}")
                continue
            name = describe(obj)
            violations.extend(Violation(overlay, "schema", name, path, message) for path, message in errors)
        return violations, skipped

    def _validator_for(self, api_version: str, kind: str) -> Any | None:
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = self._build(api_version, kind)
        return self._validators[key]

    def _build(self, api_version: str, kind: str) -> Any | None:
        import jsonschema
        from referencing import Registry, Resource

        # rbac.authorization.k8s.io/v1 -> rbac-v1, as kubernetes-validate names its files.
        file_api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        schema_file = self._folder / f"{kind.lower()}-{file_api}.json"
        if not schema_file.is_file():
            return self._build_custom(api_version, kind)
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
        registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
        registry = _definitions(self.version) @ registry
        return jsonschema.Draft202012Validator(schema, registry=registry)

    def _build_custom(self, api_version: str, kind: str) -> Any | None:
        import jsonschema
        from referencing import Registry

        from gitops_tool.core.crd_schema import to_json_schema

        if self._crds is None:
            self._crds = load_crds(self._crd_folder) if self._crd_folder is not None else {}
        crd = self._crds.get((api_version, kind))
        if crd is None:
            return None
        schema = to_json_schema(crd, metadata_ref=_OBJECT_META_REF)
        return jsonschema.Draft202012Validator(schema, registry=_definitions(self.version) @ Registry())


@cache
def _definitions(version: str) -> Any:
    from referencing import Resource

    path = _schema_root() / f"v{version}.0-local-strict" / "_definitions.json"
    return Resource.from_contents(json.loads(path.read_text(encoding="utf-8")))


def _errors(validator: Any, obj: Manifest) -> Iterator[tuple[str, str]]:
    """(path, message) of each violation; a Secret's values never appear in a message (a wrongly
    typed value, such as an unquoted number or a list, is quoted by the schema library)."""
    from gitops_tool.core.redact import is_secret_value_path, redact_values, secret_values_of

    hidden = secret_values_of(obj)
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        if is_secret_value_path(obj, error.absolute_path):
            message = _hidden_value_message(error)
        else:
            message = redact_values(_message(error), hidden)
        yield _path(error.absolute_path), message


def _hidden_value_message(error: Any) -> str:
    if error.validator == "type":
        return f"the value is not of type {error.validator_value!r} (value hidden)"
    if error.validator == "additionalProperties":
        return _message(error)  # names keys, not values
    return f"the value fails the schema's {error.validator!r} rule (value hidden)"


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: Any) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        unknown = sorted(str(key) for key in error.instance if key not in known)
        return f"unknown field(s): {', '.join(unknown)}"
    if error.context:
        # oneOf/anyOf: the most specific reason reads better than "not valid under any schema".
        import jsonschema

        best = jsonschema.exceptions.best_match(error.context)
        return str(best.message)
    return str(error.message)
