"""The pure parts of ``drift adopt`` and ``--blame``: patches, merges, refusals, tracing."""

from __future__ import annotations

from typing import Any

import pytest

from gitops_tool.core.drift import adopt as a
from gitops_tool.core.drift.blame import GENERATED, Source, Tracer, path_of
from gitops_tool.core.drift.fieldsv1 import ManagerPolicy
from gitops_tool.core.drift.model import Difference, LiveOwner
from gitops_tool.core.objects import ObjectRef
from gitops_tool.errors import UserError

DEPLOY = ObjectRef("apps", "Deployment", "airflow", "web")


def _deployment(containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "airflow"},
        "spec": {"template": {"spec": {"containers": containers, **spec}}},
    }


def test_patch_addresses_keyed_items_by_key_and_takes_atomic_values_whole() -> None:
    rendered = _deployment(
        [{"name": "a", "image": "x:1", "env": [{"name": "K", "value": "1"}], "args": ["run"]}],
        tolerations=[{"key": "t", "operator": "Exists"}],
    )
    live = _deployment(
        [
            {
                "name": "a",
                "image": "x:2",
                "env": [{"name": "K", "value": "1"}, {"name": "NEW", "value": "2"}],
                "args": ["run", "--fast"],
                "terminationMessagePath": "/dev/termination-log",
            }
        ],
        tolerations=[{"key": "t", "operator": "Exists"}, {"key": "u", "operator": "Exists"}],
    )
    base = ("spec", "template", "spec")
    paths = [
        (*base, "containers", 0, "image"),
        (*base, "containers", 0, "env", 1),
        (*base, "containers", 0, "args"),
        (*base, "tolerations", 1, "key"),
    ]
    patch = a.patch_for(rendered, live, live, paths)
    assert patch == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "airflow"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "image": "x:2",
                            "env": [{"name": "NEW", "value": "2"}],
                            "args": ["run", "--fast"],
                        }
                    ],
                    # tolerations are atomic for a strategic merge: the live list whole
                    "tolerations": [{"key": "t", "operator": "Exists"}, {"key": "u", "operator": "Exists"}],
                }
            }
        },
    }


def test_patch_removes_what_is_gone_live() -> None:
    rendered = _deployment(
        [
            {
                "name": "a",
                "env": [{"name": "OLD", "value": "1"}, {"name": "KEEP", "value": "2"}],
                "workingDir": "/w",
            }
        ]
    )
    live = _deployment([{"name": "a", "env": [{"name": "KEEP", "value": "2"}]}])
    base = ("spec", "template", "spec", "containers", 0)
    patch = a.patch_for(rendered, live, rendered, [(*base, "env", 0), (*base, "workingDir")])
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {"name": "a", "env": [{"$patch": "delete", "name": "OLD"}], "workingDir": None}
    ]
    gone = a.patch_for(rendered, _deployment([{"name": "a"}]), rendered, [(*base, "env")])
    assert gone["spec"]["template"]["spec"]["containers"] == [{"name": "a", "env": None}]


def test_merging_into_an_earlier_patch_keeps_both() -> None:
    old = {
        "spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]}}}
    }
    new = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "env": [{"name": "X", "value": "2"}],
                            "resources": {"limits": {"cpu": "2"}},
                        },
                        {"name": "b", "image": "y:1"},
                    ]
                }
            }
        }
    }
    merged = a.merge_patches(old, new)
    assert merged["spec"]["template"]["spec"]["containers"] == [
        {"name": "a", "env": [{"name": "X", "value": "2"}], "resources": {"limits": {"cpu": "2"}}},
        {"name": "b", "image": "y:1"},
    ]


def test_refusals() -> None:
    policy = ManagerPolicy()
    owner = LiveOwner("kubectl-scale", "Update", "2026-11-30T10:12:00Z")
    replicas = Difference("/spec/replicas", 1, 3, "changed", owner)
    assert (
        a.refuse_difference(DEPLOY, "Deployment airflow/web", ("spec", "replicas"), replicas, policy, {})
        is None
    )
    hpa = a.autoscaled(
        [
            {
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web-hpa"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}},
            }
        ],
        "airflow",
    )
    why = a.refuse_difference(DEPLOY, "Deployment airflow/web", ("spec", "replicas"), replicas, policy, hpa)
    assert why is not None and "HorizontalPodAutoscaler web-hpa" in why
    controller = Difference("/spec/x", 1, 2, "changed", LiveOwner("vpa-updater", "Update", ""))
    why = a.refuse_difference(DEPLOY, "Deployment airflow/web", ("spec", "x"), controller, policy, {})
    assert why is not None and "owned by the controller vpa-updater" in why
    secret = ObjectRef("", "Secret", "airflow", "s")
    data = Difference("/data/k", "<secret value hidden>", "<secret value hidden>", "secret value differs")
    why = a.refuse_difference(secret, "Secret airflow/s", ("data", "k"), data, policy, {})
    assert why is not None and "never written to Git" in why


def test_replicas_the_scheduling_rules_cannot_run() -> None:
    scheduler = _deployment([{"name": "s"}])
    template = scheduler["spec"]["template"]
    template["metadata"] = {"labels": {"app.kubernetes.io/component": "scheduler"}}
    template["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "node-role.kubernetes.io/airflow",
                                "operator": "In",
                                "values": ["scheduler-2"],
                            }
                        ]
                    }
                ]
            }
        },
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {
                        "matchExpressions": [
                            {"key": "app.kubernetes.io/component", "operator": "In", "values": ["scheduler"]}
                        ]
                    },
                    "topologyKey": "kubernetes.io/hostname",
                }
            ]
        },
    }
    assert a.unschedulable_replicas(scheduler, 1) is None
    why = a.unschedulable_replicas(scheduler, 2)
    assert why is not None and "2 replicas cannot all run" in why
    del template["spec"]["affinity"]["podAntiAffinity"]
    assert a.unschedulable_replicas(scheduler, 2) is None


def test_selectors_and_generated_names() -> None:
    assert a.parse_selector("Deployment/airflow/web") == a.Selector("Deployment", "airflow", "web")
    assert a.parse_selector("StorageClass/nfs-client") == a.Selector("StorageClass", "", "nfs-client")
    for bad in ("web", "a/b/c/d", "/airflow/web", "Deployment/airflow/"):
        with pytest.raises(UserError):
            a.parse_selector(bad)
    assert a.generated(ObjectRef("", "ConfigMap", "airflow", "airflow-config-d6cbhd779g"))
    assert not a.generated(ObjectRef("", "ConfigMap", "airflow", "airflow-git-sync"))
    assert a.file_name(DEPLOY) == "adopted/deployment-airflow-web.yaml"


FILES = {
    "base/kustomization.yaml": "resources:\n  - web.yaml\n",
    "base/web.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n"
        "  template:\n    spec:\n      containers:\n        - name: a\n          image: x:1\n"
    ),
    "overlay/kustomization.yaml": (
        "nameSuffix: -1\nresources:\n  - ../base\npatches:\n  - path: json.yaml\n    target:\n"
        "      kind: Deployment\n  - patch: |-\n      kind: Deployment\n      metadata:\n        name: web\n"
        "      spec:\n        paused: true\n"
    ),
    "overlay/json.yaml": "- op: replace\n  path: /spec/replicas\n  value: 3\n",
}


def test_tracer_follows_suffixes_json6902_and_inline_patches() -> None:
    tracer = Tracer("overlay", FILES.get)
    ref = ObjectRef("apps", "Deployment", "", "web-1")
    desired = {
        "spec": {
            "replicas": 3,
            "paused": True,
            "template": {"spec": {"containers": [{"name": "a", "image": "x:1"}]}},
        }
    }
    assert tracer.trace(ref, ["spec", "replicas"], desired) == Source("overlay/json.yaml", 3)
    assert tracer.trace(ref, ["spec", "template", "spec", "containers", 0, "image"], desired) == Source(
        "base/web.yaml", 11, 11
    )
    inline = tracer.trace(ref, ["spec", "paused"], desired)
    assert isinstance(inline, Source) and inline.file == "overlay/kustomization.yaml" and inline.line == 8
    assert tracer.trace(ObjectRef("", "ConfigMap", "", "x-d6cbhd779g"), ["data", "k"], {}) == GENERATED
    assert (
        tracer.trace(ObjectRef("apps", "Deployment", "", "other"), ["spec", "replicas"], desired) == GENERATED
    )
    assert path_of("/spec/template/spec/containers/0/env/3", desired) == [
        "spec",
        "template",
        "spec",
        "containers",
        0,
        "env",
        3,
    ]
