"""deploy/prometheus: promtool accepts the configuration and the rules, and the rule unit tests pass."""

import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


@pytest.fixture(scope="module")
def promtool(system_binary):
    return system_binary("promtool", "prometheus")


def _promtool(promtool, *args):
    result = subprocess.run([promtool, *args], cwd=DEPLOY, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_alert_rules_pass_promtool_check(promtool):
    output = _promtool(promtool, "check", "rules", "porewatch-alerts.yml")
    assert "SUCCESS: 7 rules found" in output


def test_scrape_configuration_passes_promtool_check(promtool):
    _promtool(promtool, "check", "config", "prometheus.yml")


def test_every_alert_fires_when_it_should_and_not_before(promtool):
    _promtool(promtool, "test", "rules", "porewatch-alerts.test.yml")


def test_every_alert_has_a_unit_test():
    import yaml

    rules = yaml.safe_load((DEPLOY / "porewatch-alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((DEPLOY / "porewatch-alerts.test.yml").read_text())
    tested = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert alerts == tested
    assert {"PorewatchFramesRejected", "PorewatchStepLatencyOverBudget", "PorewatchQueueSaturated",
            "PorewatchPorosityJump", "PorewatchRescansFailing"} <= alerts
