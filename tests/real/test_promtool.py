"""The alert rules and the Prometheus configuration, checked by the real promtool (Debian's package).

- `promtool check rules` on every rules file of base/prometheus-rules;
- `promtool test rules` on tests/real/promtool/*.test.yaml, which must hold, for EVERY alert of
  those files, a case where it fires and a case where it must stay silent;
- `promtool check config` on base/prometheus/prometheus.yml with its Kubernetes service discovery
  swapped for static targets: Debian's promtool is built without Kubernetes service discovery and
  rejects `kubernetes_sd_configs`, so the variant keeps every other setting (jobs, relabelling,
  TLS, authorisation, rule_files) and only the discovery is replaced.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import metrics_catalog as catalog
from tests.real.servers import promtool

TESTS_DIR = Path(__file__).resolve().parent / "promtool"
PROMETHEUS_CONFIG = catalog.REPO / "base" / "prometheus" / "prometheus.yml"


def _promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def _test_files() -> list[Path]:
    return sorted(TESTS_DIR.glob("*.test.yaml"))


def _alerts() -> dict[str, str]:
    """Every alert name -> its rules file."""
    found: dict[str, str] = {}
    for path in catalog.rule_files():
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = path.name
    return found


@pytest.mark.parametrize("path", catalog.rule_files(), ids=lambda p: p.name)
def test_promtool_check_rules(path: Path) -> None:
    result = _promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("path", _test_files(), ids=lambda p: p.name)
def test_promtool_test_rules(path: Path) -> None:
    result = _promtool("test", "rules", path.name, cwd=path.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rules_file_is_tested_by_its_own_test_file() -> None:
    tested = set()
    for path in _test_files():
        for rule_file in yaml.safe_load(path.read_text(encoding="utf-8"))["rule_files"]:
            tested.add((path.parent / rule_file).resolve())
    assert {p.resolve() for p in catalog.rule_files()} <= tested


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in _test_files():
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = _alerts()
    assert len(alerts) >= 20
    required = {"NfsServerDown", "NfsVolumeMountFailing", "AirflowNoTriggererHeartbeat", "PostgresDown"}
    assert required <= set(alerts)
    assert sorted(set(alerts) - firing) == [], "alerts without a firing case"
    assert sorted(set(alerts) - silent) == [], "alerts without a silent case"
    assert sorted((firing | silent) - set(alerts)) == [], "cases for alerts that do not exist"


def test_a_broken_rule_fails_its_test(tmp_path: Path) -> None:
    """The test files catch a rule that no longer fires: PostgresDown without its absent() guard."""
    rules = yaml.safe_load((catalog.RULES_DIR / "postgres.rules.yaml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "PostgresDown":
                rule["expr"] = 'pg_up == 0 or up{job="postgres-exporter"} == 0'
    (tmp_path / "postgres.rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    test = yaml.safe_load((TESTS_DIR / "postgres.test.yaml").read_text(encoding="utf-8"))
    test["rule_files"] = ["postgres.rules.yaml"]
    (tmp_path / "postgres.test.yaml").write_text(yaml.safe_dump(test), encoding="utf-8")
    result = _promtool("test", "rules", "postgres.test.yaml", cwd=tmp_path)
    assert result.returncode != 0
    assert "PostgresDown" in result.stdout + result.stderr


def _static_variant(config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """``config`` with every kubernetes_sd_configs replaced by a static target and file paths local."""
    variant = copy.deepcopy(config)
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for path in catalog.rule_files():
        (rules_dir / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    variant["rule_files"] = [str(rules_dir / "*.rules.yaml")]
    token = tmp_path / "token"
    token.write_text("token\n", encoding="utf-8")
    ca = tmp_path / "ca.crt"
    ca.write_text("", encoding="utf-8")
    for job in variant["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": ["127.0.0.1:9"]}]
        if "credentials_file" in job.get("authorization", {}):
            job["authorization"]["credentials_file"] = str(token)
        if "ca_file" in job.get("tls_config", {}):
            job["tls_config"]["ca_file"] = str(ca)
    return variant


def test_promtool_check_config_on_a_static_target_variant(tmp_path: Path) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    assert any("kubernetes_sd_configs" in job for job in config["scrape_configs"])
    variant = tmp_path / "prometheus.yml"
    variant.write_text(yaml.safe_dump(_static_variant(config, tmp_path)), encoding="utf-8")
    result = _promtool("check", "config", str(variant))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(catalog.rule_files())} rule files found" in result.stdout + result.stderr
