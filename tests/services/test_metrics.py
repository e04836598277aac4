"""Prometheus metrics: the names the dashboards rely on, served over HTTP, and a clean stop."""

import urllib.error
import urllib.request

import pytest

from porewatch.services.metrics import ServiceMetrics

REQUIRED = ("porewatch_frames_received_total", "porewatch_frames_rejected_total",
            "porewatch_stage_duration_seconds_bucket", "porewatch_step_end_to_end_seconds_count",
            "porewatch_queue_depth", "porewatch_porosity_ratio", "porewatch_hotspots_detected_total")


def test_metrics_are_served_over_http_with_conventional_names():
    metrics = ServiceMetrics()
    port = metrics.start("127.0.0.1", 0)
    try:
        metrics.frames_received.labels(image_key="0").inc(3)
        metrics.stage_duration.labels(stage="reconstruct").observe(0.4)
        metrics.queue_depth.labels(queue="steps").set(1)
        metrics.porosity.labels(electrode="top").set(0.02)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        metrics.stop()
    for name in REQUIRED:
        assert name in text, name
    assert 'porewatch_frames_received_total{image_key="0"} 3.0' in text
    assert "_created" not in text
    samples = [line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")]
    assert all(name.startswith("porewatch_") for name in samples)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_two_services_have_independent_registries():
    first, second = ServiceMetrics(), ServiceMetrics()
    first.hotspots_detected.inc()
    assert second.hotspots_detected._value.get() == 0
