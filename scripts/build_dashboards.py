"""Write the Grafana dashboards of base/grafana/dashboards/ from the panel lists below.

    .venv/bin/python scripts/build_dashboards.py

The JSON files are what Grafana loads (provisioned from files, read-only); this script is how they
are edited, so panel ids, grid positions and the datasource stay consistent. tests/test_dashboards.py
checks that the committed files equal this script's output.

Panels that list schedulers never name scheduler-1 or scheduler-2: they match the Deployment name
pattern (airflow-scheduler-N) or the $scheduler variable, so `gitops-tool add-scheduler 3` shows up
without a dashboard edit.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "base" / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # base/grafana/datasources.yaml
NS = 'namespace="airflow"'
SCHEDULERS = 'deployment=~"airflow-scheduler-[0-9]+"'
WORKER = 'label_kubernetes_executor="True"'
# Containers only: cAdvisor also reports the pod sandbox ("POD"/"") and the pod cgroup itself.
CONTAINERS = f'{NS}, container!="", container!="POD"'


def running_workers(pod_info_filter: str = "") -> str:
    """Running KubernetesExecutor worker pods, one series per pod carrying its node."""
    return (
        f'(kube_pod_status_phase{{{NS}, phase="Running"}} == 1)'
        f" * on (namespace, pod) group_left (node) kube_pod_info{{{NS}{pod_info_filter}}}"
        f" * on (namespace, pod) group_left () kube_pod_labels{{{NS}, {WORKER}}}"
    )


RUNNING_WORKERS = running_workers()
ROLE = "label_node_role_kubernetes_io_airflow"
HEARTBEAT_AGE = 'max by (scheduler) (airflow_db_scheduler_heartbeat_age_seconds{scheduler=~"$scheduler"})'
RATE = "$__rate_interval"


@dataclass
class Target:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass
class Panel:
    title: str
    targets: list[Target]
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    max_value: float | None = None


@dataclass
class Row:
    title: str


def _variable(name: str, label: str, selector: str, by: str, regex: str = "") -> dict[str, Any]:
    query = f"label_values({selector}, {by})"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-variable"},
        "definition": query,
        "refresh": 2,
        "regex": regex,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    targets = []
    for index, target in enumerate(panel.targets):
        item: dict[str, Any] = {
            "refId": chr(ord("A") + index),
            "datasource": DATASOURCE,
            "expr": target.expr,
            "legendFormat": target.legend,
        }
        if target.instant or panel.kind == "table":
            item.update({"instant": True, "range": False, "format": "table"})
        targets.append(item)
    defaults: dict[str, Any] = {"unit": panel.unit}
    if panel.max_value is not None:
        defaults["max"] = panel.max_value
        defaults["min"] = 0
    result: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": panel.options,
    }
    if panel.description:
        result["description"] = panel.description
    return result


def dashboard(
    uid: str, title: str, tags: list[str], variables: list[dict[str, Any]], items: list[Panel | Row]
) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    x = y = row_height = 0
    for panel_id, item in enumerate(items, start=1):
        if isinstance(item, Row):
            y += row_height
            x = row_height = 0
            panels.append(
                {
                    "id": panel_id,
                    "type": "row",
                    "title": item.title,
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                    "panels": [],
                }
            )
            y += 1
            continue
        if x + item.width > 24:
            y += row_height
            x = row_height = 0
        panels.append(_panel_json(item, panel_id, x, y))
        x += item.width
        row_height = max(row_height, item.height)
    return {
        "uid": uid,
        "title": title,
        "tags": tags,
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "timezone": "browser",
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": variables},
        "panels": panels,
    }


_STAT = {
    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    "colorMode": "background",
}
_SCHEDULER_VAR = _variable(
    "scheduler",
    "Scheduler",
    f"kube_deployment_spec_replicas{{{NS}, {SCHEDULERS}}}",
    "deployment",
)
_NODE_VAR = _variable("node", "Node", "kube_node_info", "node")


def basic() -> dict[str, Any]:
    items: list[Panel | Row] = [
        Row("Nodes"),
        Panel(
            "CPU usage per node",
            [
                Target(
                    '100 * (1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle", node=~"$node"}'
                    "[$__rate_interval])))",
                    "{{node}}",
                )
            ],
            unit="percent",
            max_value=100,
            description="node-exporter: share of CPU time not idle, per node.",
        ),
        Panel(
            "Memory usage per node",
            [
                Target(
                    '100 * (1 - node_memory_MemAvailable_bytes{node=~"$node"}'
                    ' / node_memory_MemTotal_bytes{node=~"$node"})',
                    "{{node}}",
                )
            ],
            unit="percent",
            max_value=100,
            description="node-exporter: memory in use (total minus available), per node.",
        ),
        Row("Pods"),
        Panel(
            "CPU usage per pod",
            [
                Target(
                    f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{CONTAINERS}}}[{RATE}]))",
                    "{{pod}}",
                )
            ],
            unit="cores",
            description="cAdvisor (kubelet): CPU cores used by the containers of each airflow pod.",
        ),
        Panel(
            "Memory usage per pod",
            [Target(f"sum by (pod) (container_memory_working_set_bytes{{{CONTAINERS}}})", "{{pod}}")],
            unit="bytes",
            description="cAdvisor (kubelet): working set (what the OOM killer counts) of each pod.",
        ),
        Row("Schedulers and workers"),
        Panel(
            "Scheduler up",
            [
                Target(
                    f"{HEARTBEAT_AGE} < bool 60",
                    "{{scheduler}}",
                )
            ],
            kind="stat",
            width=8,
            options={**_STAT, "textMode": "value_and_name"},
            description="1 when the scheduler heartbeated in the Airflow job table in the last 60 s "
            "(postgres-exporter), per scheduler.",
        ),
        Panel(
            "Scheduler replicas available",
            [
                Target(
                    f'kube_deployment_status_replicas_available{{{NS}, deployment=~"$scheduler"}}',
                    "{{deployment}}",
                )
            ],
            kind="stat",
            width=8,
            options={**_STAT, "textMode": "value_and_name"},
            description="kube-state-metrics: available replicas of each airflow-scheduler-N Deployment.",
        ),
        Panel(
            "Active workers",
            [Target(f"sum({RUNNING_WORKERS}) or vector(0)", "running worker pods")],
            kind="stat",
            width=8,
            options=_STAT,
            description="kube-state-metrics: KubernetesExecutor worker pods (label kubernetes_executor=True) "
            "in phase Running.",
        ),
        Panel(
            "Running worker pods per node",
            [
                Target(
                    f"sum by (node) ({running_workers(', node=~' + chr(34) + '$node' + chr(34))})", "{{node}}"
                )
            ],
            description="kube-state-metrics: running KubernetesExecutor worker pods on each node.",
        ),
        Panel(
            "Scheduler heartbeat age",
            [
                Target(
                    HEARTBEAT_AGE,
                    "{{scheduler}}",
                )
            ],
            unit="s",
            description="postgres-exporter: seconds since each scheduler's last heartbeat (job table).",
        ),
    ]
    return dashboard(
        "airflow-kubernetes-metrics",
        "Airflow Kubernetes Metrics",
        ["airflow", "kubernetes"],
        [_NODE_VAR, _SCHEDULER_VAR],
        items,
    )


def advanced() -> dict[str, Any]:
    dag_var = _variable("dag_id", "DAG", "airflow_dagrun_duration_count", "dag_id")
    rate = RATE
    dag = 'dag_id=~"$dag_id"'
    items: list[Panel | Row] = [
        Row("DAG performance"),
        Panel(
            "DAG run duration (average, successful runs)",
            [
                Target(
                    f'sum by (dag_id) (rate(airflow_dagrun_duration_sum{{dag_id=~"$dag_id"}}[{rate}]))'
                    f' / sum by (dag_id) (rate(airflow_dagrun_duration_count{{dag_id=~"$dag_id"}}[{rate}]))',
                    "{{dag_id}}",
                )
            ],
            unit="s",
            description="statsd dagrun.duration.success.<dag_id> (the chart's airflow_dagrun_duration).",
        ),
        Panel(
            "DAG run duration p90",
            [
                Target(
                    'max by (dag_id) (airflow_dagrun_duration{quantile="0.9", dag_id=~"$dag_id"})',
                    "{{dag_id}}",
                )
            ],
            unit="s",
        ),
        Panel(
            "Failed DAG runs (1h)",
            [
                Target(
                    'sum by (dag_id) (increase(airflow_dagrun_failed_count{dag_id=~"$dag_id"}[1h]))',
                    "{{dag_id}}",
                )
            ],
            description="statsd dagrun.duration.failed.<dag_id>: one sample per failed run.",
        ),
        Panel(
            "Successful DAG runs (1h)",
            [
                Target(
                    'sum by (dag_id) (increase(airflow_dagrun_duration_count{dag_id=~"$dag_id"}[1h]))',
                    "{{dag_id}}",
                )
            ],
        ),
        Panel(
            "DAG schedule delay p90",
            [
                Target(
                    'max by (dag_id) (airflow_dagrun_schedule_delay{quantile="0.9", dag_id=~"$dag_id"})',
                    "{{dag_id}}",
                )
            ],
            unit="s",
        ),
        Panel(
            "DAG file parse time",
            [Target("max(airflow_dag_processing_total_parse_time)", "total parse time")],
            unit="s",
        ),
        Row("Task instances"),
        Panel(
            "Task instances by state (now)",
            [Target("sum by (state) (airflow_db_task_instances_count)", "{{state}}")],
            description="postgres-exporter: task_instance rows per live state.",
        ),
        Panel(
            "Finished task instances by state",
            [Target(f'sum by (state) (rate(airflow_ti_finish{{dag_id=~"$dag_id"}}[{rate}]))', "{{state}}")],
            unit="ops",
        ),
        Panel(
            "Task failures and successes",
            [
                Target(f"sum(rate(airflow_ti_failures[{rate}]))", "failures"),
                Target(f"sum(rate(airflow_ti_successes[{rate}]))", "successes"),
            ],
            unit="ops",
        ),
        Panel(
            "Task duration (average)",
            [
                Target(
                    f"sum by (dag_id, task_id) (rate(airflow_task_duration_sum{{{dag}}}[{rate}]))"
                    f" / sum by (dag_id, task_id) (rate(airflow_task_duration_count{{{dag}}}[{rate}]))",
                    "{{dag_id}}.{{task_id}}",
                )
            ],
            unit="s",
        ),
        Row("Pools and executor"),
        Panel(
            "Pool slots",
            [
                Target("max by (pool) (airflow_pool_open_slots)", "{{pool}} open"),
                Target("max by (pool) (airflow_pool_running_slots)", "{{pool}} running"),
                Target("max by (pool) (airflow_pool_queued_slots)", "{{pool}} queued"),
                Target("max by (pool) (airflow_pool_starving_tasks)", "{{pool}} starving"),
            ],
            description="statsd pool.*.<pool>: every scheduler reports the same pools (one series per "
            "scheduler, label node_name), hence max, not sum.",
        ),
        Panel(
            "Executor slots per scheduler",
            [
                Target(
                    'sum by (node_name) (airflow_executor_open_slots{component="scheduler"})',
                    "{{node_name}} open",
                ),
                Target(
                    'sum by (node_name) (airflow_executor_queued_tasks{component="scheduler"})',
                    "{{node_name}} queued",
                ),
                Target(
                    'sum by (node_name) (airflow_executor_running_tasks{component="scheduler"})',
                    "{{node_name}} running",
                ),
            ],
            description="statsd executor.*: each scheduler's own executor, told apart by the node_name tag "
            "its statsd client adds (base/config/statsd-client).",
        ),
        Row("Schedulers"),
        Panel(
            "Scheduler loop duration (average)",
            [
                Target(
                    f"sum(rate(airflow_scheduler_scheduler_loop_duration_sum[{rate}]))"
                    f" / sum(rate(airflow_scheduler_scheduler_loop_duration_count[{rate}]))",
                    "loop",
                ),
                Target(
                    f"sum(rate(airflow_scheduler_critical_section_duration_sum[{rate}]))"
                    f" / sum(rate(airflow_scheduler_critical_section_duration_count[{rate}]))",
                    "critical section",
                ),
            ],
            unit="s",
        ),
        Panel(
            "Scheduler heartbeat age",
            [
                Target(
                    HEARTBEAT_AGE,
                    "{{scheduler}}",
                )
            ],
            unit="s",
            description="postgres-exporter: per scheduler, from the Airflow job table.",
        ),
        Panel(
            "Scheduler heartbeats",
            [
                Target(
                    "sum by (node_name) "
                    f'(rate(airflow_scheduler_heartbeat{{component="scheduler"}}[{rate}]))',
                    "{{node_name}}",
                )
            ],
            unit="ops",
            description="statsd scheduler_heartbeat per scheduler (label node_name: the scheduler's node).",
        ),
        Panel(
            "Critical section busy",
            [Target(f"sum(rate(airflow_scheduler_critical_section_busy[{rate}]))", "busy")],
            unit="ops",
            description="A scheduler found the critical section locked by another: expected with several "
            "schedulers, a sustained high rate means they contend.",
        ),
        Row("Triggerers"),
        Panel(
            "Triggerer heartbeats",
            [
                Target(
                    "sum by (node_name) "
                    f'(rate(airflow_triggerer_heartbeat{{component="triggerer"}}[{rate}]))',
                    "{{node_name}}",
                )
            ],
            unit="ops",
            description="statsd triggerer_heartbeat per triggerer (label node_name). A flat line: that "
            "triggerer stopped (alerts AirflowTriggererHeartbeatStopped, AirflowNoTriggererHeartbeat).",
        ),
        Panel(
            "Running triggers",
            [Target('sum by (node_name) (airflow_triggers_running{component="triggerer"})', "{{node_name}}")],
            description="statsd triggers.running: triggers each triggerer runs now (deferred tasks waiting).",
        ),
        Row("Database"),
        Panel(
            "PostgreSQL connections",
            [
                Target("sum(pg_stat_database_numbackends)", "connections"),
                Target("max(pg_settings_max_connections)", "max_connections"),
            ],
        ),
        Panel(
            "Database size",
            [Target('max by (datname) (pg_database_size_bytes{datname="airflow"})', "{{datname}}")],
            unit="bytes",
        ),
        Panel(
            "Locks by mode",
            [Target('sum by (mode) (pg_locks_count{datname="airflow"})', "{{mode}}")],
        ),
        Panel(
            "Transactions and deadlocks",
            [
                Target(f'sum(rate(pg_stat_database_xact_commit{{datname="airflow"}}[{rate}]))', "commits"),
                Target(
                    f'sum(rate(pg_stat_database_xact_rollback{{datname="airflow"}}[{rate}]))', "rollbacks"
                ),
                Target(f'sum(rate(pg_stat_database_deadlocks{{datname="airflow"}}[{rate}]))', "deadlocks"),
            ],
            unit="ops",
        ),
        Panel("PostgreSQL up", [Target("max(pg_up)", "up")], kind="stat", width=6, options=_STAT),
        Row("NFS storage"),
        Panel(
            "NFS volume usage",
            [
                Target(
                    f"max by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{{NS}}})"
                    f" / max by (persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{{{NS}}})"
                    f" * on (persistentvolumeclaim) group_left () max by (persistentvolumeclaim) "
                    f'(kube_persistentvolumeclaim_info{{{NS}, storageclass="nfs-client"}})',
                    "{{persistentvolumeclaim}}",
                )
            ],
            unit="percentunit",
            max_value=1,
            description="kubelet volume stats of the nfs-client PVCs (usage of the exported filesystem).",
        ),
        Panel(
            "NFS volume used bytes",
            [
                Target(
                    f"max by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{{NS}}})",
                    "{{persistentvolumeclaim}}",
                )
            ],
            unit="bytes",
        ),
        Row("Pod placement"),
        Panel(
            "Pods per node role",
            [
                Target(
                    f"count by ({ROLE}) (kube_pod_info{{{NS}}}"
                    f" * on (node) group_left ({ROLE}) kube_node_labels)",
                    f"{{{{{ROLE}}}}}",
                )
            ],
            description="kube-state-metrics: pods of namespace airflow by the role label of their node.",
        ),
        Panel(
            "Running worker pods per node role",
            [
                Target(
                    f"sum by ({ROLE}) (({RUNNING_WORKERS}) * on (node) group_left ({ROLE}) kube_node_labels)",
                    f"{{{{{ROLE}}}}}",
                )
            ],
        ),
        Panel(
            "Pod placement",
            [
                Target(
                    f"max by (pod, node, {ROLE}, created_by_name) (kube_pod_info{{{NS}}}"
                    f" * on (node) group_left ({ROLE}) kube_node_labels)",
                )
            ],
            kind="table",
            width=24,
            height=10,
            description="Which node (and node role) runs each pod of namespace airflow.",
        ),
        Panel(
            "CPU per node role",
            [
                Target(
                    f"sum by ({ROLE}) (rate(container_cpu_usage_seconds_total{{{CONTAINERS}}}[{rate}])"
                    f" * on (node) group_left ({ROLE}) kube_node_labels)",
                    "{{" + ROLE + "}} cpu",
                ),
            ],
            unit="cores",
        ),
    ]
    return dashboard(
        "airflow-advanced-kubernetes-metrics",
        "Airflow Advanced Kubernetes Metrics",
        ["airflow", "kubernetes", "advanced"],
        [dag_var, _SCHEDULER_VAR],
        items,
    )


def drift() -> dict[str, Any]:
    overlay_var = _variable("overlay", "Overlay", "gitops_drift_last_audit_timestamp_seconds", "overlay")
    sel = 'overlay=~"$overlay"'
    items: list[Panel | Row] = [
        Panel(
            "Drifted resources",
            [Target(f"max by (overlay) (gitops_drift_drifted_resources{{{sel}}})", "{{overlay}}")],
            kind="stat",
            width=6,
            options={**_STAT, "textMode": "value_and_name"},
            description="Modified, missing or extra resources in the last `gitops-tool drift` audit.",
        ),
        Panel(
            "Last audit",
            [
                Target(
                    f"time() - max by (overlay) (gitops_drift_last_audit_timestamp_seconds{{{sel}}})",
                    "{{overlay}}",
                )
            ],
            kind="stat",
            width=6,
            unit="s",
            options=_STAT,
        ),
        Panel(
            "Audit duration",
            [Target(f"max by (overlay) (gitops_drift_audit_duration_seconds{{{sel}}})", "{{overlay}}")],
            kind="stat",
            width=6,
            unit="s",
            options=_STAT,
        ),
        Panel(
            "Audit errors",
            [Target(f"max by (overlay) (gitops_drift_audit_errors{{{sel}}})", "{{overlay}}")],
            kind="stat",
            width=6,
            options=_STAT,
        ),
        Panel(
            "Resources by drift status",
            [
                Target(
                    f"sum by (status) (max by (overlay, kind, status) (gitops_drift_resources{{{sel}}}))",
                    "{{status}}",
                )
            ],
        ),
        Panel(
            "Drifted resources by kind",
            [
                Target(
                    "max by (overlay, kind, status)"
                    f' (gitops_drift_resources{{{sel}, status!="in-sync"}}) > 0',
                )
            ],
            kind="table",
        ),
    ]
    return dashboard("gitops-drift", "GitOps drift", ["gitops", "drift"], [overlay_var], items)


DASHBOARDS = {
    "airflow-kubernetes-metrics.json": basic,
    "airflow-advanced-kubernetes-metrics.json": advanced,
    "gitops-drift.json": drift,
}


def render_all() -> dict[str, str]:
    return {name: json.dumps(build(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
