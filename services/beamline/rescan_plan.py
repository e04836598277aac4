"""The hot-spot rescan: a tomography scan of the cell as it is, with more projections, for one hot spot.

The plan does not touch the galvanostat: the cell stays in the state of the step whose hot spot is
rescanned. Its start document carries ``purpose = "rescan"``, ``hotspot_id``, ``parent_step`` and the
whole request under ``rescan`` (region of interest included), so that porewatch stores the results
beside the hot spot instead of as a new step. The simulated detector has no region-of-interest
readout: the whole field is acquired and the region of interest is cut out by porewatch.
"""

from __future__ import annotations

import dataclasses

from porewatch.kernels import simulate

from ..step_metadata import StepMetadata
from .devices import SimulatedCellBench
from .plans import tomo_step_scan


def rescan_metadata(request: dict) -> dict:
    """Start-document metadata of the rescan of ``request`` (see :class:`porewatch.services.rescan.RescanRequest`)."""
    return {"purpose": "rescan", "hotspot_id": request["hotspot_id"], "parent_step": request["parent_step"],
            "rescan": dict(request)}


class SimulatedRescanSource:
    """Lets the simulated cell bench image a step again with ``angle_factor`` times more projections.

    A real beamline images the cell as it is; the simulation has to be told which state that is
    (the parent step) and precomputes the frames of the denser scan.
    """

    def __init__(self, bench: SimulatedCellBench):
        self.bench = bench

    def prepare(self, parent_step: int, angle_factor: int):
        """Simulate the frames of the rescan; returns the detector of the rescan."""
        if angle_factor < 1:
            raise ValueError(f"angle_factor must be >= 1, got {angle_factor}")
        detector = dataclasses.replace(self.bench.detector, n_angles=self.bench.detector.n_angles * angle_factor)
        self.bench.frames = simulate.simulate_step(self.bench.states[parent_step], detector,
                                                   seed=self.bench.cell.seed * 1000 + 500 + parent_step)
        self.bench.step_index = parent_step
        return detector


def make_roi_rescan(source: SimulatedRescanSource, steps: list[StepMetadata], *, detector, rotation, shutter,
                    sample_stage):
    """The ``roi_rescan`` plan bound to the simulated devices (what the queue server's startup code exposes)."""

    def roi_rescan(request: dict, angle_factor: int = 2):
        """Rescan the hot spot named by ``request`` with ``angle_factor`` times the step's projections.

        Parameters
        ----------
        request : dict
            The rescan request: ``request_id``, ``cell_id``, ``parent_step``, ``electrode``, ``hotspot_id``,
            ``x_um``, ``y_um`` and ``roi`` (``x_um``, ``y_um``, ``radius_um``).
        angle_factor : int
            Projections of the rescan as a multiple of the step's.
        """
        parent = int(request["parent_step"])
        if not 0 <= parent < len(steps):
            raise ValueError(f"request['parent_step'] = {parent} is not a step of this experiment")
        rescan_detector = source.prepare(parent, int(angle_factor))
        step = dataclasses.replace(steps[parent], step_name=f"{steps[parent].step_name} rescan")
        return (yield from tomo_step_scan(
            detector, rotation, shutter, sample_stage, angles_deg=rescan_detector.angles_deg(),
            n_flats=rescan_detector.n_flats, n_darks=rescan_detector.n_darks, step=step,
            detector_shape=(rescan_detector.n_rows, rescan_detector.n_cols), md=rescan_metadata(request)))

    return roi_rescan
