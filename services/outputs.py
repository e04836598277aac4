"""The last stage: results to the control-room stream, to Tiled, and to the Prometheus gauges."""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from .control_room import ControlRoomPublisher
from .live_views import depth_profiles, region_of_interest, step_slices
from .metrics import ServiceMetrics
from .processing import AnalysedStep, ReconstructedStep
from .step_metadata import StepMetadata
from .tiled_store import TiledResultStore

log = logging.getLogger(__name__)


ELECTRODES = ("top", "bottom")


def electrode_maps(analysed: AnalysedStep, name: str) -> dict[str, np.ndarray]:
    """Maps (n_y, n_x) float32 of one electrode: thickness (m), pore density, and from the second step on
    current density from thickness and from Li volume (A/m^2) and the pore density's change since the last step."""
    electrode = analysed.analysis.electrode(name)
    maps = {"thickness": electrode.thickness_map_m, "pore_density": electrode.porosity.pore_density_map}
    if electrode.current_density_map_A_m2 is not None:
        maps["current_density"] = electrode.current_density_map_A_m2
        maps["current_density_from_volume"] = electrode.current_density_from_volume_map_A_m2
        maps["pore_density_difference"] = electrode.pore_density_difference_map
    return {key: np.asarray(value, dtype=np.float32) for key, value in maps.items()}


def llzo_arrays(analysed: AnalysedStep) -> dict[str, np.ndarray]:
    """The pellet's subsurface porosity map (n_y, n_x) and porosity depth profile (n_bins,), float32."""
    porosity = analysed.analysis.llzo.porosity
    return {"llzo_subsurface_porosity": np.asarray(porosity.subsurface_map, dtype=np.float32),
            "llzo_porosity_depth_profile": np.asarray(porosity.depth_profile, dtype=np.float32)}


def step_arrays(analysed: AnalysedStep, *, include_volumes: bool) -> dict[str, np.ndarray]:
    """The arrays stored per step: maps (n_y, n_x) per electrode, and optionally the volume, labels and
    the CNN's per-voxel confidence (float32, NaN where the CNN did not segment)."""
    arrays: dict[str, np.ndarray] = {}
    for name in ELECTRODES:
        arrays.update({f"{name}_{key}": value for key, value in electrode_maps(analysed, name).items()})
    arrays.update(depth_profiles(analysed))
    arrays.update(llzo_arrays(analysed))
    if include_volumes:
        arrays["volume"] = analysed.reconstructed.volume
        arrays["labels"] = analysed.labels
        if analysed.confidence is not None:
            arrays["confidence"] = analysed.confidence
    return arrays


class ResultOutput:
    """Publishes and stores analysed steps; also announces step start and failure."""

    def __init__(self, publisher: ControlRoomPublisher, store: TiledResultStore, metrics: ServiceMetrics, *,
                 write_volumes: bool, backend: str, rescans=None):
        self._publisher, self._store, self._metrics = publisher, store, metrics
        self._write_volumes = write_volumes
        self._backend = backend
        self._rescans = rescans  # RescanManager: step_published(report), rescan_completed(request, tiled_key=)

    def _status(self, event: str, **fields) -> None:
        self._publisher.publish("status", {"event": event, "backend": self._backend, **fields})

    def step_started(self, run_uid: str, metadata: StepMetadata) -> None:
        self._status("step_started", run_uid=run_uid, cell_id=metadata.cell_id, step_index=metadata.step_index,
                     step_name=metadata.step_name)

    def step_progress(self, run_uid: str, metadata: StepMetadata, received: dict, expected: dict) -> None:
        self._status("progress", run_uid=run_uid, cell_id=metadata.cell_id, step_index=metadata.step_index,
                     frames_received=received, frames_expected=expected)

    def stage_started(self, stage: str, item):
        """Announce that ``item`` (an assembled or reconstructed step) enters ``stage``; returns the item."""
        step = getattr(item, "step", item)
        self._status("stage", stage=stage, run_uid=step.run_uid, cell_id=step.metadata.cell_id,
                     step_index=step.metadata.step_index)
        return item

    def step_failed(self, item, error: BaseException) -> None:
        """Announce a step whose reconstruction, analysis or publication raised ``error``."""
        if isinstance(item, AnalysedStep):
            item = item.reconstructed
        step = item.step if isinstance(item, ReconstructedStep) else item
        self._status("step_failed", run_uid=step.run_uid, error=str(error), cell_id=step.metadata.cell_id,
                     step_index=step.metadata.step_index)

    def publish(self, analysed: AnalysedStep) -> list:
        """Send one analysed step everywhere; returns no further pipeline items."""
        if analysed.reconstructed.step.rescan is not None:
            return self._publish_rescan(analysed)
        report = analysed.report
        ident = {"run_uid": report["run_uid"], "cell_id": report["cell_id"], "step_index": report["step_index"],
                 "step_name": report["step_name"]}
        started = time.perf_counter()
        self._status("stage", stage="publish", **ident)
        maps = {name: electrode_maps(analysed, name) for name in ELECTRODES}
        bin_edges_m = analysed.analysis.top.porosity.depth_bin_edges_m
        report["porosity_depth_bin_um"] = float(bin_edges_m[1] - bin_edges_m[0]) * 1e6
        self._publisher.publish("porosity", {**ident, **{n: {"porosity": report[n]["porosity"],
                                                             "porosity_near_interface": report[n]["porosity_near_interface"],
                                                             "porosity_modes": report[n]["porosity_modes"]}
                                                         for n in maps},
                                             "depth_bin_um": report["porosity_depth_bin_um"]},
                                {**{f"{n}_{key}": m[key] for n, m in maps.items()
                                    for key in ("pore_density", "pore_density_difference") if key in m},
                                 **depth_profiles(analysed)})
        self._publisher.publish("current_density", {**ident, **{n: {
            "mean_A_m2": report[n]["current_density_mean_A_m2"], "std_A_m2": report[n]["current_density_std_A_m2"],
            "from_volume_mean_A_m2": report[n]["current_density_from_volume_mean_A_m2"],
            "mass_balance_ratio": report[n]["mass_balance_ratio"]}
            for n in maps}}, {f"{n}_{key}": m[key] for n, m in maps.items()
                              for key in ("current_density", "current_density_from_volume") if key in m})
        self._publisher.publish("llzo", {**ident, **report["llzo"]}, llzo_arrays(analysed))
        self._publisher.publish("hotspots", {**ident, "hotspots": {n: report[n]["hotspots"] for n in maps}})
        slices, slice_header = step_slices(analysed)
        self._publisher.publish("slices", {**ident, **slice_header}, slices)
        self._metrics.stage_duration.labels(stage="publish").observe(time.perf_counter() - started)
        started = time.perf_counter()
        arrays = step_arrays(analysed, include_volumes=self._write_volumes)
        self._store.write_step(report["cell_id"], report["step_index"], metadata=report, arrays=arrays,
                               dims={key: ("depth",) for key in arrays if key.endswith("_depth_profile")})
        self._metrics.stage_duration.labels(stage="store").observe(time.perf_counter() - started)
        self._update_gauges(report)
        self._publisher.publish("step", {**ident, "report": report})  # last: the step is stored by now
        end_to_end = time.monotonic() - analysed.reconstructed.step.last_frame_monotonic
        self._metrics.step_end_to_end.observe(end_to_end)
        self._metrics.steps_completed.inc()
        self._status("step_complete", **ident, end_to_end_s=end_to_end)
        log.info("step %d (%s) of %s published %.2f s after its last frame", report["step_index"],
                 report["step_name"], report["cell_id"], end_to_end)
        if self._rescans is not None:
            self._rescans.step_published(report)
        return []

    def _publish_rescan(self, analysed: AnalysedStep) -> list:
        """A hot spot's rescan: stored inside its step in Tiled, linked from the hot spot, announced on ``rescans``."""
        request = analysed.reconstructed.step.rescan
        report = {**analysed.report, "purpose": "rescan", "rescan": request}
        ident = {"run_uid": report["run_uid"], "cell_id": report["cell_id"], "step_index": report["step_index"],
                 "step_name": report["step_name"]}
        started = time.perf_counter()
        roi_arrays, roi_header = region_of_interest(analysed, request["roi"])
        arrays = {**roi_arrays, **depth_profiles(analysed)}
        path = self._store.write_rescan(report["cell_id"], request["parent_step"], f"rescan_{request['request_id']}",
                                        metadata={**report, **roi_header}, arrays=arrays,
                                        hotspot=(request["electrode"], request["hotspot_id"]),
                                        dims={key: ("depth",) for key in arrays if key.endswith("_depth_profile")})
        self._metrics.stage_duration.labels(stage="store").observe(time.perf_counter() - started)
        self._publisher.publish("rescans", {"event": "completed", "request": request, "report": report,
                                            "detail": f"results in Tiled under {path}", "tiled_path": path,
                                            "cell_id": report["cell_id"], "parent_step": request["parent_step"]})
        end_to_end = time.monotonic() - analysed.reconstructed.step.last_frame_monotonic
        self._status("step_complete", **ident, end_to_end_s=end_to_end, rescan=request["request_id"])
        log.info("rescan %s of %s hot spot %s (step %d) stored as %s", request["request_id"], request["electrode"],
                 request["hotspot_id"], request["parent_step"], path)
        if self._rescans is not None:
            self._rescans.rescan_completed(request, tiled_key=path)
        return []

    def _update_gauges(self, report: dict) -> None:
        def value(number):  # a figure that could not be measured is NaN in Prometheus
            return math.nan if number is None else number

        for name in ELECTRODES:
            electrode = report[name]
            self._metrics.porosity.labels(electrode=name).set(value(electrode["porosity"]))
            self._metrics.porosity_near_interface.labels(electrode=name).set(value(electrode["porosity_near_interface"]))
            self._metrics.current_density_mean.labels(electrode=name).set(value(electrode["current_density_mean_A_m2"]))
            self._metrics.hotspots_detected.inc(len(electrode["hotspots"]))
            self._metrics.hotspots_latest.labels(electrode=name).set(len(electrode["hotspots"]))
            self._metrics.mass_balance.labels(electrode=name).set(value(electrode["mass_balance_ratio"]))
            self._metrics.porosity_modes.labels(electrode=name).set(electrode["porosity_modes"])
        llzo = report["llzo"]
        self._metrics.llzo_porosity.labels(region="pellet").set(value(llzo["porosity"]))
        for region in ("interfacial_top", "bulk", "interfacial_bottom"):
            self._metrics.llzo_porosity.labels(region=region).set(value(llzo[f"porosity_{region}"]))
            if llzo[f"tortuosity_{region}"] is not None:  # kept from the last step that computed it
                self._metrics.llzo_tortuosity.labels(region=region).set(llzo[f"tortuosity_{region}"])
