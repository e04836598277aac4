"""Step assembly: ordering, early frames, references, timeouts and rejections."""

import numpy as np
import pytest

from porewatch.services.assembly import StepAssembler
from porewatch.services.metrics import ServiceMetrics
from porewatch.services.config import PipelineConfig
from porewatch.services.processing import FramePreprocessor
from porewatch.services.step_metadata import StepMetadata
from porewatch.services.wire import EndOfRun, FrameHeader, ImageKey

SHAPE = (4, 8)
META = StepMetadata(cell_id="c1", step_index=0, step_name="pristine", current_density_A_m2=0.0, duration_s=0.0,
                    pixel_size_m=1e-5, energy_kev=76.2, propagation_distance_m=0.1)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _start(uid="run-1", projections=3, flats=2, darks=2):
    return ("document", "start", {"uid": uid, "plan_name": "tomo_step_scan", **META.to_dict(),
                                  "frames_expected": {"projections": projections, "flats": flats, "darks": darks},
                                  "detector_shape": list(SHAPE)})


def _frame(index, key, angle=0.0, value=1000, uid="run-1", shape=SHAPE):
    header = FrameHeader(run_uid=uid, frame_index=index, image_key=ImageKey(key), angle_deg=angle,
                         dtype="uint16", shape=shape, timestamp=0.0)
    return ("frame", header, np.full(shape, value, np.uint16))


@pytest.fixture
def assembler():
    metrics, clock = ServiceMetrics(), Clock()
    preprocess = FramePreprocessor(PipelineConfig(recon_method="fbp", zinger_threshold=None))
    return StepAssembler(preprocess, metrics,
                         unknown_run_grace_s=5.0, end_of_run_timeout_s=10.0, clock=clock), metrics, clock


def _feed(assembler, events):
    done = []
    for event in events:
        done += assembler.handle(event)
    return done


def _rejected(metrics, reason):
    return metrics.frames_rejected.labels(reason=reason)._value.get()


def test_step_completes_on_stop_and_end_marker_with_angles_sorted(assembler):
    asm, metrics, _ = assembler
    events = [_start(), _frame(0, 2, value=100), _frame(1, 2, value=100), _frame(2, 0, 20.0, 550),
              _frame(3, 1, value=1000), _frame(4, 1, value=1000), _frame(5, 0, 10.0, 325), _frame(6, 0, 0.0, 1000),
              ("document", "stop", {"run_start": "run-1"})]
    assert _feed(asm, events) == []
    [step] = asm.handle(("end_of_run", EndOfRun("run-1", 7)))
    np.testing.assert_allclose(np.rad2deg(step.angles_rad), [0.0, 10.0, 20.0])
    transmissions = np.exp(-step.line_integrals[:, 0, 0])
    np.testing.assert_allclose(transmissions, [1.0, 0.25, 0.5], rtol=1e-5)  # (I - D) / (F - D)
    assert step.frame_counts == {"projections": 3, "flats": 2, "darks": 2}
    assert metrics.frames_received.labels(image_key="0")._value.get() == 3


def test_frames_before_their_start_document_wait_for_it(assembler):
    asm, metrics, clock = assembler
    _feed(asm, [_frame(0, 2, value=100), _frame(1, 1, value=1000), _frame(2, 0, 0.0, 500)])
    clock.now = 4.0
    _feed(asm, [_start(projections=1, flats=1, darks=1), ("document", "stop", {"run_start": "run-1"})])
    [step] = asm.handle(("end_of_run", EndOfRun("run-1", 3)))
    assert step.frame_counts == {"projections": 1, "flats": 1, "darks": 1}
    assert _rejected(metrics, "unknown_run") == 0


def test_frames_of_a_run_that_never_starts_are_rejected_after_the_grace_time(assembler):
    asm, metrics, clock = assembler
    asm.handle(_frame(0, 0, uid="ghost"))
    clock.now = 6.0
    assert asm.poll() == []
    assert _rejected(metrics, "unknown_run") == 1


def test_wrong_shape_and_duplicates_are_rejected_and_the_step_still_completes(assembler):
    asm, metrics, _ = assembler
    events = [_start(projections=1, flats=1, darks=1), _frame(0, 2, value=100), _frame(1, 1, value=1000),
              _frame(1, 1, value=1000), _frame(9, 0, 5.0, shape=(2, 2)), _frame(2, 0, 0.0, 500),
              ("document", "stop", {"run_start": "run-1"}), ("end_of_run", EndOfRun("run-1", 5))]
    [step] = _feed(asm, events)
    assert _rejected(metrics, "duplicate") == 1 and _rejected(metrics, "wrong_shape") == 1
    assert step.frame_counts["projections"] == 1


def test_a_lost_end_marker_completes_the_step_after_the_timeout(assembler):
    asm, _, clock = assembler
    _feed(asm, [_start(projections=2, flats=1, darks=1), _frame(0, 2, value=100), _frame(1, 1, value=1000),
                _frame(2, 0, 0.0, 500), ("document", "stop", {"run_start": "run-1"})])
    clock.now = 9.0
    assert asm.poll() == []
    clock.now = 11.0
    [step] = asm.poll()
    assert step.frame_counts["projections"] == 1 and step.frames_expected["projections"] == 2


def test_a_step_without_flats_fails_and_is_counted(assembler):
    asm, metrics, _ = assembler
    steps = _feed(asm, [_start(projections=1, flats=1, darks=1), _frame(0, 2, value=100), _frame(1, 0, 0.0, 500),
                        ("document", "stop", {"run_start": "run-1"}), ("end_of_run", EndOfRun("run-1", 2))])
    assert steps == []
    assert metrics.steps_failed._value.get() == 1


def test_a_start_document_without_step_metadata_is_ignored(assembler):
    asm, _, _ = assembler
    asm.handle(("document", "start", {"uid": "x", "plan_name": "tomo_step_scan"}))
    assert asm.handle(("document", "stop", {"run_start": "x"})) == []
