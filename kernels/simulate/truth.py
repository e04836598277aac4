"""Ground truth of one step on the reconstruction grid of a detector.

Labels are the cross-sections used by the projector, rasterised on a 2 x 2 x 2 sub-voxel
grid and reduced by majority vote; a tie (4-4) goes to the phase at the voxel centre, so
boundary voxels split evenly between the two phases and label volumes are unbiased.  Maps are
sampled at voxel centres, NaN outside the cell.  Porosities and interface positions are
exact (analytic) values of the phantom, not voxel counts.  Positions are in the volume
frame: z = k p, x and y from the rotation axis.
"""

from dataclasses import dataclass

import numpy as np

from porewatch.kernels.labels import Phase
from porewatch.kernels.simulate.cell import CellState, ElectrodeState
from porewatch.kernels.simulate.detector import DetectorSpec
from porewatch.kernels.simulate.pores import Spheres
from porewatch.kernels.simulate.projector import SUPERSAMPLING
from porewatch.kernels.simulate.sections import Sections, cross_sections

#: Depth below the Li | LLZO interface of the "interfacial" porosity (Dixit et al. 2020).
INTERFACE_DEPTH_M = 10e-6


@dataclass(frozen=True)
class HotSpotTruth:
    """One hot spot during the step (``peak_j_A_m2`` is 0 for a step without current)."""

    id: int
    electrode: str
    x_m: float
    y_m: float
    radius_m: float
    peak_j_A_m2: float
    cap_height_m: float


@dataclass(frozen=True)
class ElectrodeTruth:
    """One Li foil at the end of the step.

    Attributes
    ----------
    thickness_m : (n_cols, n_cols) float64
        Li thickness at voxel centres (row = y, column = x), m; NaN outside the cell.
    current_density_A_m2 : (n_cols, n_cols) float64
        Local current density during the step, A/m^2, with the sign of the applied one
        (area mean = applied value on both electrodes); NaN outside the cell.
    collector_interface_z_m, electrolyte_interface_z_m : float
        Area-mean z of the Li | steel and Li | LLZO interfaces, m (volume frame).
    porosity : float
        Pore volume over foil volume.
    interface_porosity : float
        The same within ``INTERFACE_DEPTH_M`` of the Li | LLZO interface.
    """

    name: str
    thickness_m: np.ndarray
    current_density_A_m2: np.ndarray
    collector_interface_z_m: float
    electrolyte_interface_z_m: float
    porosity: float
    interface_porosity: float


@dataclass(frozen=True)
class GroundTruth:
    """Everything the analysis of one step should recover.

    Attributes
    ----------
    step_name : str
    labels : (n_rows, n_cols, n_cols) uint8
        :class:`~porewatch.kernels.labels.Phase` per voxel.
    electrodes : dict[str, ElectrodeTruth]
        Keyed "top" and "bottom".
    hot_spots : list[HotSpotTruth]
    llzo_porosity : float
    """

    step_name: str
    labels: np.ndarray
    electrodes: dict[str, ElectrodeTruth]
    hot_spots: list[HotSpotTruth]
    llzo_porosity: float


def ground_truth(state: CellState, detector: DetectorSpec) -> GroundTruth:
    """Labels, maps, hot spots and porosities of ``state`` on ``detector``'s grid."""
    if not isinstance(state, CellState):
        raise TypeError(f"state must be a CellState, got {type(state).__name__}")
    if not isinstance(detector, DetectorSpec):
        raise TypeError(f"detector must be a DetectorSpec, got {type(detector).__name__}")
    spec = state.spec
    sections = cross_sections(state, z_m=detector.row_z_m(SUPERSAMPLING))
    centres = cross_sections(state, z_m=detector.row_z_m())
    labels = majority_labels(rasterise(sections, xy_m=detector.voxel_xy_m(SUPERSAMPLING)),
                             centre=rasterise(centres, xy_m=detector.voxel_xy_m()))
    pellet = spec.cell_area_m2 * spec.llzo_thickness_m
    return GroundTruth(
        step_name=state.step.name,
        labels=labels,
        electrodes={e.name: _electrode_truth(state, e, detector) for e in state.electrodes},
        hot_spots=_hot_spot_truths(state),
        llzo_porosity=state.llzo_pores.volume_m3 / pellet,
    )


def rasterise(sections: Sections, *, xy_m: np.ndarray) -> np.ndarray:
    """Phase of each (plane, y, x) sample, (n_planes, n, n) uint8, for samples ``xy_m`` (m)."""
    x = xy_m[None, :]
    y = xy_m[:, None]
    inside = x**2 + y**2 < sections.cell_radius_m**2
    out = np.where(inside[None], sections.base_phase[:, None, None], np.uint8(Phase.OUTSIDE))
    out = np.ascontiguousarray(out, dtype=np.uint8)
    # Caps come before pores in ``sections`` and never overlap them, so order is harmless.
    step = xy_m[1] - xy_m[0]
    window = np.floor(2 * sections.radii_m / step).astype(np.int64) + 2
    for size in np.unique(window):
        members = np.nonzero(window == size)[0]
        offsets = np.arange(size)
        first = np.ceil((sections.centres_m[members] - sections.radii_m[members, None] - xy_m[0])
                        / step).astype(np.int64)
        cols = first[:, None, None, 0] + offsets[None, None, :]
        rows = first[:, None, None, 1] + offsets[None, :, None]
        dx = xy_m[0] + cols * step - sections.centres_m[members, None, None, 0]
        dy = xy_m[0] + rows * step - sections.centres_m[members, None, None, 1]
        hit = (dx**2 + dy**2 < sections.radii_m[members, None, None] ** 2)
        hit &= (cols >= 0) & (cols < xy_m.size) & (rows >= 0) & (rows < xy_m.size)
        plane = np.broadcast_to(sections.plane[members, None, None], hit.shape)
        phase = np.broadcast_to(sections.phase[members, None, None], hit.shape)
        out[plane[hit], np.broadcast_to(rows, hit.shape)[hit],
            np.broadcast_to(cols, hit.shape)[hit]] = phase[hit]
    return out


def majority_labels(samples: np.ndarray, *, centre: np.ndarray) -> np.ndarray:
    """Majority phase of each 2 x 2 x 2 block of ``samples``, (nz, ny, nx) uint8.

    A tie goes to the block's ``centre`` phase ((nz, ny, nx) uint8, sampled at the voxel
    centre) when that phase is one of the tied ones, else to the lowest tied value.  Giving
    ties to a fixed phase would bias label volumes: about half the voxels a smooth boundary
    cuts near its middle are ties, and for pores a few voxels across that is several percent.
    """
    nz, ny, nx = (size // SUPERSAMPLING for size in samples.shape)
    if centre.shape != (nz, ny, nx):
        raise ValueError(f"centre must have shape {(nz, ny, nx)}, got {centre.shape}")
    blocks = samples.reshape(nz, SUPERSAMPLING, ny, SUPERSAMPLING, nx, SUPERSAMPLING)
    votes = np.stack([(blocks == phase).sum(axis=(1, 3, 5), dtype=np.uint8) for phase in Phase])
    most = votes.max(axis=0)
    labels = np.argmax(votes, axis=0).astype(np.uint8)
    tied = (votes == most).sum(axis=0) > 1
    centre_votes = np.take_along_axis(votes, centre[None].astype(np.intp), axis=0)[0]
    to_centre = tied & (centre_votes == most)
    labels[to_centre] = centre[to_centre]
    return labels


def _electrode_truth(state: CellState, electrode: ElectrodeState,
                     detector: DetectorSpec) -> ElectrodeTruth:
    spec = state.spec
    xy = detector.voxel_xy_m()
    x, y = np.meshgrid(xy, xy)
    outside = x**2 + y**2 >= spec.cell_radius_m**2
    thickness = electrode.thickness_m(x, y)
    current = electrode.current_density_A_m2(x, y, applied_A_m2=state.step.current_density_A_m2,
                                             cell_radius_m=spec.cell_radius_m)
    thickness[outside] = np.nan
    current[outside] = np.nan
    spots = electrode.hot_spots
    mean_thickness = electrode.base_thickness_m + float(
        np.sum(spots.amplitude_m * spots.radius_m**2)) / (2 * spec.cell_radius_m**2)
    face_z = detector.stack_centre_z_m + electrode.face_z_m
    pores = electrode.pores.concat(electrode.voids)
    slab = _volume_between_depths(pores, electrode, 0.0, INTERFACE_DEPTH_M)
    return ElectrodeTruth(
        name=electrode.name,
        thickness_m=thickness,
        current_density_A_m2=current,
        collector_interface_z_m=face_z + electrode.outward * mean_thickness,
        electrolyte_interface_z_m=face_z,
        porosity=pores.volume_m3 / (spec.cell_area_m2 * mean_thickness),
        interface_porosity=slab / (spec.cell_area_m2 * INTERFACE_DEPTH_M),
    )


def _volume_between_depths(spheres: Spheres, electrode: ElectrodeState,
                           low_m: float, high_m: float) -> float:
    """Exact volume (m^3) of ``spheres`` between two depths below the Li | LLZO interface."""
    depth = electrode.depth_m(spheres.centres_m[:, 2])
    radius = spheres.radii_m
    start = np.clip(low_m - depth, -radius, radius)
    stop = np.clip(high_m - depth, -radius, radius)

    def primitive(u: np.ndarray) -> np.ndarray:
        return radius**2 * u - u**3 / 3

    return float(np.pi * np.sum(primitive(stop) - primitive(start)))


def _hot_spot_truths(state: CellState) -> list[HotSpotTruth]:
    applied = state.step.current_density_A_m2
    truths = []
    for electrode in state.electrodes:
        spots = electrode.hot_spots
        norm = electrode.current_normaliser(state.spec.cell_radius_m)
        for k in range(spots.ids.size):
            truths.append(HotSpotTruth(
                id=int(spots.ids[k]), electrode=electrode.name, x_m=float(spots.x_m[k]),
                y_m=float(spots.y_m[k]), radius_m=float(spots.radius_m[k]),
                peak_j_A_m2=applied * (1.0 + float(spots.gain[k])) / norm,
                cap_height_m=float(spots.amplitude_m[k])))
    return truths
