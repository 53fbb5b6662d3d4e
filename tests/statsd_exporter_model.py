"""statsd_exporter's line parsing and mapping, ported to Python for the tests.

A port, not an idea of it: each part follows the upstream Go source of prometheus/statsd_exporter
(v0.28, the image base/statsd-exporter runs) so the tests see what the exporter does:

- pkg/line/line.go ``LineToEvents``: ``name[,k=v...]:value|type[|@rate][|#k:v,...]``; InfluxDB
  (``name,k=v``), Librato (``name#k=v``), SignalFx (``name[k=v]``) and DogStatsD (``|#k:v``) tags
  become labels (all four parsers are on by default); a line mixing name tags with DogStatsD tags is
  dropped (``mixed_tagging_styles``); several ``:``-separated values make several events.
- pkg/mapper/fsm/fsm.go ``AddState``/``GetMapping``: glob rules form a state machine per metric type
  (counter, gauge, observer), one ``*`` per dot-separated segment. A rule's result is attached only
  where the rule *creates* its final state: an exact rule listed after a longer glob it is a prefix
  of (``a.b`` after ``a.b.*``) never matches, and a glob listed twice keeps the first rule. Among
  matching final states the earliest rule wins (ordering on, backtracking on).
- pkg/mapper/mapper.go ``GetMapping``: globs first; only when no glob matched are the
  ``match_type: regex`` rules tried, in file order, unanchored (Go ``FindStringSubmatchIndex``),
  names and labels expanded like Go's ``Regexp.ExpandString``.
- pkg/exporter/exporter.go ``handleEvent``: ``action: drop`` drops; a mapped event's labels are the
  line's tag labels overridden by the rule's labels (unless ``honor_labels``); the metric name is
  escaped with pkg/mapper/escape.go ``EscapeMetricName``; unmapped events keep their escaped name
  and tag labels. Registry (pkg/registry): one name may carry several label sets (unchecked
  collectors); only a name registered with another metric type conflicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

METRIC_TYPES = ("counter", "gauge", "observer")
_STAT_TYPES = {"c": "counter", "g": "gauge", "ms": "observer", "h": "observer", "d": "observer"}


# --- pkg/line ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    name: str
    kind: str  # counter, gauge or observer
    value: float
    labels: tuple[tuple[str, str], ...]


def escape_metric_name(name: str) -> str:
    """pkg/mapper/escape.go: invalid characters become ``_``; ``--`` collapses; a leading digit gets ``_``."""
    if not name:
        return ""
    out = ["_"] if name[0].isdigit() and name[0].isascii() else []
    previous = ""
    for char in name:
        if char.isascii() and (char.isalnum() or char == "_"):
            out.append(char)
        elif char == "-" and previous == "-":
            pass
        else:
            out.append("_")
        previous = char
    return "".join(out)


def _parse_tag(tag: str, separator: str, labels: dict[str, str]) -> bool:
    if not tag:
        return False
    if separator not in tag:
        return False
    key, _, value = tag.partition(separator)
    if not key or not value:
        return False
    labels[escape_metric_name(key)] = value
    return True


def _parse_name_tags(component: str, labels: dict[str, str]) -> None:
    for tag in component.split(","):
        _parse_tag(tag, "=", labels)


def _parse_name_and_tags(name: str, labels: dict[str, str]) -> str:
    start, end = name.find("["), name.find("]")
    if start != -1 and end != -1:  # SignalFx
        _parse_name_tags(name[start + 1 : end], labels)
        return name[:start] + name[end + 1 :]
    if (start != -1) != (end != -1):
        return name
    for index, char in enumerate(name):
        if char in "#,":  # Librato, InfluxDB
            _parse_name_tags(name[index + 1 :], labels)
            return name[:index]
    return name


def line_to_events(line: str) -> list[Event]:
    """The events statsd_exporter makes of one line (empty when it rejects the line)."""
    if not line:
        return []
    head, sep, tail = line.partition(":")
    if not sep or not head:
        return []
    labels: dict[str, str] = {}
    metric = _parse_name_and_tags(head, labels)
    dogstatsd = "|#" in tail
    if dogstatsd and labels:
        return []  # mixed_tagging_styles
    parts = tail.split("|", 2)
    if len(parts) < 2:
        return []
    if ":" in parts[0]:
        if parts[1] not in ("ms", "h", "d"):
            return []
        suffix = tail.partition("|")[2]
        samples = [f"{value}|{suffix}" for value in parts[0].split(":")]
    elif dogstatsd:
        samples = [tail]
    else:
        samples = tail.split(":")
    events: list[Event] = []
    for sample in samples:
        components = sample.split("|")
        if len(components) < 2 or len(components) > 8:
            continue
        value_text, stat_type = components[0], components[1]
        try:
            value = float(value_text)
        except ValueError:
            continue
        multiply = 1
        rejected = False
        if any(not component for component in components[2:]):
            continue
        for component in components[2:]:
            if component[0] == "@":
                try:
                    rate = float(component[1:])
                except ValueError:
                    rate = 0.0
                rate = rate or 1.0
                if stat_type == "c":
                    value /= rate
                elif stat_type in ("ms", "h", "d"):
                    multiply = int(1 / rate)
            elif component[0] == "#":
                for tag in component[1:].split(","):
                    _parse_tag(tag[1:] if tag.startswith("#") else tag, ":", labels)
            elif component[0] == "c" and component.startswith("c:") and len(component) > 2:
                labels["container_id"] = component[2:]
            elif component[0] == "T" and component[1:].lstrip("-").isdigit():
                pass
            else:
                rejected = True
                break
        kind = _STAT_TYPES.get(stat_type)
        if rejected or kind is None:
            continue
        if stat_type == "ms":
            value /= 1000  # prometheus presumes seconds, statsd milliseconds
        events.extend(Event(metric, kind, value, tuple(sorted(labels.items()))) for _ in range(multiply))
    return events


# --- pkg/mapper/fsm ---------------------------------------------------------------------------


@dataclass(eq=False)
class _State:
    transitions: dict[str, _State] = field(default_factory=dict)
    min_remaining: int = 0
    max_remaining: int = 0
    result: dict[str, Any] | None = None
    priority: int = 0


class _FSM:
    def __init__(self) -> None:
        self.root = _State(transitions={kind: _State() for kind in METRIC_TYPES})
        self.count = 0

    def add(self, match: str, metric_type: str | None, rule: dict[str, Any]) -> int:
        fields = match.split(".")
        roots = [self.root.transitions[metric_type]] if metric_type else list(self.root.transitions.values())
        captures = 0
        finals: list[_State] = []
        for root in roots:
            captures = 0
            state = root
            for index, part in enumerate(fields):
                remaining = len(fields) - index - 1
                child = state.transitions.get(part)
                if child is None:
                    child = _State(min_remaining=remaining, max_remaining=remaining)
                    state.transitions[part] = child
                    if index == len(fields) - 1:
                        child.result = rule
                else:
                    child.max_remaining = max(remaining, child.max_remaining)
                    child.min_remaining = min(remaining, child.min_remaining)
                if part == "*":
                    captures += 1
                state = child
            finals.append(state)
        for state in finals:
            state.priority = self.count
        self.count += 1
        return captures

    def get(self, metric: str, metric_type: str) -> tuple[_State | None, list[str]]:
        """fsm.go GetMapping with ordering and backtracking on (statsd_exporter's defaults)."""
        fields = metric.split(".")
        captures = [""] * len(fields)
        best: _State | None = None
        # Depth-first over (state, field index, captures so far); exact transitions before "*".
        stack: list[tuple[_State, int, list[str]]] = [(self.root.transitions[metric_type], 0, [])]
        while stack:
            state, index, captured = stack.pop()
            if index == len(fields):
                continue
            left = len(fields) - index - 1
            options: list[tuple[_State, list[str]]] = []
            exact = state.transitions.get(fields[index])
            star = state.transitions.get("*")
            if exact is not None and exact.min_remaining <= left <= exact.max_remaining:
                options.append((exact, captured))
            if star is not None and star.min_remaining <= left <= star.max_remaining:
                options.append((star, [*captured, fields[index]]))
            for child, child_captured in reversed(options):
                if child.result is not None and index == len(fields) - 1:
                    if best is None or best.priority > child.priority:
                        best = child
                        captures = child_captured + [""] * (len(fields) - len(child_captured))
                    continue
                stack.append((child, index + 1, child_captured))
        return best, captures


_TEMPLATE = re.compile(r"\$\{?([a-zA-Z0-9_$]+)\}?")


def _format_glob(template: str, captures: list[str], capture_count: int) -> str:
    """fsm/formatter.go: ``$n``/``${n}`` -> capture n; out-of-range references -> empty."""

    def replace(match: re.Match[str]) -> str:
        text = match.group(1)
        if text.isdigit() and 1 <= int(text) <= capture_count:
            return captures[int(text) - 1]
        return ""

    return _TEMPLATE.sub(replace, template)


def _expand_regex(template: str, found: re.Match[str]) -> str:
    """Go Regexp.ExpandString: ``$name`` takes the longest [A-Za-z0-9_] run; ``${name}`` is explicit."""
    out: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        if char != "$" or index + 1 >= len(template):
            out.append(char)
            index += 1
            continue
        following = template[index + 1]
        if following == "$":
            out.append("$")
            index += 2
            continue
        if following == "{":
            close = template.find("}", index + 2)
            name = template[index + 2 : close] if close != -1 else ""
            if close == -1 or not re.fullmatch(r"[A-Za-z0-9_]+", name):
                out.append(char)
                index += 1
                continue
            index = close + 1
        else:
            named = re.match(r"[A-Za-z0-9_]+", template[index + 1 :])
            if not named:
                out.append(char)
                index += 1
                continue
            name = named.group(0)
            index += 1 + len(name)
        if name.isdigit():
            number = int(name)
            out.append((found.group(number) or "") if number <= (found.re.groups or 0) else "")
        else:
            out.append((found.groupdict().get(name) or "") if name in found.re.groupindex else "")
    return "".join(out)


# --- pkg/mapper + pkg/exporter ----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One event as the exporter registers it: its Prometheus name, type and labels."""

    name: str
    kind: str
    labels: tuple[tuple[str, str], ...]
    statsd: str

    @property
    def label_names(self) -> frozenset[str]:
        return frozenset(key for key, _ in self.labels)


class Mapper:
    """A mapping file (the parsed YAML of ``--statsd.mapping-config``) as statsd_exporter loads it."""

    def __init__(self, config: dict[str, Any]) -> None:
        defaults = config.get("defaults") or {}
        self.default_match_type = defaults.get("match_type", "glob")
        self.rules: list[dict[str, Any]] = list(config.get("mappings") or [])
        self.fsm = _FSM()
        self.capture_counts: dict[int, int] = {}
        self.regexes: list[tuple[dict[str, Any], re.Pattern[str]]] = []
        for rule in self.rules:
            if not rule.get("name"):
                raise ValueError(f"metric mapping didn't set a metric name: {rule}")
            if rule.get("match_type", self.default_match_type) == "glob":
                if not re.fullmatch(
                    r"(\*\.|[a-zA-Z_](-?[a-zA-Z0-9_])*\.)+(\*|[a-zA-Z_](-?[a-zA-Z0-9_])*)", rule["match"]
                ):
                    raise ValueError(f"invalid match: {rule['match']}")
                self.capture_counts[id(rule)] = self.fsm.add(
                    rule["match"], rule.get("match_metric_type"), rule
                )
            else:
                self.regexes.append((rule, re.compile(rule["match"])))

    def unattached_rules(self) -> list[dict[str, Any]]:
        """Glob rules the state machine never returns: listed after a glob that already made their state."""
        attached: set[int] = set()
        pending = [self.fsm.root]
        while pending:
            state = pending.pop()
            if state.result is not None:
                attached.add(id(state.result))
            pending.extend(state.transitions.values())
        return [
            rule
            for rule in self.rules
            if rule.get("match_type", self.default_match_type) == "glob" and id(rule) not in attached
        ]

    def get_mapping(self, metric: str, kind: str) -> tuple[dict[str, Any], str, dict[str, str]] | None:
        """(rule, expanded name, rule labels) for ``metric`` of type ``kind``; None when unmapped."""
        state, captures = self.fsm.get(metric, kind)
        if state is not None and state.result is not None:
            rule = state.result
            count = self.capture_counts[id(rule)]
            labels = {k: _format_glob(str(v), captures, count) for k, v in (rule.get("labels") or {}).items()}
            return rule, _format_glob(str(rule["name"]), captures, count), labels
        for rule, pattern in self.regexes:
            found = pattern.search(metric)
            if found is None:
                continue
            if rule.get("match_metric_type") not in (None, kind):
                continue
            labels = {k: _expand_regex(str(v), found) for k, v in (rule.get("labels") or {}).items()}
            return rule, _expand_regex(str(rule["name"]), found), labels
        return None

    def sample(self, event: Event) -> Sample | None:
        """The registered sample of ``event``; None when a rule drops it (or names it empty)."""
        labels = dict(event.labels)
        mapped = self.get_mapping(event.name, event.kind)
        if mapped is None:
            return Sample(
                escape_metric_name(event.name), event.kind, tuple(sorted(labels.items())), event.name
            )
        rule, name, rule_labels = mapped
        if rule.get("action") == "drop" or not name:
            return None
        for key, value in rule_labels.items():
            if rule.get("honor_labels") and key in labels:
                continue
            labels[key] = value
        return Sample(escape_metric_name(name), event.kind, tuple(sorted(labels.items())), event.name)

    def samples(self, lines: list[str]) -> list[Sample]:
        found: list[Sample] = []
        for line in lines:
            for event in line_to_events(line):
                sample = self.sample(event)
                if sample is not None:
                    found.append(sample)
        return found


def type_conflicts(samples: list[Sample]) -> dict[str, set[str]]:
    """Names registered with two metric types (the exporter rejects the later ones)."""
    kinds: dict[str, set[str]] = {}
    for sample in samples:
        kinds.setdefault(sample.name, set()).add(sample.kind)
    return {name: found for name, found in kinds.items() if len(found) > 1}
