"""The simulated beamline station: a RunEngine, ophyd devices on a simulated cell, and the streams.

Documents go through Bluesky's own 0MQ :class:`~bluesky.callbacks.zmq.Publisher` (JSON serializer)
to the document proxy; pixels go on the raw-frame PUSH stream.
"""

from __future__ import annotations

import logging

from bluesky import RunEngine
from ophyd.sim import SynAxis

from porewatch.kernels import simulate

from ..config import SimulationConfig
from ..documents import open_document_publisher
from ..step_metadata import StepMetadata
from .devices import Galvanostat, Shutter, SimulatedCellBench, TomoDetector
from .frame_sender import FrameSender
from .plans import galvanostatic_experiment

log = logging.getLogger(__name__)


def experiment_steps(names: tuple[str, ...], *, current_density_A_m2: float,
                     duration_s: float) -> list[simulate.GalvanostaticStep]:
    """Galvanostatic steps by name: "pristine" (no current), "plate" (+j) or "strip" (-j)."""
    catalogue = {step.name: step for step in simulate.default_steps(current_density_A_m2=current_density_A_m2,
                                                                     duration_s=duration_s)}
    unknown = [name for name in names if name not in catalogue]
    if unknown:
        raise ValueError(f"unknown galvanostatic step(s) {unknown}; known: {sorted(catalogue)}")
    return [catalogue[name] for name in names]


def build_bench(settings: SimulationConfig) -> SimulatedCellBench:
    """The simulated cell and detector described by the configuration."""
    cell = simulate.CellSpec(seed=settings.seed)
    detector = simulate.DetectorSpec.for_cell(cell, n_cols=settings.n_cols, n_rows=settings.n_rows,
                                              n_angles=settings.n_angles, n_flats=settings.n_flats,
                                              n_darks=settings.n_darks)
    steps = experiment_steps(settings.steps, current_density_A_m2=settings.current_density_A_m2,
                             duration_s=settings.step_duration_s)
    return SimulatedCellBench(cell, detector, steps, cell_id=settings.cell_id)


def step_metadata(bench: SimulatedCellBench) -> list[StepMetadata]:
    """Start-document metadata of every step of the bench's experiment."""
    det = bench.detector
    return [StepMetadata(cell_id=bench.cell_id, step_index=index, step_name=step.name,
                         current_density_A_m2=step.current_density_A_m2, duration_s=step.duration_s,
                         pixel_size_m=det.pixel_size_m, energy_kev=det.energy_kev,
                         propagation_distance_m=det.propagation_distance_m)
            for index, step in enumerate(bench.steps)]


class SimulatedBeamline:
    """RunEngine and devices imaging a simulated cell through a galvanostatic experiment.

    Parameters
    ----------
    bench : the simulated cell
    documents_address : ``tcp://host:port`` of the 0MQ proxy's input
    frames_address : ``tcp://host:port`` where the service's frame PULL socket is bound
    """

    def __init__(self, bench: SimulatedCellBench, *, documents_address: str, frames_address: str):
        self.bench = bench
        self.sender = FrameSender(frames_address)
        self.publisher = open_document_publisher(documents_address)
        self.rotation = SynAxis(name="rotation", value=0.0)
        self.sample_stage = SynAxis(name="sample_stage", value=0.0)
        self.shutter = Shutter(name="shutter")
        self.galvanostat = Galvanostat(name="galvanostat", bench=bench)
        self.detector = TomoDetector(name="detector", bench=bench, sender=self.sender, rotation=self.rotation,
                                     shutter=self.shutter, sample_stage=self.sample_stage)
        self.run_engine = RunEngine({"beamline": "porewatch-simulated"}, call_returns_result=False)
        self.run_engine.subscribe(self.sender)
        self.run_engine.subscribe(self.publisher)

    def run_experiment(self, steps: list[StepMetadata] | None = None) -> tuple[str, ...]:
        """Run every (or the given) step: galvanostat, then darks, flats and projections. Returns run uids."""
        det = self.bench.detector
        angles_deg = det.angles_deg()
        plan = galvanostatic_experiment(self.galvanostat, self.detector, self.rotation, self.shutter,
                                        self.sample_stage, steps=steps or step_metadata(self.bench),
                                        angles_deg=angles_deg, n_flats=det.n_flats, n_darks=det.n_darks,
                                        detector_shape=(det.n_rows, det.n_cols))
        return tuple(self.run_engine(plan))

    def close(self) -> None:
        """Deliver queued frames, then close the streams."""
        self.sender.close()
        self.publisher.close()
