"""deploy/grafana and the alert rules use only metric names and labels the service really exports."""

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram

from porewatch.services.metrics import ServiceMetrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCRAPE_LABELS = {"job", "instance"}
METRIC = re.compile(r"\b(porewatch_[a-z_]+)\b(?:\{([^}]*)\})?")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def exported() -> dict[str, set[str]]:
    """Series names of every metric a service exposes, with the labels each may carry."""
    series = {}
    for metric in vars(ServiceMetrics()).values():
        if not isinstance(metric, (Counter, Gauge, Histogram)):
            continue
        labels = set(metric._labelnames) | SCRAPE_LABELS
        if isinstance(metric, Counter):
            series[metric._name + "_total"] = labels
        elif isinstance(metric, Gauge):
            series[metric._name] = labels
        else:
            series.update({metric._name + "_bucket": labels | {"le"}, metric._name + "_sum": labels,
                           metric._name + "_count": labels})
    return series


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "porewatch-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "porewatch-alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def check_expression(expression: str, series: dict[str, set[str]]) -> set[str]:
    """The porewatch series an expression reads; asserts each exists and carries the labels used."""
    used = set()
    for name, matchers in METRIC.findall(expression):
        assert name in series, f"{name} (in {expression!r}) is not exported by the service"
        for label in re.findall(r"([a-zA-Z_]+)\s*[=!]~?", matchers):
            assert label in series[name], f"{name} has no label {label!r} (in {expression!r})"
        used.add(name)
    for grouping in GROUPING.findall(expression):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            assert any(label in series[name] for name in used), f"no series in {expression!r} has {label!r}"
    return used


def test_exported_names_include_the_documented_ones():
    series = exported()
    for name in ("porewatch_frames_received_total", "porewatch_stage_duration_seconds_bucket",
                 "porewatch_queue_depth", "porewatch_porosity_ratio", "porewatch_backend_info"):
        assert name in series


@pytest.mark.parametrize("expression", dashboard_expressions())
def test_dashboard_queries_use_exported_metrics_and_labels(expression):
    assert check_expression(expression, exported())


@pytest.mark.parametrize("expression", alert_expressions())
def test_alert_rules_use_exported_metrics_and_labels(expression):
    series = exported()
    if expression.startswith("up{"):
        return  # Prometheus's own scrape health series
    assert check_expression(expression, series)


def test_dashboard_shows_what_the_control_room_asked_for():
    series = exported()
    used = set().union(*(check_expression(e, series) for e in dashboard_expressions()))
    wanted = {"frame rate": "porewatch_frames_received_total",
              "stage latencies": "porewatch_stage_duration_seconds_bucket",
              "queue depth": "porewatch_queue_depth", "porosity per electrode": "porewatch_porosity_ratio",
              "hot spots": "porewatch_hotspots_latest", "backend": "porewatch_backend_info"}
    missing = {what: name for what, name in wanted.items() if name not in used}
    assert not missing


def test_dashboard_panels_are_well_formed():
    dashboard = json.loads((DEPLOY / "grafana" / "porewatch-dashboard.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"] and panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
    assert dashboard["__inputs"][0]["name"] == "DS_PROMETHEUS"


def test_bad_expression_is_caught():
    with pytest.raises(AssertionError, match="not exported"):
        check_expression("rate(porewatch_frames_recieved_total[1m])", exported())
    with pytest.raises(AssertionError, match="no label"):
        check_expression('porewatch_porosity_ratio{stage="x"}', exported())
