"""Simulated beamline: an analytic Li | LLZO | Li cell cycled galvanostatically and imaged.

``evolve(spec, steps)`` gives one cumulative :class:`CellState` per step;
``simulate_step(state, detector, seed=...)`` its raw uint16 frames (exact analytic line
integrals, Fresnel propagation, blur, flats, darks, noise); ``ground_truth(state, detector)``
what the analysis should recover; ``line_integrals`` the noise-free attenuation sinograms.
"""

from porewatch.kernels.simulate.cell import (
    CellState,
    ElectrodeState,
    HotSpots,
    evolve,
    pristine_cell,
)
from porewatch.kernels.simulate.detector import DetectorSpec
from porewatch.kernels.simulate.frames import StepFrames, detected_intensity, simulate_step
from porewatch.kernels.simulate.pores import Spheres
from porewatch.kernels.simulate.projector import line_integrals
from porewatch.kernels.simulate.spec import CellSpec, GalvanostaticStep, default_steps
from porewatch.kernels.simulate.truth import (
    INTERFACE_DEPTH_M,
    ElectrodeTruth,
    GroundTruth,
    HotSpotTruth,
    ground_truth,
)

__all__ = [
    "INTERFACE_DEPTH_M",
    "CellSpec",
    "CellState",
    "DetectorSpec",
    "ElectrodeState",
    "ElectrodeTruth",
    "GalvanostaticStep",
    "GroundTruth",
    "HotSpotTruth",
    "HotSpots",
    "Spheres",
    "StepFrames",
    "default_steps",
    "detected_intensity",
    "evolve",
    "ground_truth",
    "line_integrals",
    "pristine_cell",
    "simulate_step",
]
