import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.kernels.segment.dataset import electrode_rows
from porewatch.services.config import PORE_FUSION_THRESHOLD, SegmentationConfig
from porewatch.services.model_io import read_metadata
from porewatch.services.segmentation import (
    SHIPPED_MODEL,
    CnnSegmenter,
    OnnxRuntimeRunner,
    engine_cache_key,
    make_segmenter,
    resolve_backend,
)

PIXEL_SIZE_M = 10e-6


@pytest.fixture
def lithium_model(tmp_path, write_linear_model):
    """Says LITHIUM everywhere with probability ~0.9."""
    biases = np.zeros(len(Phase))
    biases[Phase.LITHIUM] = np.log(0.9 / 0.1 * (len(Phase) - 1))
    return write_linear_model(tmp_path / "lithium.onnx", weights=np.zeros(len(Phase)), biases=biases)


def layered_cell(n_z=64, n=48, seed=0):
    """air | steel | Li | LLZO | Li | steel | air in a disc, with noise (1/m)."""
    rng = np.random.default_rng(seed)
    mu = np.zeros((n_z, n, n), np.float32)
    for (start, stop), value in (((3, 10), 550.0), ((10, 24), 7.0), ((24, 40), 1440.0), ((40, 54), 7.0),
                                 ((54, 61), 550.0)):
        mu[start:stop] = value
    offset = np.arange(n) - (n - 1) / 2
    mu[:, np.hypot(offset[:, None], offset[None, :]) > 0.4 * n] = 0.0
    return mu + rng.normal(0.0, 20.0, mu.shape).astype(np.float32)


def test_onnxruntime_runner_returns_probabilities(lithium_model):
    runner = OnnxRuntimeRunner(lithium_model, threads=1)
    out = runner(np.zeros((3, 1, 32, 64), np.float32))
    assert out.shape == (3, len(Phase), 32, 64) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out[:, Phase.LITHIUM], 0.9, rtol=1e-5)


def test_cnn_segments_only_the_electrode_slices_and_keeps_its_confidence(lithium_model):
    mu = layered_cell()
    segmenter = CnnSegmenter(OnnxRuntimeRunner(lithium_model), model_path=lithium_model, tile_px=32, overlap_px=8,
                             batch_size=3, electrode_margin_um=20.0)
    labels, confidence = segmenter(mu, pixel_size_m=PIXEL_SIZE_M)
    rows = electrode_rows(mu, margin_px=2)
    others = np.setdiff1d(np.arange(mu.shape[0]), rows)
    assert labels.dtype == np.uint8 and confidence.dtype == np.float32 and labels.shape == mu.shape
    assert np.all(labels[rows] == Phase.LITHIUM)
    np.testing.assert_allclose(confidence[rows], 0.9, rtol=1e-5)
    assert np.all(np.isnan(confidence[others]))
    assert np.any(labels[others] == Phase.LLZO) and np.any(labels[others] == Phase.STEEL)
    summary = segmenter.summary
    assert summary.method == "cnn" and summary.backend == "onnxruntime" and summary.cnn_slices == rows.size
    assert summary.confident_fraction == 1.0 and summary.mean_confidence == pytest.approx(0.9, rel=1e-5)
    assert not summary.flip_averaged


def test_flip_averaged_cnn_says_so_and_agrees_for_a_pixelwise_model(lithium_model):
    mu = layered_cell()
    common = dict(model_path=lithium_model, tile_px=32, overlap_px=8, batch_size=3, electrode_margin_um=20.0)
    plain = CnnSegmenter(OnnxRuntimeRunner(lithium_model), **common)
    mirrored = CnnSegmenter(OnnxRuntimeRunner(lithium_model), flip_averaging=True, **common)
    (labels, confidence), (labels_avg, confidence_avg) = (s(mu, pixel_size_m=PIXEL_SIZE_M) for s in (plain, mirrored))
    np.testing.assert_array_equal(labels_avg, labels)
    np.testing.assert_allclose(confidence_avg, confidence, rtol=1e-5)
    assert mirrored.summary.flip_averaged and mirrored.summary.to_report()["flip_averaged"] is True


def test_threshold_methods_give_labels_without_confidence():
    segmenter = make_segmenter(SegmentationConfig(method="multiotsu"))
    labels, confidence = segmenter(layered_cell(), pixel_size_m=PIXEL_SIZE_M)
    assert confidence is None and labels.dtype == np.uint8
    assert segmenter.summary.to_report()["method"] == "multiotsu"


def test_make_segmenter_uses_the_configured_model_and_backend(lithium_model):
    segmenter = make_segmenter(SegmentationConfig(method="cnn", backend="onnxruntime", model_path=lithium_model,
                                                  tile_px=64, overlap_px=16))
    labels, _ = segmenter(layered_cell(), pixel_size_m=PIXEL_SIZE_M)
    assert segmenter.runner.name == "onnxruntime" and np.any(labels == Phase.LITHIUM)


def test_overlap_larger_than_half_a_tile_is_rejected_by_the_configuration():
    with pytest.raises(ValueError, match="overlap_px"):
        SegmentationConfig(tile_px=64, overlap_px=40)


def test_missing_model_file_is_reported(tmp_path):
    with pytest.raises(ValueError, match="model_path"):
        make_segmenter(SegmentationConfig(method="cnn", model_path=tmp_path / "absent.onnx"))


def test_backend_names_are_checked_and_auto_resolves_to_an_installed_backend():
    with pytest.raises(ValueError, match="backend"):
        resolve_backend("tpu", model_path=SHIPPED_MODEL)
    assert resolve_backend("onnxruntime", model_path=SHIPPED_MODEL) == "onnxruntime"
    assert resolve_backend("auto", model_path=SHIPPED_MODEL) in ("tensorrt", "torch", "onnxruntime")


def test_auto_gives_a_checkpoint_to_torch():
    pytest.importorskip("torch")
    assert resolve_backend("auto", model_path=Path("model.safetensors")) == "torch"


def test_engine_cache_key_changes_with_every_part():
    parts = dict(gpu_name="NVIDIA H100", compute_capability="9.0", tensorrt_version="11.0.0", model_sha256="ab",
                 max_batch=8, max_side_px=512)
    keys = {engine_cache_key(**parts)}
    for name, other in (("gpu_name", "NVIDIA A100"), ("compute_capability", "8.0"), ("tensorrt_version", "10.9"),
                        ("model_sha256", "cd"), ("max_batch", 16), ("max_side_px", 256)):
        keys.add(engine_cache_key(**{**parts, name: other}))
    assert len(keys) == 7


def test_shipped_model_is_a_small_fp16_resnet34_unet():
    assert SHIPPED_MODEL.exists() and SHIPPED_MODEL.stat().st_size <= 60e6
    meta = read_metadata(SHIPPED_MODEL)
    assert meta["precision"] == "fp16" and meta["n_classes"] == len(Phase)
    assert meta["encoder_channels"] == [64, 128, 256, 512] and meta["depths"] == [3, 4, 6, 3]
    assert meta["decoder_channels"] == [256, 128, 64, 32, 16]
    assert (SHIPPED_MODEL.parent / "unet_resnet34.md").exists()


def test_tensorrt_runner_on_a_gpu(lithium_model, tmp_path):
    pytest.importorskip("tensorrt")
    pytest.importorskip("cupy")
    from porewatch.services.segmentation import TensorRTRunner, _cuda_visible

    if not _cuda_visible():
        pytest.skip("no CUDA GPU")
    runner = TensorRTRunner(lithium_model, cache_dir=tmp_path, max_batch=4, max_side_px=64)
    out = runner(np.zeros((2, 1, 64, 64), np.float32))
    np.testing.assert_allclose(out[:, Phase.LITHIUM], 0.9, rtol=1e-2)
    again = TensorRTRunner(lithium_model, cache_dir=tmp_path, max_batch=4, max_side_px=64)
    assert again.engine_path == runner.engine_path and len(list(tmp_path.glob("*.engine"))) == 1


def test_step_analyser_reports_the_cnn_and_keeps_its_confidence(lithium_model):
    from porewatch.services.assembly import AssembledStep
    from porewatch.services.config import AnalysisConfig
    from porewatch.services.metrics import ServiceMetrics
    from porewatch.services.processing import ReconstructedStep, StepAnalyser
    from porewatch.services.step_metadata import StepMetadata

    rng = np.random.default_rng(1)
    mu = np.zeros((96, 48, 48), np.float32)
    for (start, stop), value in (((4, 18), 550.0), ((18, 34), 7.0), ((34, 62), 1440.0), ((62, 78), 7.0),
                                 ((78, 92), 550.0)):
        mu[start:stop] = value
    offset = np.arange(48) - 23.5
    mu[:, np.hypot(offset[:, None], offset[None, :]) > 20] = 0.0
    mu += rng.normal(0.0, 20.0, mu.shape).astype(np.float32)
    meta = StepMetadata(cell_id="c", step_index=0, step_name="pristine", current_density_A_m2=0.0, duration_s=0.0,
                        pixel_size_m=PIXEL_SIZE_M, energy_kev=76.0, propagation_distance_m=0.1)
    step = AssembledStep("uid", meta, np.zeros(1), np.zeros((1, 96, 48), np.float32), None, {}, {}, 0.0)
    analyser = StepAnalyser(SegmentationConfig(method="cnn", backend="onnxruntime", model_path=lithium_model,
                                               tile_px=64, overlap_px=16), AnalysisConfig())
    analysed = analyser.run(ReconstructedStep(step, mu, 23.5, 0.0), ServiceMetrics())
    report = analysed.report["segmentation"]
    assert report["method"] == "cnn" and report["backend"] == "onnxruntime" and report["model"] == "lithium.onnx"
    assert report["confident_fraction"] == 1.0
    assert analysed.confidence.shape == mu.shape and np.nanmax(analysed.confidence) == pytest.approx(0.9, rel=1e-5)
    assert analysed.report["top"]["porosity"] == 0.0  # the stand-in network sees no pore
    from porewatch.services.outputs import step_arrays

    stored = step_arrays(analysed, include_volumes=True)
    assert stored["confidence"] is analysed.confidence and stored["labels"].shape == mu.shape
    assert "confidence" not in step_arrays(analysed, include_volumes=False)


def test_pore_decision_takes_the_neighbouring_slices_when_configured(tmp_path, write_linear_model):
    """A pore three slices deep whose middle slice alone reads Li: pore throughout with the fusion."""
    weights, biases = np.zeros(len(Phase)), np.full(len(Phase), -20.0)
    weights[Phase.PORE], biases[[Phase.PORE, Phase.LITHIUM]] = -0.1, 0.0  # pore share = sigmoid(-0.1 mu / (1/m))
    model = write_linear_model(tmp_path / "pore.onnx", weights=weights, biases=biases)
    mu = layered_cell()
    mu[10:24][mu[10:24] != 0], mu[40:54][mu[40:54] != 0] = 7.0, 7.0  # noise-free Li: share 0.33
    mu[15:18, 20:28, 20:28] = np.array([-30.0, 2.0, -30.0])[:, None, None]  # shares 0.95, 0.45, 0.95
    common = dict(model_path=model, tile_px=32, overlap_px=8, batch_size=3, electrode_margin_um=20.0)
    plain = CnnSegmenter(OnnxRuntimeRunner(model), **common)
    fused = CnnSegmenter(OnnxRuntimeRunner(model), pore_fusion_threshold=0.5, **common)
    (labels, _), (fused_labels, fused_confidence) = (s(mu, pixel_size_m=PIXEL_SIZE_M) for s in (plain, fused))
    column = (slice(13, 20), 24, 24)
    assert labels[column].tolist() == [Phase.LITHIUM] * 2 + [Phase.PORE, Phase.LITHIUM, Phase.PORE] + [Phase.LITHIUM] * 2
    assert fused_labels[column].tolist() == [Phase.LITHIUM] * 2 + [Phase.PORE] * 3 + [Phase.LITHIUM] * 2
    assert fused_confidence[16, 24, 24] == pytest.approx(0.45, abs=0.01)  # the network's pore probability there
    uniform_lithium = mu == 7.0  # its neighbours' shares are at most 0.95: (2 * 0.33 + 0.33 + 0.95) / 4 < 0.5
    np.testing.assert_array_equal(fused_labels[uniform_lithium], labels[uniform_lithium])
    assert np.all(labels[uniform_lithium] == Phase.LITHIUM)
    assert plain.summary.pore_fusion_threshold is None and fused.summary.to_report()["pore_fusion_threshold"] == 0.5


def test_slice_fusion_is_on_by_default_at_the_calibrated_threshold_and_can_be_switched_off(lithium_model):
    config = SegmentationConfig()
    assert config.pore_fusion and config.pore_fusion_threshold == PORE_FUSION_THRESHOLD < 0.5
    common = dict(method="cnn", backend="onnxruntime", model_path=lithium_model, tile_px=64, overlap_px=16)
    assert make_segmenter(SegmentationConfig(**common)).pore_fusion_threshold == PORE_FUSION_THRESHOLD
    assert make_segmenter(SegmentationConfig(**common, pore_fusion=False)).pore_fusion_threshold is None


def test_the_service_segments_with_onnxruntime_where_torch_is_not_installed():
    """An import hook refuses torch, as a machine without it would."""
    script = """
import sys


class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, NoTorch())
import numpy as np
import porewatch.services.service, porewatch.services.demo, porewatch.services.cli
from porewatch.services.config import SegmentationConfig
from porewatch.services.segmentation import make_segmenter
mu = np.full((40, 64, 64), 7.0, np.float32)  # steel | Li | LLZO | Li | steel in a disc in air (1/m)
mu[:6] = mu[34:] = 550.0
mu[14:26] = 1440.0
mu[:, np.hypot(*np.mgrid[-32:32, -32:32] + 0.5) > 26] = 0.0
mu += np.random.default_rng(0).normal(0.0, 20.0, mu.shape).astype(np.float32)
segmenter = make_segmenter(SegmentationConfig(tile_px=64, overlap_px=16))
labels, confidence = segmenter(mu, pixel_size_m=10e-6)
assert segmenter.runner.name == "onnxruntime" and segmenter.summary.cnn_slices > 0
assert not any(name.split(".")[0] == "torch" for name in sys.modules)
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
