"""What the policies see and what their findings mean: the input document, the overlay's layout,
exception annotations, and the policy test cases. Pure: the Rego engine lives in adapters/policy.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gitops_tool.core.conventions import (
    NAMESPACE,
    NODE_ROLE_LABEL,
    POLICY_EXCEPTION_PREFIX,
    SCHEDULER_ROLE_PREFIX,
)
from gitops_tool.core.images import pod_spec
from gitops_tool.core.node_roles import parse_role_mapping
from gitops_tool.core.objects import Manifest, describe
from gitops_tool.core.validation import Violation
from gitops_tool.errors import UserError

Layout = Literal["ha", "legacy"]
LAYOUTS: tuple[Layout, ...] = ("ha", "legacy")

_SCHEDULER_ROLE = re.compile(rf"^{re.escape(SCHEDULER_ROLE_PREFIX)}[0-9]+$")


@dataclass(frozen=True)
class OverlayLayout:
    """Whether an overlay is the HA layout or the single-node legacy one, and how that was decided."""

    kind: Layout
    reason: str


def decide_layout(node_roles_doc: Any | None, objects: Iterable[Manifest], source: str) -> OverlayLayout:
    """The overlay's layout, from data, never from its folder name.

    1. ``layout: ha|legacy`` in node-roles.yaml, when an overlay wants to say it outright;
    2. else its ``roles:``: an overlay giving schedulers node roles of their own (``scheduler-N``) is
       the HA layout; one without (a single node carries everything) is the legacy layout;
    3. without node-roles.yaml, the roles the rendered pods are required onto, read the same way.
    """
    if node_roles_doc is not None:
        explicit = node_roles_doc.get("layout") if isinstance(node_roles_doc, Mapping) else None
        if explicit is not None:
            if explicit not in LAYOUTS:
                raise UserError(f"{source}: layout must be one of {', '.join(LAYOUTS)}, not {explicit!r}")
            return OverlayLayout(explicit, f"layout: {explicit} in {source}")
        roles = sorted(parse_role_mapping(node_roles_doc, source).roles)
        schedulers = [r for r in roles if _SCHEDULER_ROLE.match(r)]
        if schedulers:
            return OverlayLayout(
                "ha", f"{source} gives schedulers roles of their own ({', '.join(schedulers)})"
            )
        return OverlayLayout("legacy", f"{source} has no scheduler-N role: one node carries every pod")
    required = sorted({role for obj in objects for role in required_roles(obj)})
    schedulers = [r for r in required if _SCHEDULER_ROLE.match(r)]
    if schedulers:
        return OverlayLayout("ha", f"pods are required onto scheduler roles ({', '.join(schedulers)})")
    return OverlayLayout("legacy", "no node-roles file and no pod required onto a scheduler-N role")


def required_roles(obj: Manifest) -> set[str]:
    """Node roles the pods of ``obj`` are required onto (nodeSelector or required node affinity)."""
    spec = pod_spec(obj)
    if spec is None:
        return set()
    roles: set[str] = set()
    selector = spec.get("nodeSelector")
    if isinstance(selector, Mapping) and NODE_ROLE_LABEL in selector:
        roles.add(str(selector[NODE_ROLE_LABEL]))
    terms = _dig(
        spec,
        ("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"),
    )
    for term in terms if isinstance(terms, list) else []:
        for expr in (term or {}).get("matchExpressions") or []:
            if expr.get("key") == NODE_ROLE_LABEL and expr.get("operator") == "In":
                roles.update(str(v) for v in expr.get("values") or [])
    return roles


def _dig(value: Any, path: Iterable[str]) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def policy_input(
    overlay: str, layout: OverlayLayout, objects: list[Manifest], node_roles: Mapping[str, Any]
) -> dict[str, Any]:
    """The one document every policy reads as ``input``.

    ``objects`` is the whole render, so rules may relate objects (no two schedulers share a role);
    ``overlay.kind`` is "ha" or "legacy"; ``overlay.namespace`` is where an object rendered without
    a namespace lands (the Argo CD Application's destination); ``node_roles`` is the overlay's
    role -> node mapping.
    """
    return {
        "overlay": {"name": overlay, "kind": layout.kind, "namespace": NAMESPACE},
        "objects": objects,
        "node_roles": dict(node_roles),
        "embedded_pods": embedded_pods(objects),
    }


def embedded_pods(objects: Iterable[Manifest]) -> dict[str, dict[str, Any]]:
    """Pod templates held as YAML in ConfigMaps (``*.yaml`` keys), parsed: ``{ref: {key: pod}}``.

    Parsed here once because rego-cpp's yaml.unmarshal costs milliseconds per document; the
    policies fall back to yaml.unmarshal when another engine runs them without this field.
    """
    from gitops_tool.core.documents import parse_documents
    from gitops_tool.errors import ValidationInputError

    found: dict[str, dict[str, Any]] = {}
    for obj in objects:
        if obj.get("kind") != "ConfigMap" or not isinstance(obj.get("data"), Mapping):
            continue
        for key, text in obj["data"].items():
            if not (str(key).endswith((".yaml", ".yml")) and isinstance(text, str) and "kind: Pod" in text):
                continue
            try:
                docs = parse_documents(text, f"{describe(obj)} data.{key}")
            except ValidationInputError:
                continue  # not a pod template after all; schema and kubectl see the text as it is
            if len(docs) == 1 and isinstance(docs[0], dict) and docs[0].get("kind") == "Pod":
                found.setdefault(describe(obj), {})[str(key)] = docs[0]
    return found


# --- Findings -----------------------------------------------------------------------------------


def violations_from_findings(
    overlay: str, package: str, findings: Iterable[Mapping[str, Any]]
) -> list[Violation]:
    """Rego findings ``{rule, object, path, msg}`` of one package as sorted Violations."""
    out: list[Violation] = []
    for finding in findings:
        obj = str(finding.get("object", ""))
        message = str(finding.get("msg", ""))
        # The Rego message names the object for tools that show only `msg` (conftest); here the
        # object has its own column, so it is not repeated.
        message = message.removeprefix(f"{obj}: ") if obj else message
        out.append(
            Violation(
                overlay=overlay,
                source=f"policy:{package}",
                object=obj,
                path=str(finding.get("path", "")),
                message=message,
                rule=str(finding.get("rule", "")),
            )
        )
    return sorted(out, key=lambda v: (v.rule, v.object, v.path, v.message))


# --- Exceptions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyException:
    """``policy.gitops-tool.io/allow-<rule>: "<reason>"`` on an object (or on its pod template)."""

    object: str
    rule: str
    reason: str
    path: str  # where the annotation is: metadata.annotations or spec.template.metadata.annotations

    def __str__(self) -> str:
        reason = self.reason.strip() or "(no reason given: grants nothing)"
        return f"{self.object} allows {self.rule}: {reason}"


def exceptions_in(objects: Iterable[Manifest]) -> list[PolicyException]:
    """Every exception annotation in the render, in object order."""
    found: list[PolicyException] = []
    for obj in objects:
        for path, notes in (
            ("metadata.annotations", _dig(obj, ("metadata", "annotations"))),
            (
                "spec.template.metadata.annotations",
                _dig(obj, ("spec", "template", "metadata", "annotations")),
            ),
        ):
            if not isinstance(notes, Mapping):
                continue
            for key, value in sorted(notes.items()):
                if str(key).startswith(POLICY_EXCEPTION_PREFIX):
                    rule = str(key)[len(POLICY_EXCEPTION_PREFIX) :]
                    found.append(PolicyException(describe(obj), rule, str(value or ""), path))
    return found


def unknown_exception_rules(
    overlay: str, exceptions: Iterable[PolicyException], known_rules: Iterable[str]
) -> list[Violation]:
    """An exception naming no existing rule is a typo that would silently grant nothing."""
    known = set(known_rules)
    return [
        Violation(
            overlay,
            "policy:exceptions",
            exc.object,
            exc.path,
            f"annotation {POLICY_EXCEPTION_PREFIX}{exc.rule} names no policy rule; "
            "use a rule id from the table in docs/policies.md (or `gitops-tool policy test -o json`)",
            "exception-unknown-rule",
        )
        for exc in exceptions
        if exc.rule not in known
    ]


# --- Policy test cases --------------------------------------------------------------------------

Outcome = Literal["pass", "fail"]


@dataclass(frozen=True)
class PolicyCase:
    """One policy test case: ``policies/tests/<rule>/<pass|fail>/<name>.yaml``.

    A ``fail`` case lists in ``expect`` exactly the messages its rule must report (object included,
    as the Rego ``msg`` reads); a ``pass`` case must draw no finding of its rule. Findings of other
    rules are ignored: a case holds only what its rule needs.
    """

    rule: str
    outcome: Outcome
    name: str  # the case file, relative to the repository
    layout: Layout
    objects: list[Manifest]
    node_roles: dict[str, Any]
    expect: tuple[str, ...] = ()

    def input(self) -> dict[str, Any]:
        reason = "the policy test case's `layout`"
        return policy_input(
            f"case:{self.rule}", OverlayLayout(self.layout, reason), self.objects, self.node_roles
        )


@dataclass
class CaseResult:
    case: PolicyCase
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_CASE_KEYS = {"description", "layout", "node_roles", "expect", "objects"}


def parse_case(doc: Any, rule: str, outcome: str, name: str) -> PolicyCase:
    """A case document: ``{description, layout, node_roles, expect, objects}``; errors name the file."""
    if outcome not in ("pass", "fail"):
        raise UserError(f"{name}: a case lives under pass/ or fail/, not {outcome}/")
    if not isinstance(doc, Mapping):
        raise UserError(f"{name}: a policy case is a mapping with objects (and expect for fail cases)")
    unknown = sorted(set(doc) - _CASE_KEYS)
    if unknown:
        raise UserError(
            f"{name}: unknown key(s) {', '.join(unknown)}; a case has {', '.join(sorted(_CASE_KEYS))}"
        )
    layout = doc.get("layout", "ha")
    if layout not in LAYOUTS:
        raise UserError(f"{name}: layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    objects = doc.get("objects") or []
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        raise UserError(f"{name}: objects must be a list of Kubernetes objects")
    expect = doc.get("expect") or []
    if not isinstance(expect, list) or not all(isinstance(m, str) for m in expect):
        raise UserError(f"{name}: expect must be a list of messages")
    if outcome == "fail" and not expect:
        raise UserError(f"{name}: a fail case must list the messages it expects under expect")
    if outcome == "pass" and expect:
        raise UserError(f"{name}: a pass case expects no message; move it to fail/ or drop expect")
    node_roles = doc.get("node_roles") or {}
    if not isinstance(node_roles, Mapping):
        raise UserError(f"{name}: node_roles must be a mapping of role to node")
    return PolicyCase(
        rule=rule,
        outcome="pass" if outcome == "pass" else "fail",
        name=name,
        layout=layout,
        objects=list(objects),
        node_roles=dict(node_roles),
        expect=tuple(expect),
    )


def check_case(case: PolicyCase, messages_by_rule: Mapping[str, list[str]]) -> CaseResult:
    """Compare what the policies reported for the case's rule with what the case expects."""
    got = sorted(messages_by_rule.get(case.rule, []))
    result = CaseResult(case)
    if case.outcome == "pass":
        result.problems.extend(f"unexpected: {m}" for m in got)
        return result
    wanted = sorted(case.expect)
    result.problems.extend(f"missing: {m}" for m in wanted if m not in got)
    result.problems.extend(f"unexpected: {m}" for m in got if m not in wanted)
    return result


def coverage_gaps(cases: Iterable[PolicyCase], known_rules: Iterable[str]) -> list[str]:
    """Every rule needs a passing and a failing case; a case for no known rule is a stale folder."""
    seen: dict[str, set[str]] = {}
    for case in cases:
        seen.setdefault(case.rule, set()).add(case.outcome)
    known = set(known_rules)
    gaps = [
        f"rule {rule} has no {outcome} case (add policies/tests/{rule}/{outcome}/<name>.yaml)"
        for rule in sorted(known)
        for outcome in ("pass", "fail")
        if outcome not in seen.get(rule, set())
    ]
    gaps.extend(f"policies/tests/{rule}/ tests no known rule" for rule in sorted(set(seen) - known))
    return gaps
