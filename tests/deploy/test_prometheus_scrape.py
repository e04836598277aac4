"""A real Prometheus scrapes a running service through a simulated experiment; the series come back
through Prometheus's HTTP query API, and every dashboard query evaluates there.
"""

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from porewatch.services.beamline.station import SimulatedBeamline, build_bench
from porewatch.services.config import load_config
from porewatch.services.control_room import ControlRoomSubscriber, collect_step_reports
from porewatch.services.local_stack import LocalStack, with_free_ports
from porewatch.services.ports import free_tcp_ports

pytestmark = pytest.mark.slow
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
N_ANGLES = 48


def prometheus_config(directory: Path, target: str) -> Path:
    """deploy/prometheus/prometheus.yml pointed at ``target``, scraping every 0.5 s."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="500ms", evaluation_interval="500ms")
    config["rule_files"] = [str(DEPLOY / "prometheus" / name) for name in config["rule_files"]]
    config["scrape_configs"][0]["static_configs"][0]["targets"] = [target]
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def api(base: str, path: str, **params) -> dict:
    url = f"{base}/api/v1/{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return answer["data"]


def query_value(base: str, expression: str) -> float | None:
    result = api(base, "query", query=expression)["result"]
    return float(result[0]["value"][1]) if result else None


def wait_for(base: str, expression: str, expected: float, timeout_s: float = 20.0) -> float | None:
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = query_value(base, expression)
        if value == expected:
            return value
        time.sleep(0.25)
    return value


@pytest.fixture(scope="module")
def scraped(tmp_path_factory, system_binary):
    prometheus = system_binary("prometheus", "prometheus")
    directory = tmp_path_factory.mktemp("prometheus")
    config = with_free_ports(load_config(environ={}, overrides=[
        f"tiled.directory='{directory / 'tiled'}'", "simulation.n_cols=64", f"simulation.n_angles={N_ANGLES}",
        "simulation.steps=['pristine', 'plate']", "pipeline.backend='numpy'", "rescan.policy='off'",
        "segmentation.method='otsu'",
        "web.enabled=false"]))
    with LocalStack(config) as stack:
        (port,) = free_tcp_ports(1)
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [prometheus, f"--config.file={prometheus_config(directory, f'127.0.0.1:{stack.service.metrics_port}')}",
             f"--storage.tsdb.path={directory / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=(directory / "prometheus.log").open("w"))
        try:
            _wait_ready(base, server, directory / "prometheus.log")
            assert wait_for(base, 'up{job="porewatch"}', 1.0) == 1.0
            subscriber = ControlRoomSubscriber(stack.control_room_address, ("status", "step"))
            beamline = SimulatedBeamline(build_bench(config.simulation), documents_address=stack.documents_in_address,
                                         frames_address=stack.frames_address)
            try:
                uids = beamline.run_experiment()
            finally:
                beamline.close()
            reports = collect_step_reports(subscriber, expected=len(uids), timeout_s=300, run_uids=set(uids))
            subscriber.close()
            assert wait_for(base, "porewatch_steps_completed_total", 2.0) == 2.0
            yield dict(base=base, reports=sorted(reports, key=lambda r: r["step_index"]), config=config)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_ready(base: str, server: subprocess.Popen, log: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prometheus exited with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            if urllib.request.urlopen(f"{base}/-/ready", timeout=1).status == 200:
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"prometheus not ready within {timeout_s} s")


def test_frame_counts_come_back_through_prometheus(scraped):
    base, sim = scraped["base"], scraped["config"].simulation
    assert wait_for(base, 'porewatch_frames_received_total{image_key="0"}', 2.0 * N_ANGLES) == 2 * N_ANGLES
    assert wait_for(base, 'porewatch_frames_received_total{image_key="1"}', 2.0 * sim.n_flats) == 2 * sim.n_flats
    assert query_value(base, 'sum(porewatch_frames_rejected_total)') == 0


def test_step_results_come_back_through_prometheus(scraped):
    base, plate = scraped["base"], scraped["reports"][1]
    for electrode in ("top", "bottom"):
        porosity = query_value(base, f'porewatch_porosity_ratio{{electrode="{electrode}"}}')
        assert porosity == pytest.approx(plate[electrode]["porosity"])
        hotspots = query_value(base, f'porewatch_hotspots_latest{{electrode="{electrode}"}}')
        assert hotspots == len(plate[electrode]["hotspots"])
    assert query_value(base, 'porewatch_backend_info{backend="numpy"}') == 1
    assert query_value(base, "porewatch_step_end_to_end_seconds_count") == 2
    # the bucket bound the latency alert selects exists under exactly this label value
    assert query_value(base, 'porewatch_step_end_to_end_seconds_bucket{le="120.0"}') == 2


def test_series_were_scraped_while_the_step_ran(scraped):
    base = scraped["base"]
    # frames arrived over several scrapes: the counter took more than two distinct values
    assert query_value(base, 'changes(porewatch_frames_received_total{image_key="0"}[5m])') >= 2
    assert query_value(base, 'count(porewatch_stage_duration_seconds_count)') >= 5


def test_every_dashboard_query_evaluates(scraped):
    dashboard = json.loads((DEPLOY / "grafana" / "porewatch-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            api(scraped["base"], "query", query=target["expr"])  # raises on a PromQL error
    (frame_rate,) = [p["targets"][0]["expr"] for p in dashboard["panels"] if p["title"] == "Frame rate"]
    assert api(scraped["base"], "query", query=frame_rate)["result"], "frame-rate panel would be empty"


def test_alert_rules_are_loaded_and_healthy(scraped):
    deadline = time.monotonic() + 10
    while True:
        rules = [rule for group in api(scraped["base"], "rules")["groups"] for rule in group["rules"]]
        if all(rule.get("health") == "ok" for rule in rules) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(rules) == 7
    assert {rule["health"] for rule in rules} == {"ok"}
    firing = {rule["name"] for rule in rules if rule["state"] == "firing"}
    assert "PorewatchFramesRejected" not in firing and "PorewatchDown" not in firing
