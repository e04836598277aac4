"""The whole stream on a tiny cell: RunEngine -> 0MQ proxy -> service -> Tiled + control room + Prometheus.

One experiment (pristine, then a plating step large enough to move the interfaces several voxels)
runs once for the module; malformed messages are injected into the frame stream while the
plating step is being scanned. Every check below reads the real components' outputs.
"""

import json
import logging
import time
import urllib.request

import numpy as np
import pytest

from porewatch.kernels import simulate
from porewatch.kernels.constants import FARADAY_C_PER_MOL, MOLAR_VOLUME_LI_M3_PER_MOL
from porewatch.services.beamline.devices import SimulatedCellBench
from porewatch.services.beamline.frame_sender import FrameSender
from porewatch.services.beamline.station import SimulatedBeamline
from porewatch.services.config import load_config
from porewatch.services.control_room import ControlRoomSubscriber, collect_step_reports
from porewatch.services.local_stack import LocalStack, with_free_ports
from porewatch.services.tiled_store import TiledResultStore
from porewatch.services.wire import ImageKey, encode_frame

pytestmark = pytest.mark.slow
CELL_ID = "e2e-cell"
N_COLS, N_ANGLES = 64, 90


class RecordingHandler(logging.Handler):
    """Keeps the messages logged by the service while the experiment runs."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class MalformedFrameInjector:
    """RunEngine callback: on the first event of the plating run, sends four bad messages."""

    def __init__(self, address: str):
        self.sender = FrameSender(address)
        self.sent = False

    def __call__(self, name, doc):
        if name == "start" and doc.get("step_name") == "plate":
            self.run_uid, self.shape = doc["uid"], tuple(doc["detector_shape"])
        if name == "event" and not self.sent and getattr(self, "run_uid", None):
            self.sent = True
            good = np.zeros(self.shape, np.uint16)
            header, _ = encode_frame(good, run_uid=self.run_uid, frame_index=10_000, image_key=ImageKey.PROJECTION,
                                     angle_deg=1.0)
            wrong_shape = encode_frame(np.zeros((3, 3), np.uint16), run_uid=self.run_uid, frame_index=10_001,
                                       image_key=ImageKey.PROJECTION, angle_deg=2.0)
            unknown_run = encode_frame(good, run_uid="no-such-run", frame_index=0, image_key=ImageKey.PROJECTION,
                                       angle_deg=3.0)
            for parts in ([header, good.tobytes()[:-7]], [b"{not json", b"\x00"], wrong_shape, unknown_run):
                self.sender.send_raw(parts)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    directory = tmp_path_factory.mktemp("e2e")
    config = with_free_ports(load_config(environ={}, overrides=[
        f"tiled.directory='{directory / 'tiled'}'", "ingest.unknown_run_grace_s=1.0", "segmentation.method='otsu'"]))
    # thick foils and collectors, so that a plating step of several voxels fits hot spots included
    cell = simulate.CellSpec(seed=11, lithium_thickness_m=220e-6, steel_thickness_m=220e-6,
                             hot_spots_per_electrode=(1, 1), hot_spot_gain_range=(1.5, 2.0))
    detector = simulate.DetectorSpec.for_cell(cell, n_cols=N_COLS, n_angles=N_ANGLES, n_flats=4, n_darks=3)
    # ~2.5 voxels of mean thickness change on each electrode
    duration_s = 2.5 * detector.pixel_size_m * FARADAY_C_PER_MOL / (1.0 * MOLAR_VOLUME_LI_M3_PER_MOL)
    steps = [simulate.GalvanostaticStep("pristine", 0.0, 0.0), simulate.GalvanostaticStep("plate", 1.0, duration_s)]
    bench = SimulatedCellBench(cell, detector, steps, cell_id=CELL_ID)
    handler = RecordingHandler()
    logging.getLogger("porewatch.services").addHandler(handler)
    with LocalStack(config) as stack:
        subscriber = ControlRoomSubscriber(stack.control_room_address, ("status", "step", "current_density"))
        beamline = SimulatedBeamline(bench, documents_address=stack.documents_in_address,
                                     frames_address=stack.frames_address)
        injector = MalformedFrameInjector(stack.frames_address)
        beamline.run_engine.subscribe(injector)
        try:
            uids = beamline.run_experiment()
        finally:
            beamline.close()
            injector.sender.close()
        reports = collect_step_reports(subscriber, expected=len(uids), timeout_s=600, run_uids=set(uids))
        subscriber.close()
        url = f"http://{config.network.host}:{stack.service.metrics_port}/metrics"
        # the unknown-run frame is only rejected once its grace period is over, which can be after the reports
        metrics = _scrape_until_rejected(url, "unknown_run", timeout_s=30)
        with TiledResultStore(stack.service.tiled_uri, api_key=stack.service.tiled_api_key) as store:
            stored = store.read_cell(CELL_ID)
            stored_map = store.read_array(CELL_ID, 1, "top_current_density")
    logging.getLogger("porewatch.services").removeHandler(handler)
    truths = [simulate.ground_truth(state, detector) for state in bench.states]
    return dict(bench=bench, uids=uids, reports=sorted(reports, key=lambda r: r.get("step_index", -1)),
                metrics=metrics, log=handler.messages, stored=stored, stored_map=stored_map, truths=truths, pixel_um=detector.pixel_size_m * 1e6)


def _scrape_until_rejected(url: str, reason: str, *, timeout_s: float) -> str:
    """Scrapes ``url`` until a frame rejected for ``reason`` is counted, or ``timeout_s`` is over."""
    deadline = time.monotonic() + timeout_s
    while True:
        metrics = urllib.request.urlopen(url, timeout=10).read().decode()
        if _sample(metrics, "porewatch_frames_rejected_total", reason=reason) > 0 or time.monotonic() > deadline:
            return metrics
        time.sleep(0.1)


def _sample(metrics: str, name: str, **labels) -> float:
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in metrics.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{wanted} not in the scraped metrics")


def test_every_step_completes(experiment):
    assert len(experiment["reports"]) == 2
    assert all("error" not in report for report in experiment["reports"])


def test_every_frame_is_accounted_for(experiment):
    metrics, detector = experiment["metrics"], experiment["bench"].detector
    assert _sample(metrics, "porewatch_frames_received_total", image_key="0") == 2 * N_ANGLES
    assert _sample(metrics, "porewatch_frames_received_total", image_key="1") == 2 * detector.n_flats
    assert _sample(metrics, "porewatch_frames_received_total", image_key="2") == 2 * detector.n_darks
    for report in experiment["reports"]:
        assert report["frames"] == {"projections": N_ANGLES, "flats": detector.n_flats, "darks": detector.n_darks}


def test_malformed_frames_are_rejected_counted_and_logged(experiment):
    metrics = experiment["metrics"]
    for reason in ("truncated", "bad_json", "wrong_shape", "unknown_run"):
        assert _sample(metrics, "porewatch_frames_rejected_total", reason=reason) == 1, reason
    log = "\n".join(experiment["log"])
    for clue in ("buffer has", "not JSON", "has shape (3, 3)", "unknown run 'no-such-run'"):
        assert clue in log, clue


def test_interfaces_within_one_voxel_of_truth(experiment):
    for report, truth in zip(experiment["reports"], experiment["truths"]):
        for name in ("top", "bottom"):
            true = truth.electrodes[name]
            for key, value in (("collector_interface_z_um", true.collector_interface_z_m),
                               ("electrolyte_interface_z_um", true.electrolyte_interface_z_m)):
                assert abs(report[name][key] - value * 1e6) < experiment["pixel_um"], (report["step_name"], name, key)


def test_area_mean_current_density_within_20_percent_of_applied(experiment):
    plate = experiment["reports"][1]
    for name in ("top", "bottom"):
        assert plate[name]["current_density_mean_A_m2"] == pytest.approx(1.0, rel=0.2), name


def test_seeded_hot_spots_found_within_two_voxels(experiment):
    plate, truth = experiment["reports"][1], experiment["truths"][1]
    for seeded in truth.hot_spots:
        found = plate[seeded.electrode]["hotspots"]
        distances = [np.hypot(h["x_um"] - seeded.x_m * 1e6, h["y_um"] - seeded.y_m * 1e6) for h in found]
        assert distances and min(distances) < 2 * experiment["pixel_um"], (seeded, found)


def test_results_are_stored_in_tiled_per_step(experiment):
    stored = experiment["stored"]
    assert [step["step_index"] for step in stored] == [0, 1]
    assert stored[1]["top"]["current_density_mean_A_m2"] == experiment["reports"][1]["top"]["current_density_mean_A_m2"]
    assert experiment["stored_map"].shape == (N_COLS, N_COLS)
    json.dumps(stored)
