"""The port of statsd_exporter's parsing and matching behaves as the upstream tests and README say.

Cases from prometheus/statsd_exporter: pkg/line/line_test.go (tag styles, timers in seconds, mixed
tags rejected), pkg/mapper/mapper_test.go and the README ("list specific and drop rules first":
the FSM attaches a rule only where it creates a state; globs before regex).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.statsd_exporter_model import Event, Mapper, escape_metric_name, line_to_events


def _mapper(*rules: dict[str, Any]) -> Mapper:
    return Mapper({"mappings": list(rules)})


def _one(mapper: Mapper, line: str) -> tuple[str, dict[str, str]] | None:
    samples = mapper.samples([line])
    assert len(samples) <= 1
    return (samples[0].name, dict(samples[0].labels)) if samples else None


@pytest.mark.parametrize(
    ("line", "name", "labels"),
    [
        ("foo:1|c", "foo", {}),
        ("foo,tag1=bar,tag2=baz:100|c", "foo", {"tag1": "bar", "tag2": "baz"}),  # InfluxDB
        ("foo#tag1=bar,tag2=baz:100|c", "foo", {"tag1": "bar", "tag2": "baz"}),  # Librato
        ("foo[tag1=bar,tag2=baz]test:100|c", "footest", {"tag1": "bar", "tag2": "baz"}),  # SignalFx
        ("foo:100|c|#tag1:bar,#tag2:baz", "foo", {"tag1": "bar", "tag2": "baz"}),  # DogStatsD
        ("foo:100|c|@0.1|#tag1:bar", "foo", {"tag1": "bar"}),
        ("foo:100|c|#tag1:bar,tag-two:baz", "foo", {"tag1": "bar", "tag_two": "baz"}),
        ("foo:100|c|#tag1:bar,novalue,:nokey", "foo", {"tag1": "bar"}),
    ],
)
def test_tag_styles_become_labels(line: str, name: str, labels: dict[str, str]) -> None:
    (event,) = line_to_events(line)
    assert (event.name, dict(event.labels)) == (name, labels)


def test_mixed_tag_styles_are_rejected() -> None:
    assert line_to_events("foo,tag1=bar:100|c|#tag2:baz") == []


def test_timers_are_seconds_counters_scaled_by_sampling_and_multiple_values_split() -> None:
    assert line_to_events("t:320|ms") == [Event("t", "observer", 0.32, ())]
    assert line_to_events("c:1|c|@0.5") == [Event("c", "counter", 2.0, ())]
    assert [e.value for e in line_to_events("g:1|g:2|g")] == [1.0, 2.0]
    assert [e.value for e in line_to_events("t:1000:2000|ms")] == [1.0, 2.0]
    assert line_to_events("g:1:2|g") == []  # extended aggregation only for timers, histograms
    assert line_to_events("bad line") == [] and line_to_events("s:1|s") == []


def test_escaping_of_unmapped_names() -> None:
    assert escape_metric_name("airflow.dag.a-b.c") == "airflow_dag_a_b_c"
    assert escape_metric_name("1abc") == "_1abc"
    assert escape_metric_name("a--b") == "a_b"


def test_an_exact_rule_after_a_longer_glob_it_prefixes_never_matches() -> None:
    late = _mapper(
        {"match": "a.b.*", "name": "ab", "labels": {"x": "$1"}},
        {"match": "a.b", "name": "dropped", "action": "drop"},
    )
    assert _one(late, "a.b:1|g") == ("a_b", {})  # falls through to the default name
    assert late.unattached_rules() == [late.rules[1]]
    early = _mapper(
        {"match": "a.b", "name": "dropped", "action": "drop"},
        {"match": "a.b.*", "name": "ab", "labels": {"x": "$1"}},
    )
    assert _one(early, "a.b:1|g") is None
    assert _one(early, "a.b.c:1|g") == ("ab", {"x": "c"})
    assert early.unattached_rules() == []


def test_the_earliest_matching_glob_wins_and_a_repeated_glob_keeps_the_first_rule() -> None:
    mapper = _mapper({"match": "a.*.c", "name": "star"}, {"match": "a.b.c", "name": "exact"})
    assert _one(mapper, "a.b.c:1|c") == ("star", {})
    assert _one(mapper, "a.z.c:1|c") == ("star", {})
    # fsm.go AddState re-stamps the priority of an existing final state without attaching the
    # repeated rule: the first rule's result now ranks after "exact".
    repeated = _mapper(
        {"match": "a.*.c", "name": "star"},
        {"match": "a.b.c", "name": "exact"},
        {"match": "a.*.c", "name": "again"},
    )
    assert _one(repeated, "a.b.c:1|c") == ("exact", {})
    assert _one(repeated, "a.z.c:1|c") == ("star", {})
    assert repeated.unattached_rules() == [repeated.rules[2]]


def test_backtracking_finds_the_star_branch_when_the_exact_one_dead_ends() -> None:
    mapper = _mapper(
        {"match": "a.b.x", "name": "abx"}, {"match": "a.*.y", "name": "any_y", "labels": {"m": "$1"}}
    )
    assert _one(mapper, "a.b.y:1|c") == ("any_y", {"m": "b"})


def test_globs_are_one_segment_per_star_and_regex_rules_come_after_globs() -> None:
    mapper = _mapper(
        {"match": r"^a\.(.+)\.end$", "match_type": "regex", "name": "rx_${1}", "labels": {"all": "$1"}},
        {"match": "a.*.end", "name": "glob", "labels": {"one": "$1"}},
    )
    assert _one(mapper, "a.b.end:1|c") == ("glob", {"one": "b"})
    assert _one(mapper, "a.b.c.end:1|c") == ("rx_b_c", {"all": "b.c"})


def test_rule_labels_override_tag_labels_and_add_to_them() -> None:
    mapper = _mapper({"match": "m.x", "name": "m", "labels": {"a": "rule"}})
    assert _one(mapper, "m.x,a=tag,b=tag:1|c") == ("m", {"a": "rule", "b": "tag"})


def test_a_glob_without_a_dot_is_refused_as_upstream_refuses_it() -> None:
    with pytest.raises(ValueError, match="invalid match"):
        _mapper({"match": "m", "name": "m"})


def test_match_metric_type_limits_a_rule_to_one_type() -> None:
    mapper = _mapper({"match": "m.*", "name": "gauge_only", "match_metric_type": "gauge"})
    assert _one(mapper, "m.x:1|g") == ("gauge_only", {})
    assert _one(mapper, "m.x:1|c") == ("m_x", {})
