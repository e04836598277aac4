"""``porewatch simulate``: the simulated beamline, streaming to a service or exported as DXchange files."""

from __future__ import annotations

import logging
from dataclasses import asdict, is_dataclass
from pathlib import Path

import numpy as np

from porewatch.kernels import simulate

from .beamline.station import SimulatedBeamline, build_bench, step_metadata
from .config import Config, SimulationConfig
from .dxchange import ground_truth_path, write_dxchange, write_ground_truth

log = logging.getLogger(__name__)


def stream_experiment(config: Config) -> tuple[str, ...]:
    """Run the simulated experiment against a running service (and proxy); returns the run uids."""
    net = config.network
    beamline = SimulatedBeamline(build_bench(config.simulation),
                                 documents_address=f"tcp://{net.host}:{net.documents_in_port}",
                                 frames_address=f"tcp://{net.host}:{net.frames_port}")
    try:
        return beamline.run_experiment()
    finally:
        beamline.close()


def truth_tree(truth) -> dict:
    """The simulator's ground truth as a nested dict of arrays and scalars (for HDF5 and JSON)."""
    def convert(value):
        if is_dataclass(value):
            return {k: convert(v) for k, v in asdict(value).items()}
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):
            return {str(i): convert(v) for i, v in enumerate(value)}
        return value
    return convert(truth)


def export_experiment(settings: SimulationConfig, directory: Path) -> list[Path]:
    """Write every step as ``<cell>_step_<index>.h5`` (DXchange) plus its ground truth beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    bench = build_bench(settings)
    paths = []
    for meta, state in zip(step_metadata(bench), bench.states):
        frames = bench.simulate_frames(meta.step_index)
        path = directory / f"{meta.cell_id}_step_{meta.step_index:03d}.h5"
        write_dxchange(path, projections=frames.projections, flats=frames.flats, darks=frames.darks,
                       theta_deg=np.asarray(frames.angles_deg), metadata=meta)
        write_ground_truth(ground_truth_path(path), truth_tree(simulate.ground_truth(state, bench.detector)))
        log.info("wrote %s", path)
        paths.append(path)
    return paths
