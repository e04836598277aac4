"""Simulated beamline hardware as ophyd devices: galvanostat, shutter, stages and tomography detector.

The devices share one :class:`SimulatedCellBench`, the simulated Li|LLZO|Li cell on the rotation
stage. Setting the galvanostat to a step index runs that galvanostatic step on the cell; the
detector then images the cell's new state. What the detector returns depends on the other devices,
as at a real beamline: shutter closed -> dark, sample stage out of the beam -> flat, otherwise the
projection at the rotation stage's angle. Pixels leave through the :class:`FrameSender`; the
detector's reading holds only the frame index, image key and angle.
"""

from __future__ import annotations

import threading

import numpy as np
from ophyd import Component, Device, Signal
from ophyd.sim import SynAxis
from ophyd.status import DeviceStatus

from porewatch.kernels import simulate

from ..wire import ImageKey
from .frame_sender import FrameSender

ANGLE_TOLERANCE_DEG = 1e-6


class SimulatedCellBench:
    """The simulated cell and its galvanostatic history; precomputes each step's frames.

    Parameters
    ----------
    cell : simulate.CellSpec
    detector : simulate.DetectorSpec
    steps : list of simulate.GalvanostaticStep, the experiment in order (index 0 usually pristine)
    """

    def __init__(self, cell, detector, steps, *, cell_id: str):
        self.cell, self.detector, self.steps, self.cell_id = cell, detector, list(steps), cell_id
        self.states = simulate.evolve(cell, self.steps)
        self.step_index: int | None = None
        self.frames = None

    def simulate_frames(self, step_index: int):
        """Darks, flats and projections (``simulate.StepFrames``) of the cell after step ``step_index``."""
        if not 0 <= step_index < len(self.steps):
            raise ValueError(f"step_index {step_index} outside 0..{len(self.steps) - 1}")
        return simulate.simulate_step(self.states[step_index], self.detector,
                                      seed=self.cell.seed * 1000 + step_index)

    def apply_step(self, step_index: int) -> None:
        """Run galvanostatic step ``step_index`` on the cell and simulate its projections."""
        self.frames = self.simulate_frames(step_index)
        self.step_index = step_index

    def frame(self, image_key: ImageKey, *, count: int, angle_deg: float) -> np.ndarray:
        """The frame the detector sees: the ``count``-th dark/flat, or the projection at ``angle_deg``."""
        if self.frames is None:
            raise RuntimeError("no galvanostatic step applied yet: set the galvanostat first")
        if image_key == ImageKey.DARK:
            return self.frames.darks[count % len(self.frames.darks)]
        if image_key == ImageKey.FLAT:
            return self.frames.flats[count % len(self.frames.flats)]
        angles = np.asarray(self.frames.angles_deg)
        nearest = int(np.argmin(np.abs(angles - angle_deg)))
        if abs(angles[nearest] - angle_deg) > ANGLE_TOLERANCE_DEG:
            raise ValueError(f"no simulated projection at {angle_deg} deg (nearest {angles[nearest]} deg)")
        return self.frames.projections[nearest]


class Galvanostat(Device):
    """Applies galvanostatic steps to the cell; ``set(step_index)`` completes when the step is done."""

    step_index = Component(Signal, value=-1, kind="hinted")
    current_density = Component(Signal, value=0.0, kind="normal")  # A/m^2, signed
    duration = Component(Signal, value=0.0, kind="normal")  # s

    def __init__(self, *args, bench: SimulatedCellBench, **kwargs):
        super().__init__(*args, **kwargs)
        self._bench = bench

    def set(self, step_index: int) -> DeviceStatus:
        status = DeviceStatus(self)

        def run() -> None:
            try:
                self._bench.apply_step(int(step_index))
                step = self._bench.steps[int(step_index)]
                self.current_density.put(float(step.current_density_A_m2))
                self.duration.put(float(step.duration_s))
                self.step_index.put(int(step_index))
                status.set_finished()
            except Exception as error:
                status.set_exception(error)

        threading.Thread(target=run, name="galvanostat-step", daemon=True).start()
        return status


class Shutter(Device):
    """Fast shutter: ``set(1)`` opens, ``set(0)`` closes."""

    state = Component(Signal, value=0, kind="hinted")

    def set(self, value: int) -> DeviceStatus:
        if value not in (0, 1):
            raise ValueError(f"shutter state must be 0 (closed) or 1 (open), got {value!r}")
        self.state.put(int(value))
        status = DeviceStatus(self)
        status.set_finished()
        return status


class TomoDetector(Device):
    """Area detector imaging the simulated cell; pixels go out on the raw-frame stream."""

    frame_index = Component(Signal, value=0, kind="hinted")
    image_key = Component(Signal, value=0, kind="normal")
    angle_deg = Component(Signal, value=0.0, kind="normal")

    def __init__(self, *args, bench: SimulatedCellBench, sender: FrameSender, rotation: SynAxis,
                 shutter: Shutter, sample_stage: SynAxis, **kwargs):
        super().__init__(*args, **kwargs)
        self._bench, self._sender = bench, sender
        self._rotation, self._shutter, self._sample_stage = rotation, shutter, sample_stage
        self._counts = {key: 0 for key in ImageKey}

    def stage(self):
        self._counts = {key: 0 for key in ImageKey}
        return super().stage()

    def _image_key(self) -> ImageKey:
        if self._shutter.state.get() == 0:
            return ImageKey.DARK
        if abs(self._sample_stage.readback.get()) > 0:
            return ImageKey.FLAT
        return ImageKey.PROJECTION

    def trigger(self) -> DeviceStatus:
        key = self._image_key()
        angle = float(self._rotation.readback.get())
        frame = self._bench.frame(key, count=self._counts[key], angle_deg=angle)
        self._counts[key] += 1
        index = self._sender.send(frame, image_key=key, angle_deg=angle)
        self.frame_index.put(index)
        self.image_key.put(int(key))
        self.angle_deg.put(angle)
        status = DeviceStatus(self)
        status.set_finished()
        return status
