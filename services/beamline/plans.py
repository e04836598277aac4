"""Bluesky plans of an in-situ tomography experiment on a cycled cell.

``tomo_step_scan`` takes darks, flats and projections of one galvanostatic step as one run whose
start document carries the step metadata; ``galvanostatic_experiment`` runs each step on the
galvanostat and scans it.
"""

from __future__ import annotations

from typing import Sequence

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp

from ..step_metadata import StepMetadata

#: Sample stage position (m) that takes the cell out of the beam for flats.
FLAT_FIELD_OFFSET_M = 5e-3


def tomo_step_scan(detector, rotation, shutter, sample_stage, *, angles_deg: Sequence[float], n_flats: int,
                   n_darks: int, step: StepMetadata, detector_shape: tuple[int, int], md: dict | None = None):
    """Darks (shutter closed), flats (sample out), then one projection per angle, as one run.

    Parameters
    ----------
    angles_deg : (n_angles,) rotation angles, degrees
    step : metadata of the galvanostatic step, written into the start document
    detector_shape : (n_rows, n_cols) of the frames the detector sends
    """
    if n_flats < 1 or n_darks < 1 or len(angles_deg) < 1:
        raise ValueError(f"need at least one flat, dark and angle; got {n_flats}, {n_darks}, {len(angles_deg)}")
    start_md = {
        "plan_name": "tomo_step_scan",
        "purpose": "galvanostatic_step",
        **step.to_dict(),
        "frames_expected": {"projections": len(angles_deg), "flats": n_flats, "darks": n_darks},
        "detector_shape": [int(n) for n in detector_shape],
        **(md or {}),
    }
    devices = [detector, rotation]

    @bpp.stage_decorator([detector])
    @bpp.run_decorator(md=start_md)
    def scan():
        yield from bps.mv(shutter, 0)
        for _ in range(n_darks):
            yield from bps.trigger_and_read(devices)
        yield from bps.mv(shutter, 1, sample_stage, FLAT_FIELD_OFFSET_M)
        for _ in range(n_flats):
            yield from bps.trigger_and_read(devices)
        yield from bps.mv(sample_stage, 0.0)
        for angle in angles_deg:
            yield from bps.mv(rotation, float(angle))
            yield from bps.trigger_and_read(devices)
        yield from bps.mv(shutter, 0)

    return (yield from scan())


def galvanostatic_experiment(galvanostat, detector, rotation, shutter, sample_stage, *,
                             steps: Sequence[StepMetadata], angles_deg: Sequence[float], n_flats: int,
                             n_darks: int, detector_shape: tuple[int, int]):
    """For each step: run it on the galvanostat, then scan the cell (one run per step)."""
    for step in steps:
        yield from bps.mv(galvanostat, step.step_index)
        yield from tomo_step_scan(detector, rotation, shutter, sample_stage, angles_deg=angles_deg,
                                  n_flats=n_flats, n_darks=n_darks, step=step, detector_shape=detector_shape)
