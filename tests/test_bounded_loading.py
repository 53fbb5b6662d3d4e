"""YAML and JSON loading is bounded: size, depth and alias expansion."""

from __future__ import annotations

import pytest

from gitops_tool.core.documents import LoadLimits, parse_documents, parse_manifests
from gitops_tool.errors import ValidationInputError
from tests.overlay_inputs import BILLION_LAUGHS


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(ValidationInputError, match="alias bomb"):
        parse_documents(BILLION_LAUGHS, "bomb.yaml")


def test_deep_nesting_is_refused() -> None:
    deep = "a:\n" + "".join("  " * i + "- \n" for i in range(1, 3)) + "x: " + "[" * 100 + "]" * 100
    with pytest.raises(ValidationInputError, match="nested deeper"):
        parse_documents("x: " + "[" * 100 + "1" + "]" * 100, "deep.yaml")
    with pytest.raises(ValidationInputError):
        parse_documents(deep, "deep.yaml")


def test_deep_json_is_refused() -> None:
    with pytest.raises(ValidationInputError, match="nested too deeply"):
        parse_documents("[" * 100_000 + "]" * 100_000, "deep.json")


def test_size_bound() -> None:
    with pytest.raises(ValidationInputError, match="larger than 10 bytes"):
        parse_documents("a: 0123456789\n", "big.yaml", LoadLimits(max_bytes=10))


def test_ordinary_anchors_still_load() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &d {a: b}\nextra: *d\n"
    assert parse_manifests(text, "ok.yaml")[0]["extra"] == {"a": "b"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- 1\n- 2\n", "a List holds a int"),
        ("apiVersion: v1\nkind: List\nitems: [1]\n", "a List holds a int"),
        ("kind: ConfigMap\nmetadata: {name: x}\n", "no apiVersion"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "no kind"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "no metadata.name"),
        ("just a string\n", "a document is a str"),
        ("a: [1, 2\n", "invalid YAML"),
        ('{"a": }', "invalid JSON"),
    ],
)
def test_malformed_manifests(text: str, message: str) -> None:
    with pytest.raises(ValidationInputError, match=message):
        parse_manifests(text, "input")
