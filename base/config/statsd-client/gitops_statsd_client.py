"""A StatsD client for Airflow that tags every line with who sent it.

Airflow 2.11 loads it through ``[metrics] statsd_custom_client_path``
(AIRFLOW__METRICS__STATSD_CUSTOM_CLIENT_PATH=gitops_statsd_client.TaggedStatsClient); the file is
mounted into the container's $AIRFLOW_HOME/config, which Airflow puts on sys.path.

Why: Airflow's own constant tags (``[metrics] statsd_datadog_tags``) are only sent by its DogStatsD
logger, which needs the ``datadog`` package that the apache/airflow image does not ship. Without a
tag, two schedulers' gauges (executor.open_slots, pool.open_slots...) arrive under one name and
overwrite each other in statsd-exporter.

The tags come from the environment variable GITOPS_TOOL_STATSD_TAGS (``key=value,key=value``, e.g.
``component=scheduler,node_name=$(NODE_NAME)``) and are appended to each metric name in the InfluxDB
convention (``name,key=value:1|c``), the same convention as Airflow's own per-metric tags under
``[metrics] statsd_influxdb_enabled = True``, so statsd-exporter (which refuses lines mixing two
tagging styles) turns both into labels.
"""

from __future__ import annotations

import os

from statsd import StatsClient

TAGS_VARIABLE = "GITOPS_TOOL_STATSD_TAGS"


def constant_tags(raw: str | None = None) -> str:
    """``,key=value`` pairs for the tags in ``raw`` (default: the environment); invalid ones skipped."""
    text = os.environ.get(TAGS_VARIABLE, "") if raw is None else raw
    pairs = []
    for item in text.split(","):
        key, sep, value = item.strip().partition("=")
        if sep and key and value and not any(c in key + value for c in ",=:|#\n"):
            pairs.append(f"{key}={value}")
    return "".join("," + pair for pair in pairs)


def tag_line(line: str, tags: str) -> str:
    """``tags`` inserted after the metric name of one statsd line (``name[,tags]:value|type...``)."""
    name, sep, rest = line.partition(":")
    if not sep or not tags:
        return line
    return f"{name}{tags}:{rest}"


class TaggedStatsClient(StatsClient):
    """statsd's UDP client; every datagram's lines carry the constant tags."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._gitops_tags = constant_tags()

    def _send(self, data: str) -> None:
        # Pipelines join several lines with "\n" into one datagram: tag each of them.
        super()._send("\n".join(tag_line(line, self._gitops_tags) for line in data.split("\n")))
