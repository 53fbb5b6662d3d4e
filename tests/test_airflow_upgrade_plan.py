"""upgrade-airflow planning: tags, refusals, where the image is found, text and kustomize edits."""

from __future__ import annotations

import pytest

from gitops_tool.core.airflow_upgrade import (
    AirflowTag,
    check_upgrade,
    current_tag,
    image_uses,
    parse_tag,
    requested_tag,
    retag_images_entries,
    retag_text,
)
from gitops_tool.errors import UserError

OLD = AirflowTag((2, 11, 0), "python3.9")
DIGEST = "@sha256:" + "a" * 64


def test_tags_parse_and_order() -> None:
    assert parse_tag("2.11.0-python3.9") == OLD
    assert str(OLD) == "2.11.0-python3.9"
    assert parse_tag("2.10.5") == AirflowTag((2, 10, 5), "")
    for bad in ("latest", "2.11", "v2.11.0", "2.11.0rc1", "2.11.0-python3.9-slim", "02.1.0"):
        assert parse_tag(bad) is None
    assert parse_tag("2.9.10") is not None and AirflowTag((2, 9, 10), "") < AirflowTag((2, 10, 0), "")


def test_requested_version_keeps_the_python_suffix() -> None:
    assert requested_tag("2.11.1", OLD) == AirflowTag((2, 11, 1), "python3.9")
    assert requested_tag("3.0.2-python3.12", OLD) == AirflowTag((3, 0, 2), "python3.12")
    with pytest.raises(UserError, match="malformed Airflow version 'latest'"):
        requested_tag("latest", OLD)


def test_refusals() -> None:
    with pytest.raises(UserError, match=r"already runs apache/airflow:2.11.0-python3.9"):
        check_upgrade(OLD, OLD, "overlays/x")
    with pytest.raises(UserError, match=r"refusing to downgrade overlays/x from 2.11.0-python3.9 to 2.10.5"):
        check_upgrade(OLD, AirflowTag((2, 10, 5), "python3.9"), "overlays/x")
    check_upgrade(OLD, AirflowTag((2, 11, 1), "python3.9"), "overlays/x")


POD_TEMPLATE = """apiVersion: v1
kind: Pod
metadata: {name: worker}
spec:
  containers:
  - name: base
    image: apache/airflow:2.11.0-python3.9
"""


def _objects(tag: str) -> list[dict[str, object]]:
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "airflow-webserver", "namespace": "airflow"},
            "spec": {
                "template": {
                    "spec": {
                        "initContainers": [{"name": "wait", "image": f"apache/airflow:{tag}"}],
                        "containers": [
                            {"name": "webserver", "image": f"docker.io/apache/airflow:{tag}"},
                            {"name": "sidecar", "image": "busybox:1.36"},
                        ],
                    }
                }
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "worker-pod-template", "namespace": "airflow"},
            "data": {"pod_template.yaml": POD_TEMPLATE.replace("2.11.0-python3.9", tag)},
        },
    ]


def test_image_uses_include_pod_templates_in_configmaps() -> None:
    uses = image_uses(_objects("2.11.0-python3.9"))
    assert [u.where for u in uses] == [
        "Deployment/airflow/airflow-webserver [wait]",
        "Deployment/airflow/airflow-webserver [webserver]",
        "ConfigMap/airflow/worker-pod-template (pod template) [base]",
    ]
    assert current_tag(uses, "o") == OLD


def test_mixed_tags_are_refused_with_their_place() -> None:
    objects = _objects("2.11.0-python3.9")
    objects[1]["data"] = {"pod_template.yaml": POD_TEMPLATE.replace("2.11.0", "2.10.0")}
    with pytest.raises(
        UserError,
        match=r"mixes Airflow tags: 2.10.0-python3.9 in ConfigMap/airflow/worker-pod-template \(pod",
    ):
        current_tag(image_uses(objects), "o")
    with pytest.raises(UserError, match="uses no apache/airflow image"):
        current_tag([], "o")


def test_text_retag_touches_only_the_old_airflow_tag_and_drops_digests() -> None:
    new = AirflowTag((2, 11, 1), "python3.9")
    text = (
        "image: apache/airflow:2.11.0-python3.9  # keep this comment\n"
        f"image: registry.local:5000/apache/airflow:2.11.0-python3.9{DIGEST}\n"
        "image: apache/airflow:2.10.0-python3.9\n"
        "image: other/apache/airflowx:2.11.0-python3.9\n"
        "image: postgres:2.11.0-python3.9\n"
    )
    out, count = retag_text(text, OLD, new)
    assert count == 2
    assert out.splitlines() == [
        "image: apache/airflow:2.11.1-python3.9  # keep this comment",
        "image: registry.local:5000/apache/airflow:2.11.1-python3.9",
        "image: apache/airflow:2.10.0-python3.9",
        "image: other/apache/airflowx:2.11.0-python3.9",
        "image: postgres:2.11.0-python3.9",
    ]


def test_kustomize_images_entries() -> None:
    new = AirflowTag((2, 11, 1), "python3.9")
    images = [
        {"name": "apache/airflow", "newTag": "2.11.0-python3.9", "digest": "sha256:" + "b" * 64},
        {"name": "postgres", "newTag": "16.4"},
        {"name": "airflow", "newName": "docker.io/apache/airflow", "newTag": "2.11.0-python3.9"},
    ]
    assert retag_images_entries(images, OLD, new) == 2
    assert images[0] == {"name": "apache/airflow", "newTag": "2.11.1-python3.9"}
    assert images[1] == {"name": "postgres", "newTag": "16.4"}
    assert images[2]["newTag"] == "2.11.1-python3.9"
    assert retag_images_entries(None, OLD, new) == 0
