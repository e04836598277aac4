"""Labelled volumes for ``porewatch train``: simulated cells reconstructed by the service's own kernels,
or user volumes with label volumes (TIFF stacks or HDF5).

Simulated cells are imaged by the simulator and reconstructed exactly as the service does
(:class:`~porewatch.services.processing.FramePreprocessor`, centre search, the configured
reconstruction), so the network trains on what it will see.  With ``randomise`` the cell and
detector vary around their defaults (porosity, pore and void sizes, photon count, blur, ring
defects), seeded by the cell's seed, so a model does not learn one cell's quirks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from porewatch.kernels import simulate
from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.electrodes import ELECTRODES
from porewatch.kernels.prep.centre import find_center
from porewatch.kernels.recon.reconstruct import reconstruct, reconstruct_prefiltered
from porewatch.kernels.segment.dataset import LabelledSlices, electrode_rows, volume_slices

from .beamline.station import experiment_steps
from .config import PipelineConfig
from .processing import FramePreprocessor
from .step_metadata import StepMetadata


@dataclass(frozen=True)
class SimulatedCell:
    """One simulated cell scanned through ``steps`` (names of :func:`experiment_steps`)."""

    seed: int
    n_cols: int
    steps: tuple[str, ...] = ("pristine", "plate", "strip")
    randomise: bool = True

    def specs(self) -> tuple[simulate.CellSpec, simulate.DetectorSpec]:
        """The cell and detector; randomised around the defaults when ``randomise``."""
        if not self.randomise:
            cell = simulate.CellSpec(seed=self.seed)
            return cell, simulate.DetectorSpec.for_cell(cell, n_cols=self.n_cols)
        rng = np.random.default_rng([self.seed, 4242])
        pore_low = rng.uniform(4e-6, 8e-6)
        void_low = rng.uniform(4e-6, 7e-6)
        cell = simulate.CellSpec(
            seed=self.seed,
            lithium_porosity=float(rng.uniform(0.004, 0.03)),
            lithium_pore_radius_range_m=(pore_low, pore_low * rng.uniform(1.5, 2.5)),
            llzo_porosity=float(rng.uniform(0.02, 0.08)),
            voids_per_coulomb=float(rng.uniform(1000.0, 6000.0)),
            void_radius_range_m=(void_low, void_low * rng.uniform(1.5, 2.5)),
        )
        detector = simulate.DetectorSpec.for_cell(
            cell, n_cols=self.n_cols, fresnel_number=float(rng.uniform(3.0, 6.0)),
            flat_photons=float(rng.uniform(10_000.0, 30_000.0)), blur_sigma_px=float(rng.uniform(0.6, 1.0)),
            n_defect_columns=int(rng.integers(0, 8)), detector_seed=int(rng.integers(1 << 16)))
        return cell, detector


def reconstruct_frames(frames: simulate.StepFrames, detector: simulate.DetectorSpec,
                       pipeline: PipelineConfig) -> np.ndarray:
    """Reconstruct one simulated scan as the service does (NumPy); ``(n_rows, n_cols, n_cols)`` float32, 1/m."""
    preprocess = FramePreprocessor(pipeline)
    metadata = StepMetadata(cell_id="training", step_index=0, step_name="training", current_density_A_m2=0.0,
                            duration_s=0.0, pixel_size_m=detector.pixel_size_m, energy_kev=detector.energy_kev,
                            propagation_distance_m=detector.propagation_distance_m)
    flat, dark = frames.flats.mean(axis=0), frames.darks.mean(axis=0)
    processed = [preprocess(frame, flat, dark, metadata) for frame in frames.projections]
    line_integrals = np.stack([item[0] for item in processed])
    angles = np.deg2rad(frames.angles_deg)
    centre = pipeline.center_px if pipeline.center_px is not None else find_center(line_integrals, angles_rad=angles)
    common = dict(angles_rad=angles, center_px=centre, method=pipeline.recon_method,
                  pixel_size_m=detector.pixel_size_m, memory_budget_bytes=pipeline.memory_budget_bytes)
    if processed[0][1] is None:
        return reconstruct(line_integrals, filter_name=pipeline.recon_filter, **common)
    filtered = np.stack([item[1] for item in processed])
    return reconstruct_prefiltered(filtered, n_cols=detector.n_cols, **common)


def simulated_volumes(cell: SimulatedCell, pipeline: PipelineConfig):
    """Yield ``(step_index, mu, true_labels, truth, pixel_size_m)`` for every step of ``cell``."""
    spec, detector = cell.specs()
    steps = experiment_steps(cell.steps, current_density_A_m2=0.25, duration_s=72 * 3600.0)
    for index, state in enumerate(simulate.evolve(spec, steps)):
        frames = simulate.simulate_step(state, detector, seed=cell.seed * 1000 + index)
        truth = simulate.ground_truth(state, detector)
        yield index, reconstruct_frames(frames, detector, pipeline), truth.labels, truth, detector.pixel_size_m


def simulated_slices(cell: SimulatedCell, pipeline: PipelineConfig, *, margin_um: float,
                     electrodes: tuple[str, ...] = ELECTRODES, cache_dir: Path | None = None) -> LabelledSlices:
    """The slices of every step of ``cell`` crossing its ``electrodes``, with their true labels.

    ``cache_dir`` keeps the slices as ``.npz`` so later runs skip the simulation.
    """
    out = LabelledSlices([], [], ())
    cache = None
    if cache_dir is not None:
        chosen = "" if tuple(electrodes) == ELECTRODES else "_" + "-".join(electrodes)
        cache = Path(cache_dir) / (f"seed{cell.seed}_n{cell.n_cols}_{'-'.join(cell.steps)}"
                                   f"_{'r' if cell.randomise else 'd'}_m{margin_um:g}{chosen}.npz")
        if cache.exists():
            return _read_slices(cache)
    for index, mu, labels, _, pixel_size_m in simulated_volumes(cell, pipeline):
        rows = electrode_rows(mu, margin_px=int(round(margin_um * 1e-6 / pixel_size_m)), electrodes=electrodes)
        out = out.concat(volume_slices(mu, labels, rows=rows, source=f"sim seed {cell.seed} n {cell.n_cols} "
                                                                     f"step {index}"))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        _write_slices(cache, out)
    return out


def _write_slices(path: Path, slices: LabelledSlices) -> None:
    arrays = {f"image_{i}": image for i, image in enumerate(slices.images)}
    arrays.update({f"label_{i}": label for i, label in enumerate(slices.labels)})
    np.savez_compressed(path, sources=np.array(slices.sources), **arrays)


def _read_slices(path: Path) -> LabelledSlices:
    with np.load(path) as data:
        sources = tuple(str(s) for s in data["sources"])
        return LabelledSlices([data[f"image_{i}"] for i in range(len(sources))],
                              [data[f"label_{i}"] for i in range(len(sources))], sources)


def read_volume(path: Path, *, key: str | None = None) -> np.ndarray:
    """A volume ``(n_z, n_y, n_x)`` from a TIFF stack (``.tif``/``.tiff``) or an HDF5 file (dataset ``key``)."""
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        volume = tifffile.imread(path)
    elif path.suffix.lower() in (".h5", ".hdf5", ".hdf", ".nxs"):
        import h5py

        if key is None:
            raise ValueError(f"{path}: an HDF5 volume needs a dataset key")
        with h5py.File(path, "r") as handle:
            if key not in handle:
                raise ValueError(f"{path}: no dataset {key!r}")
            volume = handle[key][()]
    else:
        raise ValueError(f"{path}: expected a .tif/.tiff stack or an .h5/.hdf5 file")
    if volume.ndim != 3:
        raise ValueError(f"{path}: expected a 3-D volume, got shape {volume.shape}")
    return volume


def labelled_volume_slices(image_path: Path, label_path: Path, *, image_key: str | None = None,
                           label_key: str | None = None, margin_um: float, pixel_size_m: float,
                           electrodes: tuple[str, ...] = ELECTRODES, all_slices: bool = False) -> LabelledSlices:
    """Slices of a user volume (1/m) and its label volume (``Phase`` values).

    The slices crossing ``electrodes``, or every slice with ``all_slices``.
    """
    mu = np.ascontiguousarray(read_volume(image_path, key=image_key), dtype=np.float32)
    labels = read_volume(label_path, key=label_key)
    if labels.shape != mu.shape:
        raise ValueError(f"{label_path}: label shape {labels.shape} differs from the volume's {mu.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{label_path}: labels must be integers (Phase values), got {labels.dtype}")
    if labels.min() < 0 or labels.max() >= len(Phase):
        raise ValueError(f"{label_path}: labels must be Phase values 0..{len(Phase) - 1}, "
                         f"got {labels.min()}..{labels.max()}")
    rows = (np.arange(mu.shape[0]) if all_slices
            else electrode_rows(mu, margin_px=int(round(margin_um * 1e-6 / pixel_size_m)), electrodes=electrodes))
    return volume_slices(mu, labels.astype(np.uint8), rows=rows, source=Path(image_path).name)
