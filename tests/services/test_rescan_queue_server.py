"""A detected hot spot is rescanned for real: Redis, a bluesky-queueserver RE Manager whose RunEngine
worker drives the simulated devices, and the porewatch service with ``rescan.policy = "auto"``.

The experiment (pristine, then plating) runs on a RunEngine in this process; porewatch finds hot spots
in the plating step and submits one rescan (the rate limit stops the others); the queue server runs
``roi_rescan`` with twice the projections; its documents and frames flow back into porewatch, which
stores the results inside the plating step in Tiled, linked from the hot spot.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from porewatch.services.beamline.station import SimulatedBeamline, build_bench
from porewatch.services.config import load_config, to_toml
from porewatch.services.control_room import ControlRoomSubscriber, collect_step_reports
from porewatch.services.local_stack import LocalStack, with_free_ports
from porewatch.services.ports import free_tcp_ports
from porewatch.services.rescan import AuditLog
from porewatch.services.tiled_store import TiledResultStore

pytestmark = pytest.mark.slow
QUEUE_SERVER = Path(__file__).resolve().parents[2] / "deploy" / "queue-server"
N_ANGLES = 48


def start_re_manager(directory: Path, config_path: Path, *, redis_port: int, control: int, info: int):
    command = [str(Path(sys.executable).with_name("start-re-manager")),
               "--startup-script", str(QUEUE_SERVER / "porewatch_simulated_startup.py"),
               "--user-group-permissions", str(QUEUE_SERVER / "user_group_permissions.yaml"),
               "--existing-plans-devices", str(directory / "existing_plans_and_devices.yaml"),
               "--redis-addr", f"127.0.0.1:{redis_port}", "--redis-name-prefix", "porewatch_test",
               "--zmq-control-addr", f"tcp://127.0.0.1:{control}", "--zmq-info-addr", f"tcp://127.0.0.1:{info}",
               "--zmq-publish-console", "OFF", "--use-ipython-kernel", "OFF"]
    return subprocess.Popen(command, env={**os.environ, "POREWATCH_CONFIG": str(config_path)},
                            stdout=(directory / "re-manager.log").open("w"), stderr=subprocess.STDOUT)


def open_environment(address: str, process: subprocess.Popen, log: Path):
    from bluesky_queueserver_api.zmq import REManagerAPI

    api = REManagerAPI(zmq_control_addr=address, timeout_recv=5)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"RE Manager exited with {process.returncode}: {log.read_text()[-3000:]}")
        try:
            api.status()
            break
        except Exception:
            if time.monotonic() > deadline:
                pytest.fail(f"RE Manager did not answer: {log.read_text()[-3000:]}")
            time.sleep(0.2)
    api.environment_open()
    api.wait_for_idle(timeout=60)
    assert api.status()["worker_environment_exists"], log.read_text()[-3000:]
    return api


def stop(process: subprocess.Popen | None, timeout_s: float = 30) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_completed_rescan(subscriber, timeout_s: float) -> tuple[dict, list[str]]:
    deadline = time.monotonic() + timeout_s
    events = []
    while (message := subscriber.receive(max(0.0, deadline - time.monotonic()))) is not None:
        header = message[1]
        events.append(header["event"])
        if header["event"] == "completed":
            return header, events
    pytest.fail(f"no completed rescan within {timeout_s} s; rescan events: {events}")


@pytest.fixture(scope="module")
def rescanned(tmp_path_factory, system_binary):
    redis_server = system_binary("redis-server", "redis-server")
    pytest.importorskip("bluesky_queueserver_api")
    directory = tmp_path_factory.mktemp("rescan")
    redis_port, control, info = free_tcp_ports(3)
    config = with_free_ports(load_config(environ={}, overrides=[
        f"tiled.directory='{directory / 'tiled'}'", "simulation.n_cols=64", f"simulation.n_angles={N_ANGLES}",
        "simulation.steps=['pristine', 'plate']", "pipeline.backend='numpy'", "segmentation.method='otsu'",
        "web.enabled=false", "rescan.policy='auto'", "rescan.max_per_hour=1", "rescan.angle_factor=2",
        "rescan.roi_radius_um=150.0", "rescan.timeout_s=10.0", f"rescan.queue_server='tcp://127.0.0.1:{control}'"]))
    config_path = directory / "porewatch.toml"
    config_path.write_text(to_toml(config))  # the queue server's worker reads the same configuration
    redis = subprocess.Popen([redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=(directory / "redis.log").open("w"),
                             stderr=subprocess.STDOUT)
    re_manager = None
    try:
        with LocalStack(config) as stack:
            re_manager = start_re_manager(directory, config_path, redis_port=redis_port, control=control, info=info)
            api = open_environment(f"tcp://127.0.0.1:{control}", re_manager, directory / "re-manager.log")
            rescans = ControlRoomSubscriber(stack.control_room_address, ("rescans",))
            steps = ControlRoomSubscriber(stack.control_room_address, ("status", "step"))
            beamline = SimulatedBeamline(build_bench(config.simulation), documents_address=stack.documents_in_address,
                                         frames_address=stack.frames_address)
            try:
                uids = beamline.run_experiment()
            finally:
                beamline.close()
            reports = collect_step_reports(steps, expected=len(uids), timeout_s=300, run_uids=set(uids))
            completed, events = wait_for_completed_rescan(rescans, timeout_s=300)
            api.wait_for_idle(timeout=60)  # the manager files the item in its history after the run's documents
            history = api.history_get()["items"]
            api.close()
            with TiledResultStore(stack.service.tiled_uri, api_key=stack.service.tiled_api_key) as store:
                stored_steps = store.read_cell(config.simulation.cell_id)
                key = completed["tiled_path"].rsplit("/", 1)[1]
                rescan_metadata, rescan_arrays = store.read_rescan(config.simulation.cell_id, 1, key)
            metrics = stack.service.metrics
            rescans.close()
            steps.close()
        audit = AuditLog(directory / "rescan-audit.jsonl").read()
        yield dict(reports=sorted(reports, key=lambda r: r["step_index"]), completed=completed, events=events,
                   history=history, stored_steps=stored_steps, rescan_metadata=rescan_metadata,
                   rescan_arrays=rescan_arrays, audit=audit, metrics=metrics, config=config)
    finally:
        stop(re_manager)
        stop(redis)


def test_one_hot_spot_is_submitted_and_the_others_rate_limited(rescanned):
    plate = rescanned["reports"][1]
    n_hotspots = len(plate["top"]["hotspots"]) + len(plate["bottom"]["hotspots"])
    assert n_hotspots >= 2
    decisions = [entry["decision"] for entry in rescanned["audit"]]
    assert decisions.count("submitted") == 1 and decisions.count("rate_limited") == n_hotspots - 1
    assert decisions[-1] == "completed"


def test_the_queue_server_ran_the_plan_item_with_its_metadata(rescanned):
    (item,) = rescanned["history"]
    request = rescanned["completed"]["request"]
    assert item["name"] == "roi_rescan" and item["result"]["exit_status"] == "completed"
    assert item["kwargs"]["request"]["request_id"] == request["request_id"]
    assert item["meta"]["purpose"] == "rescan"
    assert item["meta"]["hotspot_id"] == request["hotspot_id"] and item["meta"]["parent_step"] == 1


def test_rescan_documents_and_frames_flowed_back_into_porewatch(rescanned):
    metadata, config = rescanned["rescan_metadata"], rescanned["config"]
    assert metadata["purpose"] == "rescan" and metadata["rescan"]["parent_step"] == 1
    assert metadata["frames"] == {"projections": 2 * N_ANGLES, "flats": config.simulation.n_flats,
                                  "darks": config.simulation.n_darks}
    assert metadata["step_index"] == 1 and metadata["step_name"] == "plate rescan"
    plate = rescanned["reports"][1]
    for electrode in ("top", "bottom"):  # the same cell state, imaged again: the same interfaces
        assert metadata[electrode]["electrolyte_interface_z_um"] == pytest.approx(
            plate[electrode]["electrolyte_interface_z_um"], abs=2 * plate["pixel_size_m"] * 1e6)


def test_rescan_results_are_linked_to_the_hot_spot_in_tiled(rescanned):
    request, path = rescanned["completed"]["request"], rescanned["completed"]["tiled_path"]
    key = path.rsplit("/", 1)[1]
    assert path == f"{request['cell_id']}/step_001/{key}"
    plate = next(step for step in rescanned["stored_steps"] if step["step_index"] == 1)
    assert plate["rescans"] == [key]
    (spot,) = [s for s in plate[request["electrode"]]["hotspots"] if s["id"] == request["hotspot_id"]]
    assert spot["rescans"] == [key]
    others = [s for name in ("top", "bottom") for s in plate[name]["hotspots"] if s is not spot]
    assert all("rescans" not in s for s in others)
    i0, i1, j0, j1 = rescanned["rescan_metadata"]["roi_index"]
    volume, labels = rescanned["rescan_arrays"]["volume"], rescanned["rescan_arrays"]["labels"]
    assert volume.shape == labels.shape == (volume.shape[0], i1 - i0, j1 - j0)
    assert i1 - i0 <= 2 * 150.0 / (plate["pixel_size_m"] * 1e6) + 2


def test_decisions_are_counted_for_prometheus(rescanned):
    values = {s.labels["decision"]: s.value for family in rescanned["metrics"].registry.collect()
              if family.name == "porewatch_rescan_decisions" for s in family.samples if s.name.endswith("_total")}
    assert values["submitted"] == 1 and values["completed"] == 1 and values["failed"] == 0
