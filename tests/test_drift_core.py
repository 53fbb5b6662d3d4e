"""The pure drift engine: quantities, FieldsV1, merge keys, ownership, ignore rules, statuses, reports."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.utils import parse_quantity as k8s_parse_quantity

from gitops_tool.core import conventions as c
from gitops_tool.core.drift import render
from gitops_tool.core.drift.engine import DriftInput, compare, is_extra
from gitops_tool.core.drift.fieldsv1 import ManagerPolicy, PathElement, item_child, iter_paths, remove_owned
from gitops_tool.core.drift.ignore import IgnoreRule, parse_jq, parse_rules
from gitops_tool.core.drift.model import Status, UnreadableScope
from gitops_tool.core.drift.quantity import canonical, parse_quantity, server_form
from gitops_tool.errors import UserError, ValidationInputError
from tests import livestate as ls

# --- quantities -------------------------------------------------------------------------------------

QUANTITIES = [
    "0",
    "1",
    "0.5",
    "500m",
    "1Gi",
    "1024Mi",
    "1.5Gi",
    "1536Mi",
    "100k",
    "1e3",
    "1E3",
    "2E",
    "25m",
    "1536",
    "+5",
    "-3m",
    ".5",
    "5.",
    "12n",
    "7u",
    "3Ti",
    "1Ei",
    "2.5e-3",
    "1000000000n",
]


@pytest.mark.parametrize("text", QUANTITIES)
def test_quantity_parser_agrees_with_the_kubernetes_client(text: str) -> None:
    assert parse_quantity(text) == k8s_parse_quantity(text)  # type: ignore[no-untyped-call]


@given(st.integers(0, 10**6), st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "n", "u"]))
def test_quantity_parser_agrees_on_generated_values(number: int, suffix: str) -> None:
    text = f"{number}{suffix}"
    assert parse_quantity(text) == k8s_parse_quantity(text)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("text", ["", "1.2.3", "Gi", "1Gb", "one"])
def test_not_quantities_are_refused_by_both(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)
    with pytest.raises(ValueError):
        k8s_parse_quantity(text)  # type: ignore[no-untyped-call]


def test_one_spelling_per_value() -> None:
    assert canonical(parse_quantity("0.5")) == canonical(parse_quantity("500m")) == "500m"
    assert canonical(parse_quantity("1Gi")) == canonical(parse_quantity("1024Mi")) == "1Gi"
    assert canonical(parse_quantity("1.5Gi")) == "1536Mi"
    assert canonical(parse_quantity("1000m")) == "1"
    assert canonical(Decimal("0.0000000001")) == "1n"  # rounded up, as the API server does


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("0.5", "500m"),
        ("1024Mi", "1Gi"),
        ("2000", "2k"),
        ("1500", "1500"),
        ("512Mi", "512Mi"),
        ("1", "1"),
        ("100m", "100m"),
        (2, "2"),
    ],
)
def test_server_form_matches_what_the_api_server_stores(sent: str | int, stored: str) -> None:
    assert server_form(sent) == stored


# --- FieldsV1 ---------------------------------------------------------------------------------------

FIELDS: dict[str, Any] = {
    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    "f:spec": {
        "f:containers": {
            'k:{"name":"web"}': {
                ".": {},
                "f:image": {},
                "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
            }
        },
        "f:finalizers": {'v:"a"': {}},
        "f:args": {"i:0": {}},
    },
}


def test_fieldsv1_paths_parse_every_element_kind() -> None:
    paths = {"".join(str(e) for e in p) for p in iter_paths(FIELDS)}
    assert paths == {
        ".metadata.labels",
        ".metadata.labels.app",
        ".spec.containers[name=web]",
        ".spec.containers[name=web].image",
        ".spec.containers[name=web].ports[containerPort=80,protocol=TCP]",
        ".spec.containers[name=web].ports[containerPort=80,protocol=TCP].containerPort",
        '.spec.finalizers[="a"]',
        ".spec.args[0]",
    }
    first = next(iter_paths(FIELDS))
    assert first[0] == PathElement("field", "metadata")


def test_item_child_matches_keys_values_and_indexes() -> None:
    containers = FIELDS["f:spec"]["f:containers"]
    assert item_child(containers, {"name": "web", "image": "x"}) is not None
    assert item_child(containers, {"name": "db"}) is None
    assert item_child(FIELDS["f:spec"]["f:finalizers"], "a") == {}
    assert item_child(FIELDS["f:spec"]["f:args"], "anything", 0) == {}


def test_remove_owned_deletes_exactly_the_owned_fields() -> None:
    obj = {
        "metadata": {"labels": {"app": "x", "other": "y"}},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "i",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "env": [{"name": "A"}],
                }
            ]
        },
    }
    remove_owned(obj, FIELDS)
    assert obj == {
        "metadata": {"labels": {"other": "y"}},
        "spec": {"containers": [{"name": "web", "ports": [{"protocol": "TCP"}], "env": [{"name": "A"}]}]},
    }


def test_manager_policy_defaults_and_configuration() -> None:
    policy = ManagerPolicy()
    assert policy.is_applier("argocd-controller") and policy.is_applier("kubectl-client-side-apply")
    assert policy.is_imperative("kubectl-edit") and policy.is_imperative("kubectl")
    assert not policy.is_imperative("kubectl-client-side-apply")
    assert not policy.is_imperative("kube-controller-manager") and not policy.is_applier("helm")
    custom = ManagerPolicy(appliers=("helm",), imperative=("ops-*",))
    assert (
        custom.is_applier("helm")
        and custom.is_imperative("ops-script")
        and not custom.is_imperative("kubectl")
    )


# --- comparing objects ------------------------------------------------------------------------------

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "apps", "labels": dict(c.OWNERSHIP_LABELS)},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80, "name": "http"}],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}, "limits": {"cpu": 1}},
                        "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
                    },
                    {
                        "name": "sidecar",
                        "image": "busybox:1.36",
                        "args": ["sleep", "1d"],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    },
                ],
                "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "cfg"}}],
                "tolerations": [{"key": "dedicated", "value": "web", "effect": "NoSchedule"}],
            },
        },
    },
}


def _compare(desired: list[dict[str, Any]], live: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return render.to_json(compare(DriftInput(desired, live, **kw)), show_in_sync=True)


def _diffs(desired: dict[str, Any], live: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    """The differences without their live owner (tests/test_drift_attribution.py checks owners)."""
    [resource] = _compare([desired], [live], **kw)["resources"]
    return [{k: v for k, v in d.items() if k != "live_owner"} for d in resource["differences"]]


def _reordered(live: dict[str, Any]) -> dict[str, Any]:
    """The same object with every merge-keyed list in another order, as a server may return it."""
    out = copy.deepcopy(live)
    spec = out["spec"]["template"]["spec"]
    spec["containers"].reverse()
    spec["volumes"].reverse()
    spec["containers"][1]["env"].reverse()
    return out


@pytest.mark.parametrize("server_side", [True, False])
def test_defaults_order_quantities_and_empties_are_not_drift(server_side: bool) -> None:
    live = _reordered(ls.simulate_apply(DEPLOYMENT, server_side=server_side, namespace="apps"))
    assert live["spec"]["template"]["spec"]["containers"][1]["resources"]["requests"] == {
        "cpu": "500m",
        "memory": "1Gi",
    }
    assert _diffs(DEPLOYMENT, live) == []


@pytest.mark.parametrize(
    ("field", "item_index", "key", "change"),
    [
        ("containers", 1, "name", {"image": "busybox:1.37"}),
        ("env", 1, "name", {"value": "3"}),
        ("volumes", 1, "name", {"configMap": {"name": "other"}}),
        ("volumeMounts", 0, "mountPath", {"name": "cfg"}),
        ("ports", 0, "containerPort", {"name": "web"}),
        ("tolerations", 0, "key", {"value": "batch"}),
    ],
)
def test_list_items_are_matched_by_merge_key_and_reported_at_the_desired_index(
    field: str, item_index: int, key: str, change: dict[str, Any]
) -> None:
    live = _reordered(ls.simulate_apply(DEPLOYMENT, namespace="apps"))
    desired_spec = DEPLOYMENT["spec"]["template"]["spec"]
    paths = {
        "containers": ("spec/template/spec/containers", desired_spec["containers"]),
        "env": ("spec/template/spec/containers/0/env", desired_spec["containers"][0]["env"]),
        "volumes": ("spec/template/spec/volumes", desired_spec["volumes"]),
        "volumeMounts": (
            "spec/template/spec/containers/1/volumeMounts",
            desired_spec["containers"][1]["volumeMounts"],
        ),
        "ports": ("spec/template/spec/containers/0/ports", desired_spec["containers"][0]["ports"]),
        "tolerations": ("spec/template/spec/tolerations", desired_spec["tolerations"]),
    }
    prefix, desired_items = paths[field]
    wanted_key = desired_items[item_index][key]
    live_spec = live["spec"]["template"]["spec"]
    live_lists = {
        "containers": live_spec["containers"],
        "volumes": live_spec["volumes"],
        "tolerations": live_spec["tolerations"],
    }
    web = next(cn for cn in live_spec["containers"] if cn["name"] == "web")
    side = next(cn for cn in live_spec["containers"] if cn["name"] == "sidecar")
    live_lists.update({"env": web["env"], "ports": web["ports"], "volumeMounts": side["volumeMounts"]})
    target = next(i for i in live_lists[field] if i[key] == wanted_key)
    target.update(change)
    [difference] = _diffs(DEPLOYMENT, live)
    changed_field = next(iter(change))
    assert difference["path"].startswith(f"/{prefix}/{item_index}/{changed_field}")
    assert difference["live"] is not None


def test_live_only_fields_count_only_when_git_or_a_human_set_them() -> None:
    live = ls.simulate_apply(DEPLOYMENT, namespace="apps")
    spec = live["spec"]["template"]["spec"]
    spec["priorityClassName"] = "by-admission"  # a controller or webhook: not drift
    spec["hostNetwork"] = True
    ls._record(live, "kubectl-patch", {"f:spec": {"f:template": {"f:spec": {"f:hostNetwork": {}}}}})
    live["spec"]["minReadySeconds"] = 5  # owned by the applier but no longer in Git
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:minReadySeconds"] = {}
    live["metadata"]["managedFields"].append(
        {
            "manager": "horizontal-pod-autoscaler",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:paused": {}}},
        }
    )
    live["spec"]["paused"] = False
    assert _diffs(DEPLOYMENT, live) == [
        {
            "path": "/spec/minReadySeconds",
            "desired": None,
            "live": 5,
            "reason": "applied from Git earlier, no longer in Git, still live",
        },
        {
            "path": "/spec/template/spec/hostNetwork",
            "desired": None,
            "live": True,
            "reason": "set live by kubectl-patch (imperative change)",
        },
    ]
    # The same live object with kubectl-patch counted as an applier is clean for hostNetwork.
    policy = ManagerPolicy(appliers=("argocd-controller",), imperative=("kubectl-edit",))
    assert [d["path"] for d in _diffs(DEPLOYMENT, live, policy=policy)] == ["/spec/minReadySeconds"]


def test_missing_container_and_removed_env_by_last_applied() -> None:
    live = ls.simulate_apply(DEPLOYMENT, server_side=False, namespace="apps")
    spec = live["spec"]["template"]["spec"]
    spec["containers"] = [cn for cn in spec["containers"] if cn["name"] != "sidecar"]
    desired = copy.deepcopy(DEPLOYMENT)
    desired["spec"]["template"]["spec"]["containers"][0]["env"].pop()  # B leaves Git, stays live
    diffs = _diffs(desired, live)
    assert [(d["path"], d["reason"]) for d in diffs] == [
        ("/spec/template/spec/containers/0/env/1", "applied from Git earlier, no longer in Git, still live"),
        ("/spec/template/spec/containers/1", "in Git, not live"),
    ]


def test_secret_string_data_equals_base64_data_and_values_are_masked() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "apps"},
        "stringData": {"password": "hunter2"},
        "data": {"empty": ""},
    }
    live = ls.simulate_apply(desired, namespace="apps")
    assert live["data"] == {"password": "aHVudGVyMg==", "empty": ""}
    assert _diffs(desired, live) == []
    live["data"]["password"] = "aHVudGVyMw=="
    live["data"]["added"] = "eA=="
    ls._record(live, "kubectl-edit", {"f:data": {"f:added": {}}})
    text = str(_compare([desired], [live]))
    assert "hunter" not in text and "aHVudGVy" not in text and "eA==" not in text
    assert [(d["path"], d["desired"], d["live"]) for d in _diffs(desired, live)] == [
        ("/data/added", None, "<secret value hidden>"),
        ("/data/password", "<secret value hidden>", "<secret value hidden>"),
    ]


def test_int_or_string_and_scalar_lists() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    live = ls.simulate_apply(service, namespace="apps")
    live["spec"]["ports"][0]["targetPort"] = "8080"
    assert _diffs(service, live) == []
    deployment = ls.simulate_apply(DEPLOYMENT, namespace="apps")
    sidecar = deployment["spec"]["template"]["spec"]["containers"][1]
    sidecar["args"] = ["sleep", "2d"]
    assert _diffs(DEPLOYMENT, deployment) == [
        {
            "path": "/spec/template/spec/containers/1/args",
            "desired": ["sleep", "1d"],
            "live": ["sleep", "2d"],
            "reason": "changed",
        }
    ]


# --- statuses -------------------------------------------------------------------------------------


def _cm(name: str, namespace: str = "apps", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "data": {"k": "v"},
    }


def test_statuses_hooks_and_never_extra() -> None:
    owned: dict[str, Any] = {"labels": dict(c.OWNERSHIP_LABELS)}
    hook: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "apps", "annotations": {c.ARGOCD_HOOK: "Sync"}},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "x"}]}}},
    }
    desired = [_cm("same"), _cm("gone"), _cm("forbidden"), hook]
    live = [
        ls.simulate_apply(_cm("same"), namespace="apps"),
        ls.simulate_apply(_cm("extra", **owned), namespace="apps"),
        ls.simulate_apply(
            _cm("tracked", annotations={c.ARGOCD_TRACKING_ID: "airflow:/ConfigMap:apps/tracked"}),
            namespace="apps",
        ),
        ls.simulate_apply(
            _cm("owned-by-controller", **owned, ownerReferences=[{"kind": "X", "name": "y"}]),
            namespace="apps",
        ),
        ls.simulate_apply(_cm("kube-root-ca.crt", **owned), namespace="apps"),
        ls.worker_pod(1, 1, namespace="apps"),
        ls.simulate_apply({**hook, "metadata": {**hook["metadata"], **owned}}, namespace="apps"),
        ls.simulate_apply(_cm("not-ours"), namespace="apps"),
    ]
    unreadable = [UnreadableScope("", "ConfigMap", "apps", "forbidden: no")]
    report = compare(DriftInput(desired, live, unreadable=[]))
    statuses = {r.name: r.status for r in report.resources}
    assert statuses == {
        "same": Status.IN_SYNC,
        "gone": Status.MISSING,
        "forbidden": Status.MISSING,
        "extra": Status.EXTRA,
        "tracked": Status.EXTRA,
    }
    assert report.hooks_skipped == 1
    report = compare(DriftInput(desired, live, unreadable=unreadable))
    assert {r.name: r.status for r in report.resources}["forbidden"] is Status.UNKNOWN
    assert is_extra(live[5]) is False  # the worker pod carries the ownership labels too


def test_desired_without_namespace_matches_the_single_live_object() -> None:
    desired = {**_cm("x"), "metadata": {"name": "x"}}
    assert _compare([desired], [ls.simulate_apply(_cm("x", namespace="team"))])["summary"]["in_sync"] == 1
    with pytest.raises(ValidationInputError, match="pass --namespace"):
        compare(DriftInput([desired], [_cm("x", "a"), _cm("x", "b")]))
    with pytest.raises(ValidationInputError, match="appears twice"):
        compare(DriftInput([_cm("x"), _cm("x")], []))


def test_node_role_labels() -> None:
    roles = {"management": "node-1", "scheduler-1": "node-2", "scheduler-2": "node-3"}
    nodes = [
        ls.node("node-1", "management"),
        ls.node("node-2", None),
        ls.node("node-3", "scheduler-1"),
        ls.node("node-5", "scheduler-2"),
    ]
    report = _compare([], [], node_roles=roles, nodes=nodes)
    got = {
        r["name"]: (r["status"], [(d["desired"], d["live"], d["reason"]) for d in r["differences"]])
        for r in report["resources"]
    }
    assert got == {
        "node-1": ("in-sync", []),
        "node-2": ("modified", [("scheduler-1", None, "role label missing")]),
        "node-3": ("modified", [("scheduler-2", "scheduler-1", "role label differs")]),
        "node-5": ("modified", [(None, "scheduler-2", "role label on a node the mapping gives no role")]),
    }
    unread = compare(DriftInput([], [], node_roles=roles, nodes_unreadable="forbidden"))
    assert {r.status for r in unread.resources} == {Status.UNKNOWN}


# --- ignore rules -----------------------------------------------------------------------------------


def test_ignore_rules_pointers_jq_and_managers() -> None:
    live = ls.simulate_apply(DEPLOYMENT, namespace="apps")
    live["spec"]["replicas"] = 4
    ls._record(live, "kubectl-scale", {"f:spec": {"f:replicas": {}}}, "scale")
    spec = live["spec"]["template"]["spec"]
    spec["initContainers"] = [{"name": "istio-init", "image": "istio"}]
    ls._record(live, "kubectl-edit", {"f:spec": {"f:template": {"f:spec": {"f:initContainers": {}}}}})
    spec["containers"][0]["image"] = "nginx:1.28"
    ls._record(
        live,
        "kubectl-set",
        {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:image": {}}}}}}},
    )
    assert len(_diffs(DEPLOYMENT, live)) == 3
    rules = parse_rules(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "spec": {
                "ignoreDifferences": [
                    {
                        "group": "apps",
                        "kind": "Deployment",
                        "name": "web",
                        "jsonPointers": ["/spec/replicas"],
                    },
                    {
                        "group": "apps",
                        "kind": "Deployment",
                        "jqPathExpressions": [
                            '.spec.template.spec.initContainers[] | select(.name == "istio-init")'
                        ],
                    },
                    {"group": "*", "kind": "Deployment", "managedFieldsManagers": ["kubectl-set"]},
                    {"group": "apps", "kind": "Deployment", "name": "other", "jsonPointers": ["/spec"]},
                ]
            },
        },
        "app",
    )
    assert _diffs(DEPLOYMENT, live, rules=rules) == []


def test_jq_subset_and_unsupported_expressions() -> None:
    program = parse_jq('.spec.containers[] | select(.name != "a")')
    obj = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    assert list(program.paths(obj)) == [("spec", "containers", 1)]
    assert list(parse_jq(".a[0].b").paths({"a": [{"b": 1}]})) == [("a", 0, "b")]
    assert list(
        parse_jq('.metadata.annotations["x/y"]').paths({"metadata": {"annotations": {"x/y": 1}}})
    ) == [("metadata", "annotations", "x/y")]
    for unsupported in (".a | length", ".a..b", "del(.a)"):
        with pytest.raises(ValueError):
            parse_jq(unsupported)
    live = ls.simulate_apply(DEPLOYMENT, namespace="apps")
    report = compare(
        DriftInput(
            [DEPLOYMENT],
            [live],
            rules=[IgnoreRule(kind="Deployment", group="apps", jq_path_expressions=(".spec | keys",))],
        )
    )
    assert report.warnings and "skipped" in report.warnings[0]


def test_bad_rules_are_user_errors() -> None:
    with pytest.raises(UserError, match="needs a kind"):
        parse_rules([{"group": "apps"}], "f")
    with pytest.raises(UserError, match="jsonPointers must be a list of strings"):
        parse_rules([{"kind": "X", "jsonPointers": "/a"}], "f")


# --- reports ----------------------------------------------------------------------------------------


def test_text_and_markdown_reports() -> None:
    live = ls.simulate_apply(DEPLOYMENT, namespace="apps")
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:9"
    report = compare(DriftInput([DEPLOYMENT, _cm("gone")], [live], overlay="overlays/x", ref="HEAD (abc)"))
    text = render.render_text(report)
    assert text.splitlines()[0] == "drift: overlays/x @ HEAD (abc): 1 modified, 1 missing, 0 extra, 0 in sync"
    assert "\033[" not in text
    assert "  /spec/template/spec/containers/0/image  [changed]" in text
    assert '- git:  "nginx:1.27"' in text and '+ live: "nginx:9"' in text
    assert "\033[33mmodified\033[0m" in render.render_text(report, colour=True)
    markdown = render.render_markdown(report)
    assert "| Deployment | `apps/web` | **modified** |" in markdown
    assert '| `/spec/template/spec/containers/0/image` | `"nginx:1.27"` | `"nginx:9"` | changed |' in markdown
    clean = compare(DriftInput([DEPLOYMENT], [ls.simulate_apply(DEPLOYMENT, namespace="apps")]))
    assert (
        render.render_text(clean) == "no drift: desired manifests: 0 modified, 0 missing, 0 extra, 1 in sync"
    )


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def test_fast_path_agrees_with_the_projection_on_mutated_live_objects() -> None:
    import random

    from gitops_tool.core.drift.fieldsv1 import owners_of
    from gitops_tool.core.drift.normalise import live_matches, normalise_desired, project_live

    rng = random.Random(5)
    desired = [DEPLOYMENT, *[json_roundtrip(o) for o in _service_and_secret()]]
    outcomes = set()
    for obj in desired:
        base = ls.simulate_apply(obj, namespace="apps", server_side=rng.random() < 0.5)
        for _ in range(150):
            live = copy.deepcopy(base)
            for _ in range(rng.randint(0, 2)):
                path = rng.choice([p for p in _leaves(live) if p and p[0] not in ("status",)])
                parent = live
                for part in path[:-1]:
                    parent = parent[part]
                if rng.random() < 0.5:
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = rng.choice(["x", 0, None, "", {}, [], "500m", True])
            owners = owners_of(live.get("metadata", {}).get("managedFields"), ManagerPolicy())
            nd = normalise_desired(obj)
            expected = project_live(nd, live, owners) == nd
            assert live_matches(nd, live, owners) == expected, path
            outcomes.add(expected)
    assert outcomes == {True, False}


def json_roundtrip(obj: dict[str, Any]) -> dict[str, Any]:
    import json

    return dict(json.loads(json.dumps(obj)))


def _service_and_secret() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": "http", "name": "http"}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "apps"},
            "stringData": {"a": "b"},
        },
    ]
