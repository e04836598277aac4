"""``porewatch demo``: a whole simulated experiment through every real component, checked against truth.

Starts Bluesky's document proxy, the service (with a local Tiled server) and a RunEngine driving
ophyd devices on the simulated cell; runs the configured galvanostatic steps; prints each step's
results next to the simulator's ground truth; leaves the results in Tiled and stops everything.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

import numpy as np

from porewatch.kernels import simulate
from porewatch.kernels.quantify.porosity import RESOLVED_LAYER_VOXELS

from .beamline.station import SimulatedBeamline, build_bench
from .config import Config
from .control_room import ControlRoomSubscriber, collect_step_reports
from .local_stack import LocalStack, with_free_ports

ELECTRODES = ("top", "bottom")
STEP_TIMEOUT_S = 600.0


def truth_report(truth: simulate.GroundTruth, *, applied_current_density_A_m2: float) -> dict:
    """The simulator's ground truth in the keys and units of a step report."""
    report = {}
    for name in ELECTRODES:
        e = truth.electrodes[name]
        report[name] = {
            "collector_interface_z_um": e.collector_interface_z_m * 1e6,
            "electrolyte_interface_z_um": e.electrolyte_interface_z_m * 1e6,
            "thickness_mean_um": float(np.nanmean(e.thickness_m)) * 1e6,
            "porosity": e.porosity,
            "porosity_near_interface": e.interface_porosity,
            "current_density_mean_A_m2": applied_current_density_A_m2 if applied_current_density_A_m2 else None,
            "hotspots": [{"id": h.id, "x_um": h.x_m * 1e6, "y_um": h.y_m * 1e6,
                          "peak_current_density_A_m2": h.peak_j_A_m2}
                         for h in truth.hot_spots if h.electrode == name and h.peak_j_A_m2 != 0],
        }
    report["llzo"] = {"porosity": truth.llzo_porosity}
    return report


def _cell(value, scale=1.0, digits=1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value * scale:.{digits}f}"


def format_comparison(report: dict, truth: dict) -> str:
    """One step: measured next to true values, per electrode."""
    rows = [f"step {report['step_index']} '{report['step_name']}': applied j = "
            f"{report['applied_current_density_A_m2']:+.3f} A/m^2 for {report['duration_s'] / 3600:.1f} h, "
            f"centre {report['center_px']:.2f} px",
            f"  {'':<28}{'top':>22}{'bottom':>22}",
            f"  {'':<28}{'measured':>11}{'truth':>11}{'measured':>11}{'truth':>11}"]
    quantities = [("steel|Li interface z (um)", "collector_interface_z_um", 1, 1),
                  ("Li|LLZO interface z (um)", "electrolyte_interface_z_um", 1, 1),
                  ("mean Li thickness (um)", "thickness_mean_um", 1, 1),
                  ("Li porosity (%)", "porosity", 100, 2),
                  ("porosity within 10 um (%)", "porosity_near_interface", 100, 2),
                  ("mean j (A/m^2)", "current_density_mean_A_m2", 1, 3)]
    for label, key, scale, digits in quantities:
        cells = "".join(f"{_cell(source[name][key], scale, digits):>11}" for name in ELECTRODES
                        for source in (report, truth))
        rows.append(f"  {label:<28}{cells}")
    layer_voxels = report[ELECTRODES[0]]["porosity_near_interface_voxels"]
    if layer_voxels < RESOLVED_LAYER_VOXELS:
        rows.append(f"  (the near-interface layer spans {layer_voxels:.1f} voxel: its porosity is partial-volume limited)")
    if report.get("segmentation", {}).get("method") == "cnn":
        rows.append("  (the CNN misses about half the voids in the first two Li rows against the LLZO: read its porosity within "
                    "10 um as a lower bound)")
    for name in ELECTRODES:
        found = ", ".join(f"({h['x_um']:.0f}, {h['y_um']:.0f}) um" for h in report[name]["hotspots"]) or "none"
        true = ", ".join(f"({h['x_um']:.0f}, {h['y_um']:.0f}) um" for h in truth[name]["hotspots"]) or "none"
        rows.append(f"  hot spots {name:<7} found: {found}; seeded: {true}")
    rows.append(f"  LLZO porosity (%) measured {_cell(report['llzo']['porosity'], 100, 2)}, "
                f"truth {_cell(truth['llzo']['porosity'], 100, 2)}")
    return "\n".join(rows)


def run_demo(config: Config, *, out: TextIO = sys.stdout) -> int:
    """Run the demo; returns a process exit code (0 when every step was analysed)."""
    started = time.monotonic()
    config = with_free_ports(config)
    bench = build_bench(config.simulation)
    det = bench.detector
    print(f"porewatch demo: cell {bench.cell_id}, detector {det.n_rows} x {det.n_cols} px of "
          f"{det.pixel_size_m * 1e6:.2f} um, {det.n_angles} angles, steps {[s.name for s in bench.steps]}", file=out)
    with LocalStack(config) as stack:
        print(f"  service up ({stack.service.backend_name} backend): frames {stack.frames_address}, control room "
              f"{stack.control_room_address}, metrics :{stack.service.metrics_port}, Tiled {stack.service.tiled_uri}, "
              f"page {stack.service.web_url or 'off'}", file=out)
        subscriber = ControlRoomSubscriber(stack.control_room_address, ("status", "step"))
        beamline = SimulatedBeamline(bench, documents_address=stack.documents_in_address,
                                     frames_address=stack.frames_address)
        try:
            uids = beamline.run_experiment()
        finally:
            beamline.close()
        reports = collect_step_reports(subscriber, expected=len(uids), timeout_s=STEP_TIMEOUT_S, run_uids=set(uids))
        subscriber.close()
    failed = [r for r in reports if "error" in r]
    for report in sorted((r for r in reports if "error" not in r), key=lambda r: r["step_index"]):
        index = report["step_index"]
        truth = truth_report(simulate.ground_truth(bench.states[index], det),
                             applied_current_density_A_m2=bench.steps[index].current_density_A_m2)
        print(format_comparison(report, truth), file=out)
    for report in failed:
        print(f"step of run {report['run_uid']} FAILED: {report['error']}", file=out)
    print(f"results stored in Tiled under {config.tiled.directory} (cell {bench.cell_id}); "
          f"`porewatch report --cell {bench.cell_id}` reads them back", file=out)
    print(f"demo wall time {time.monotonic() - started:.1f} s", file=out)
    return 1 if failed else 0
