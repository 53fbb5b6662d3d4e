"""Drift metrics text: parsed back with prometheus_client's own text parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gitops_tool.core.drift_metrics import (
    DRIFT_STATUSES,
    failed_audit_summary,
    format_drift_metrics,
    summary_of_statuses,
)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in found, f"duplicate sample {key}"
            assert sample.timestamp is None, "the textfile collector rejects sample timestamps"
            found[key] = sample.value
    return found


def test_counts_by_kind_and_status_parse_back() -> None:
    resources = [
        ("Deployment", "in-sync"),
        ("Deployment", "modified"),
        ("Deployment", "modified"),
        ("Service", "missing"),
        ("ConfigMap", "extra"),
        ("ConfigMap", "in-sync"),
    ]
    summary = summary_of_statuses("overlays/three-node-ha", resources, 1_790_000_000.5, 2.25)
    text = format_drift_metrics(summary)
    samples = _samples(text)
    overlay = ("overlay", "overlays/three-node-ha")

    def count(kind: str, status: str) -> float:
        return samples[("gitops_drift_resources", (("kind", kind), overlay, ("status", status)))]

    assert count("Deployment", "modified") == 2
    assert count("Deployment", "in-sync") == 1
    assert count("Service", "missing") == 1
    assert count("ConfigMap", "extra") == 1
    # Statuses not seen for a kind are written as 0, so the series drops to 0 instead of vanishing.
    assert count("Service", "in-sync") == 0
    shown = {dict(labels)["status"] for name, labels in samples if name == "gitops_drift_resources"}
    assert shown == set(DRIFT_STATUSES)
    assert samples[("gitops_drift_drifted_resources", (overlay,))] == 4
    assert samples[("gitops_drift_last_audit_timestamp_seconds", (overlay,))] == 1_790_000_000.5
    assert samples[("gitops_drift_audit_duration_seconds", (overlay,))] == 2.25
    assert samples[("gitops_drift_audit_errors", (overlay,))] == 0
    assert samples[("gitops_drift_audit_success", (overlay,))] == 1


def test_each_family_is_written_once_with_help_and_type() -> None:
    text = format_drift_metrics(summary_of_statuses("o", [("Pod", "in-sync")], 1.0, 0.1))
    types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    helps = [line.split()[2] for line in text.splitlines() if line.startswith("# HELP ")]
    assert len(types) == len(set(types)) == len(helps)
    assert text.endswith("\n")
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families["gitops_drift_resources"] == "gauge"


def test_a_failed_audit_reports_an_error_and_no_success() -> None:
    samples = _samples(format_drift_metrics(failed_audit_summary("o", 5.0, 1.5)))
    assert samples[("gitops_drift_audit_success", (("overlay", "o"),))] == 0
    assert samples[("gitops_drift_audit_errors", (("overlay", "o"),))] == 1
    assert not any(name == "gitops_drift_resources" for name, _ in samples)


def test_label_values_are_escaped() -> None:
    awkward = 'over"lay\\with\nnewline'
    samples = _samples(format_drift_metrics(summary_of_statuses(awkward, [("Kind", "in-sync")], 1.0, 1.0)))
    assert samples[("gitops_drift_audit_success", (("overlay", awkward),))] == 1


def test_an_unexpected_status_is_kept_not_dropped() -> None:
    samples = _samples(format_drift_metrics(summary_of_statuses("o", [("Pod", "weird")], 1.0, 1.0)))
    key = ("gitops_drift_resources", (("kind", "Pod"), ("overlay", "o"), ("status", "weird")))
    assert samples[key] == 1
