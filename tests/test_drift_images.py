"""drift compares images as whole references: tag and digest both count."""

from __future__ import annotations

import copy
from typing import Any

from gitops_tool.core.drift import render
from gitops_tool.core.drift.engine import DriftInput, compare
from tests import livestate as ls
from tests.manifests_support import HA, find, rendered

DIGEST = "@sha256:" + "0123456789abcdef" * 4
OTHER_DIGEST = "@sha256:" + "fedcba9876543210" * 4
IMAGE_PATH = "/spec/template/spec/containers/0/image"


def _webserver(image: str) -> dict[str, Any]:
    obj = copy.deepcopy(find(rendered(HA), "Deployment", "airflow-webserver"))
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return obj


def _differences(desired: dict[str, Any], live: dict[str, Any]) -> list[dict[str, Any]]:
    [result] = render.to_json(compare(DriftInput([desired], [live])), show_in_sync=True)["resources"]
    return list(result["differences"])


def test_a_pinned_digest_that_is_live_is_in_sync() -> None:
    pinned = _webserver("apache/airflow:2.11.0-python3.9" + DIGEST)
    assert _differences(pinned, ls.simulate_apply(copy.deepcopy(pinned))) == []


def test_another_digest_or_a_dropped_digest_is_drift_at_the_image() -> None:
    pinned = _webserver("apache/airflow:2.11.0-python3.9" + DIGEST)
    repinned = ls.simulate_apply(_webserver("apache/airflow:2.11.0-python3.9" + OTHER_DIGEST))
    assert [(d["path"], d["live"]) for d in _differences(pinned, repinned)] == [
        (IMAGE_PATH, "apache/airflow:2.11.0-python3.9" + OTHER_DIGEST)
    ]
    tag_only = ls.simulate_apply(_webserver("apache/airflow:2.11.0-python3.9"))
    assert [d["path"] for d in _differences(pinned, tag_only)] == [IMAGE_PATH]


def test_a_digest_pinned_live_by_hand_is_drift_from_a_tag_in_git() -> None:
    desired = _webserver("apache/airflow:2.11.0-python3.9")
    live = ls.simulate_apply(_webserver("apache/airflow:2.11.0-python3.9" + DIGEST))
    assert [d["path"] for d in _differences(desired, live)] == [IMAGE_PATH]
