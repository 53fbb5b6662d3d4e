"""What the repo's exporters produce, and which metric names PromQL expressions read.

Each exporter's metric list lives in tests/data/metrics/<exporter>.txt with a header naming its
source. Names that the repo itself defines are computed from the repo, not listed: the Airflow
statsd names through base/statsd-exporter/statsd-mappings.yml (applied by the port of
statsd-exporter in tests/statsd_exporter_model.py to the lines real Airflow 2.11 sent and to
Airflow's documented list), the postgres-exporter custom queries from
base/postgres-exporter/queries.yaml, and the drift metrics from gitops-tool's own formatter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from gitops_tool.core.drift_metrics import format_drift_metrics, summary_of_statuses
from tests.statsd_exporter_model import Mapper, Sample

REPO = Path(__file__).resolve().parent.parent
METRICS_DATA = REPO / "tests" / "data" / "metrics"
STATSD_MAPPING = REPO / "base" / "statsd-exporter" / "statsd-mappings.yml"
POSTGRES_QUERIES = REPO / "base" / "postgres-exporter" / "queries.yaml"


@dataclass
class MetricList:
    name: str
    header: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def read_metric_list(path: Path) -> MetricList:
    listing = MetricList(path.stem)
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, sep, value = line.lstrip("# ").partition(":")
            if sep and re.fullmatch(r"[a-z_]+", key):
                listing.header[key] = value.strip()
            continue
        listing.lines.append(line)
    return listing


def metric_lists() -> list[MetricList]:
    return [read_metric_list(path) for path in sorted(METRICS_DATA.glob("*.txt"))]


# --- statsd-exporter --------------------------------------------------------------------------

STATSD_LINES = REPO / "tests" / "data" / "statsd" / "airflow-2.11.0-tagged.lines"
# Labels the tagging client adds to every line of a scheduler or triggerer (who sent it), not part of
# a metric's own shape: a series with them and one without are the same metric from two processes.
IDENTITY_LABELS = frozenset({"component", "node_name"})

_SAMPLE_VALUES = {
    "job_name": "SchedulerJob",
    "operator_name": "BashOperator",
    "dag_id": "example_dag",
    "task_id": "example_task",
    "state": "success",
    "dag_file": "example_dag_py",
    "pool_name": "default_pool",
    "executor_class_name": "KubernetesExecutor",
    "hostname": "triggerer-0",
}
_STATSD_TYPE = {"counter": "c", "gauge": "g", "timer": "ms"}


@dataclass(frozen=True)
class StatsdSeries:
    statsd: str
    kind: str  # counter, gauge or observer (timers)
    name: str
    labels: frozenset[str]


def statsd_mappings() -> list[dict[str, Any]]:
    mappings: list[dict[str, Any]] = yaml.safe_load(STATSD_MAPPING.read_text(encoding="utf-8"))["mappings"]
    return mappings


def statsd_mapper() -> Mapper:
    """The repo's mapping loaded the way statsd-exporter loads it (tests/statsd_exporter_model.py)."""
    return Mapper({"mappings": statsd_mappings()})


def captured_statsd_lines() -> list[str]:
    """The lines real Airflow 2.11 sent (tests/data/statsd/), comments left out."""
    text = STATSD_LINES.read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def documented_statsd_lines() -> list[str]:
    """One line per metric of Airflow's documented list (placeholders filled, no tags)."""
    lines: list[str] = []
    for line in read_metric_list(METRICS_DATA / "airflow-statsd.txt").lines:
        kind, template = line.split()
        name = "airflow." + re.sub(r"<([a-z_]+)>", lambda m: _SAMPLE_VALUES[m.group(1)], template)
        lines.append(f"{name}:1|{_STATSD_TYPE[kind]}")
    return lines


def statsd_samples(lines: list[str] | None = None) -> list[Sample]:
    """What statsd-exporter registers for ``lines`` (default: captured and documented ones)."""
    if lines is None:
        lines = captured_statsd_lines() + documented_statsd_lines()
    return statsd_mapper().samples(lines)


def statsd_series() -> list[StatsdSeries]:
    """Each Airflow statsd metric, captured or documented, through the repo's mapping (drops left out)."""
    return [
        StatsdSeries(sample.statsd, sample.kind, sample.name, sample.label_names)
        for sample in statsd_samples()
    ]


def statsd_names() -> set[str]:
    names: set[str] = set()
    for series in statsd_series():
        # Timers are summaries by default: quantile series plus _sum and _count.
        suffixes = ("", "_sum", "_count") if series.kind == "observer" else ("",)
        names.update(series.name + suffix for suffix in suffixes)
    return names


def statsd_labels() -> dict[str, set[str]]:
    """Prometheus name (summary suffixes included) -> every label name its series carry."""
    labels: dict[str, set[str]] = {}
    for series in statsd_series():
        suffixes = ("", "_sum", "_count") if series.kind == "observer" else ("",)
        for suffix in suffixes:
            extra = {"quantile"} if series.kind == "observer" and not suffix else set()
            labels.setdefault(series.name + suffix, set()).update(series.labels | extra)
    return labels


# --- postgres-exporter custom queries ---------------------------------------------------------


def postgres_query_names() -> set[str]:
    queries = yaml.safe_load(POSTGRES_QUERIES.read_text(encoding="utf-8"))
    names: set[str] = set()
    for namespace, query in queries.items():
        for column in query["metrics"]:
            ((column_name, spec),) = column.items()
            if spec["usage"] in {"GAUGE", "COUNTER"}:
                names.add(f"{namespace}_{column_name}")
    return names


def drift_names() -> set[str]:
    text = format_drift_metrics(summary_of_statuses("o", [("Pod", "in-sync")], 1.0, 1.0))
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def produced_names() -> dict[str, str]:
    """Every metric name some exporter configured in the repo produces -> where it comes from."""
    produced: dict[str, str] = {}
    for listing in metric_lists():
        if listing.name == "airflow-statsd":
            continue
        for name in listing.lines:
            produced[name] = listing.name
    produced.update(dict.fromkeys(statsd_names(), "statsd-exporter (Airflow statsd mapping)"))
    produced.update(dict.fromkeys(postgres_query_names(), "postgres-exporter queries.yaml"))
    produced.update(dict.fromkeys(drift_names(), "gitops-tool drift --metrics-file"))
    return produced


# --- PromQL -----------------------------------------------------------------------------------

# Grafana's built-in interval variables, replaced by a valid duration before parsing.
_GRAFANA_DURATIONS = re.compile(
    r"\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval)\}"
)
_GRAFANA_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def substitute_grafana_variables(expr: str) -> str:
    """Grafana template variables replaced so the query is plain PromQL."""
    expr = _GRAFANA_DURATIONS.sub("5m", expr)
    return _GRAFANA_VARIABLE.sub("x", expr)


def parse(expr: str) -> Any:
    return promql_parser.parse(substitute_grafana_variables(expr))


def metric_names(expr: str) -> set[str]:
    """Metric names every vector selector of ``expr`` reads (after Grafana substitution)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            return
        if isinstance(node, promql_parser.MatrixSelector):
            visit(node.vector_selector)
        elif isinstance(node, promql_parser.BinaryExpr):
            visit(node.lhs)
            visit(node.rhs)
        elif isinstance(node, promql_parser.AggregateExpr):
            visit(node.expr)
            if node.param is not None:
                visit(node.param)
        elif isinstance(node, promql_parser.Call):
            for arg in node.args:
                visit(arg)
        elif isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
            visit(node.expr)

    visit(parse(expr))
    return names


def label_matchers(expr: str) -> list[tuple[str, str, str]]:
    """(metric, label, value) for each equality/regex matcher in ``expr`` (for label checks)."""
    found: list[tuple[str, str, str]] = []
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", substitute_grafana_variables(expr)):
        for label, value in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=~?\s*"([^"]*)"', match.group(2)):
            found.append((match.group(1), label, value))
    return found


# --- where the repo's queries live --------------------------------------------------------------

RULES_DIR = REPO / "base" / "prometheus-rules"
DASHBOARDS_DIR = REPO / "base" / "grafana" / "dashboards"


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.rules.yaml"))


def rule_queries() -> list[tuple[str, str]]:
    """(file:alert-or-record, expr) of every rule in the repo's rule files."""
    found: list[tuple[str, str]] = []
    for path in rule_files():
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                found.append((f"{path.name}:{rule.get('alert') or rule.get('record')}", str(rule["expr"])))
    return found


def dashboards() -> dict[str, dict[str, Any]]:
    import json

    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS_DIR.glob("*.json"))
    }


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' collapsed children included."""
    found: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$")


def variable_query(variable: dict[str, Any]) -> str | None:
    """The PromQL inside a query variable (``label_values(SELECTOR, label)`` -> SELECTOR)."""
    if variable.get("type") != "query":
        return None
    query = variable.get("query")
    text = str(query.get("query", "")) if isinstance(query, dict) else str(query or "")
    match = _LABEL_VALUES.match(text.strip())
    return match.group("selector") if match else text


def dashboard_queries() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((f"{name}:{panel.get('title')}", str(target["expr"])))
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable_query(variable)
            if query:
                found.append((f"{name}:${variable['name']}", query))
    return found


def all_queries() -> list[str]:
    return [expr for _, expr in rule_queries() + dashboard_queries()]
