"""The last stage: results to the control-room stream, to Tiled, and to the Prometheus gauges."""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from .control_room import ControlRoomPublisher
from .metrics import ServiceMetrics
from .processing import AnalysedStep
from .step_metadata import StepMetadata
from .tiled_store import TiledResultStore

log = logging.getLogger(__name__)


ELECTRODES = ("top", "bottom")


def electrode_maps(analysed: AnalysedStep, name: str) -> dict[str, np.ndarray]:
    """Maps (n_y, n_x) float32 of one electrode: thickness (m), pore density, current density (A/m^2)."""
    electrode = analysed.analysis.electrode(name)
    maps = {"thickness": electrode.thickness_map_m, "pore_density": electrode.porosity.pore_density_map}
    if electrode.current_density_map_A_m2 is not None:
        maps["current_density"] = electrode.current_density_map_A_m2
    return {key: np.asarray(value, dtype=np.float32) for key, value in maps.items()}


def step_arrays(analysed: AnalysedStep, *, include_volumes: bool) -> dict[str, np.ndarray]:
    """The arrays stored per step: maps (n_y, n_x) per electrode, and optionally volume and labels."""
    arrays: dict[str, np.ndarray] = {}
    for name in ELECTRODES:
        arrays.update({f"{name}_{key}": value for key, value in electrode_maps(analysed, name).items()})
    if include_volumes:
        arrays["volume"] = analysed.reconstructed.volume
        arrays["labels"] = analysed.labels
    return arrays


class ResultOutput:
    """Publishes and stores analysed steps; also announces step start and failure."""

    def __init__(self, publisher: ControlRoomPublisher, store: TiledResultStore, metrics: ServiceMetrics, *,
                 write_volumes: bool, backend: str):
        self._publisher, self._store, self._metrics = publisher, store, metrics
        self._write_volumes = write_volumes
        self._backend = backend

    def _status(self, event: str, **fields) -> None:
        self._publisher.publish("status", {"event": event, "backend": self._backend, **fields})

    def step_started(self, run_uid: str, metadata: StepMetadata) -> None:
        self._status("step_started", run_uid=run_uid, cell_id=metadata.cell_id, step_index=metadata.step_index,
                     step_name=metadata.step_name)

    def step_failed(self, item, error: BaseException) -> None:
        step = getattr(item, "step", getattr(getattr(item, "reconstructed", None), "step", item))
        meta = getattr(step, "metadata", None)
        self._status("step_failed", run_uid=getattr(step, "run_uid", None), error=str(error),
                     cell_id=getattr(meta, "cell_id", None), step_index=getattr(meta, "step_index", None))

    def publish(self, analysed: AnalysedStep) -> list:
        """Send one analysed step everywhere; returns no further pipeline items."""
        report = analysed.report
        ident = {"run_uid": report["run_uid"], "cell_id": report["cell_id"], "step_index": report["step_index"],
                 "step_name": report["step_name"]}
        started = time.perf_counter()
        maps = {name: electrode_maps(analysed, name) for name in ELECTRODES}
        self._publisher.publish("porosity", {**ident, **{n: {"porosity": report[n]["porosity"],
                                                             "porosity_near_interface": report[n]["porosity_near_interface"]}
                                                         for n in maps}},
                                {f"{n}_pore_density": m["pore_density"] for n, m in maps.items()})
        self._publisher.publish("current_density", {**ident, **{n: {
            "mean_A_m2": report[n]["current_density_mean_A_m2"], "std_A_m2": report[n]["current_density_std_A_m2"]}
            for n in maps}}, {f"{n}_current_density": m["current_density"] for n, m in maps.items()
                              if "current_density" in m})
        self._publisher.publish("hotspots", {**ident, "hotspots": {n: report[n]["hotspots"] for n in maps}})
        self._metrics.stage_duration.labels(stage="publish").observe(time.perf_counter() - started)
        started = time.perf_counter()
        self._store.write_step(report["cell_id"], report["step_index"], metadata=report,
                               arrays=step_arrays(analysed, include_volumes=self._write_volumes))
        self._metrics.stage_duration.labels(stage="store").observe(time.perf_counter() - started)
        self._update_gauges(report)
        self._publisher.publish("step", {**ident, "report": report})  # last: the step is stored by now
        end_to_end = time.monotonic() - analysed.reconstructed.step.last_frame_monotonic
        self._metrics.step_end_to_end.observe(end_to_end)
        self._metrics.steps_completed.inc()
        self._status("step_complete", **ident, end_to_end_s=end_to_end)
        log.info("step %d (%s) of %s published %.2f s after its last frame", report["step_index"],
                 report["step_name"], report["cell_id"], end_to_end)
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
