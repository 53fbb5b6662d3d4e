"""Each exporter's metric list says where it came from and belongs to an exporter in the repo."""

from __future__ import annotations

import re

import pytest

from gitops_tool.core.documents import parse_manifests
from gitops_tool.services.rendering import render_overlay
from tests import metrics_catalog as catalog
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize("listing", catalog.metric_lists(), ids=lambda m: m.name)
def test_list_has_a_source_and_valid_names(listing: catalog.MetricList) -> None:
    assert listing.header.get("source"), f"{listing.name}.txt names no source"
    assert listing.header.get("scrape_job"), f"{listing.name}.txt names no scrape job"
    assert listing.lines
    assert len(listing.lines) == len(set(listing.lines))
    for line in listing.lines:
        name = line.split()[-1]
        if listing.name != "airflow-statsd":
            assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name), name


def test_listed_images_are_deployed_by_the_overlay() -> None:
    text = render_overlay(str(REPO_ROOT / "overlays/three-node-ha")).text
    images = {
        container["image"].rsplit(":", 1)[0]
        for obj in parse_manifests(text, "three-node-ha")
        if obj["kind"] in {"Deployment", "DaemonSet", "StatefulSet"}
        for container in obj["spec"]["template"]["spec"]["containers"]
    }
    for listing in catalog.metric_lists():
        if "image" in listing.header:
            assert listing.header["image"] in images, (
                f"{listing.name}: {listing.header['image']} not deployed"
            )
