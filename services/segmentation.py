"""Segmentation behind one interface: the CNN on a chosen backend, or the classical Otsu baseline.

``make_segmenter(settings)`` returns ``segmenter(mu, *, pixel_size_m) -> (labels, confidence)``:

* ``method = "cnn"``: the classical baseline (multi-Otsu levels, multi-Otsu Li|pore split)
  labels the whole volume cheaply; then only the slices crossing the Li electrodes (coarse
  bands from the z-profile, widened by ``electrode_margin_um``) go through the network,
  tiled with overlap and blended, and replace the baseline there (with ``flip_averaging``,
  each tile's probabilities are averaged over its four mirror images).  With ``pore_fusion``
  (the default) pore vs Li is then decided on each voxel's pore share averaged with the
  slices above and below, against ``pore_fusion_threshold``
  (:func:`~porewatch.kernels.segment.slice_fusion.fuse_pore_decision`).  ``confidence`` is the
  network's probability of the chosen class on those slices and NaN elsewhere.
* ``method = "otsu" | "multiotsu"``: :func:`~porewatch.kernels.segment.threshold.segment_threshold`
  alone; ``confidence`` is None.

Backends (``backend``) run the ONNX file or a safetensors checkpoint:
``"tensorrt"`` (GPU; engine built from the ONNX file with a dynamic-batch optimisation
profile and cached on disk, keyed by GPU model, compute capability, TensorRT version, model
hash and profile), ``"torch"`` (CUDA when available, else CPU), ``"onnxruntime"`` (CPU).
``"auto"`` takes TensorRT when it imports and a CUDA GPU is visible, else torch on CUDA,
else ONNX Runtime, else torch on the CPU (a ``.safetensors`` model: torch).  Only the chosen
backend's library is imported (torch, to ask for CUDA, only where a CUDA driver is
installed), so the service runs without torch when ONNX Runtime serves.
"""

from __future__ import annotations

import ctypes.util
import hashlib
import importlib.resources
import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from porewatch.kernels.labels import Phase
from porewatch.kernels.segment.dataset import electrode_rows
from porewatch.kernels.segment.slice_fusion import fuse_pore_decision
from porewatch.kernels.segment.threshold import segment_threshold
from porewatch.kernels.segment.tiling import flip_averaged, segment_slices

from .model_io import INPUT_NAME, OUTPUT_NAME, file_sha256, read_metadata

log = logging.getLogger(__name__)

#: The model shipped with porewatch (fp16 ONNX trained on simulated cells; card beside it).
SHIPPED_MODEL = Path(str(importlib.resources.files("porewatch.kernels.segment.models") / "unet_resnet34.onnx"))
BACKENDS = ("auto", "tensorrt", "torch", "onnxruntime")


class OnnxRuntimeRunner:
    """ONNX Runtime on the CPU: ``runner(batch (b, 1, h, w) float32) -> (b, n_classes, h, w) float32``."""

    name = "onnxruntime"

    def __init__(self, model_path: Path, *, threads: int | None = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)})[0]


class TorchRunner:
    """torch on CUDA (fp16) or the CPU (fp32), weights from an ``.onnx`` file or a ``.safetensors`` checkpoint."""

    name = "torch"

    def __init__(self, model_path: Path, *, device: str | None = None, threads: int | None = None):
        import torch

        from porewatch.kernels.segment.unet import SoftmaxOutput

        from .model_io import load_model

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self._model = SoftmaxOutput(load_model(model_path).to(self.device, dtype), dtype).eval()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            tensor = self._torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
            return self._model(tensor).cpu().numpy()


def engine_cache_key(*, gpu_name: str, compute_capability: str, tensorrt_version: str, model_sha256: str,
                     max_batch: int, max_side_px: int) -> str:
    """Hex key of a TensorRT engine: an engine is valid only for this GPU model, architecture, TensorRT and model."""
    text = json.dumps([gpu_name, compute_capability, tensorrt_version, model_sha256, max_batch, max_side_px])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class TensorRTRunner:
    """TensorRT on the GPU; the engine is built once from the ONNX file and cached in ``cache_dir``.

    The network is built strongly typed (TensorRT 10+; the only mode of TensorRT 11), so the
    fp16 ONNX file runs in fp16.  One optimisation profile covers batches 1..``max_batch`` and
    sides 32..``max_side_px`` (optimised for full batches of full tiles).  Buffers are CuPy arrays.
    """

    name = "tensorrt"

    def __init__(self, model_path: Path, *, cache_dir: Path, max_batch: int, max_side_px: int):
        import cupy
        import tensorrt as trt

        self._cupy, self._trt = cupy, trt
        self._logger = trt.Logger(trt.Logger.WARNING)
        properties = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        gpu = properties["name"].decode() if isinstance(properties["name"], bytes) else str(properties["name"])
        key = engine_cache_key(gpu_name=gpu, compute_capability=f"{properties['major']}.{properties['minor']}",
                               tensorrt_version=trt.__version__, model_sha256=file_sha256(model_path),
                               max_batch=max_batch, max_side_px=max_side_px)
        path = Path(cache_dir) / f"{Path(model_path).stem}-{key}.engine"
        if not path.exists():
            log.info("building TensorRT engine %s for %s (one-off, minutes)", path.name, gpu)
            path.parent.mkdir(parents=True, exist_ok=True)
            serialized = self._build(model_path, max_batch, max_side_px)
            partial = path.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(serialized)
            partial.replace(path)
        self._runtime = trt.Runtime(self._logger)  # must outlive the engine
        self._engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if self._engine is None:
            raise RuntimeError(f"TensorRT could not load the engine {path}")
        self._context = self._engine.create_execution_context()
        self._stream = cupy.cuda.Stream(non_blocking=True)
        self.engine_path = path

    def _build(self, model_path: Path, max_batch: int, max_side_px: int) -> bytes:
        trt = self._trt
        builder = trt.Builder(self._logger)
        flags = 0
        if hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
            flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, self._logger)
        if not parser.parse(Path(model_path).read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT could not parse {model_path}: {errors}")
        config = builder.create_builder_config()
        profile = builder.create_optimization_profile()
        channels = network.get_input(0).shape[1]
        full = (max_batch, channels, max_side_px, max_side_px)
        profile.set_shape(INPUT_NAME, (1, channels, 32, 32), full, full)
        config.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError(f"TensorRT could not build an engine from {model_path}")
        return bytes(serialized)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        cupy = self._cupy
        with self._stream:
            source = cupy.asarray(np.ascontiguousarray(batch, dtype=np.float32))
            self._context.set_input_shape(INPUT_NAME, tuple(source.shape))
            result = cupy.empty(tuple(self._context.get_tensor_shape(OUTPUT_NAME)), dtype=cupy.float32)
            self._context.set_tensor_address(INPUT_NAME, source.data.ptr)
            self._context.set_tensor_address(OUTPUT_NAME, result.data.ptr)
            if not self._context.execute_async_v3(self._stream.ptr):
                raise RuntimeError("TensorRT execution failed")
            out = cupy.asnumpy(result, stream=self._stream)
        self._stream.synchronize()
        return out


def _cuda_visible() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no cupy, no driver, no device: all mean no GPU for TensorRT
        return False


def importable(module: str) -> bool:
    """Whether ``module`` is installed, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # what an import hook or a half-imported module says for "not here"
        return False


def _cuda_driver_present() -> bool:
    """Whether the CUDA driver library is installed, without importing torch or CuPy."""
    return ctypes.util.find_library("cuda") is not None


def resolve_backend(requested: str, *, model_path: Path) -> str:
    """The backend ``auto`` stands for here for ``model_path`` (see the module docstring): TensorRT and
    ONNX Runtime run ``.onnx`` files only, so a ``.safetensors`` model goes to torch.  Others are
    returned as given."""
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {requested!r}")
    if requested != "auto":
        return requested
    onnx_file = Path(model_path).suffix == ".onnx"
    if onnx_file and importable("tensorrt") and _cuda_visible():
        return "tensorrt"
    if importable("torch") and _cuda_driver_present():
        import torch

        if torch.cuda.is_available():
            return "torch"
    if onnx_file and importable("onnxruntime"):
        return "onnxruntime"
    if importable("torch"):
        return "torch"
    raise RuntimeError(f"no segmentation backend for {Path(model_path).name}: install onnxruntime, torch or "
                       "tensorrt (a .safetensors model needs torch)")


def make_runner(backend: str, model_path: Path, *, cache_dir: Path, batch_size: int, tile_px: int,
                threads: int | None = None):
    """The runner of a (resolved) backend for ``model_path``."""
    if backend == "onnxruntime":
        return OnnxRuntimeRunner(model_path, threads=threads)
    if backend == "torch":
        return TorchRunner(model_path, threads=threads)
    if backend == "tensorrt":
        if Path(model_path).suffix != ".onnx":
            raise ValueError(f"the tensorrt backend builds from an .onnx file, got {model_path}")
        return TensorRTRunner(model_path, cache_dir=cache_dir, max_batch=batch_size, max_side_px=tile_px)
    raise ValueError(f"backend must be one of {BACKENDS[1:]}, got {backend!r}")


@dataclass(frozen=True)
class SegmentationSummary:
    """What the last call segmented: reported with each step."""

    method: str
    backend: str | None
    model: str | None
    flip_averaged: bool
    pore_fusion_threshold: float | None
    cnn_slices: int
    mean_confidence: float | None
    confident_fraction: float | None

    def to_report(self) -> dict:
        return dict(self.__dict__)


class CnnSegmenter:
    """Baseline everywhere, the network on the electrode-crossing slices (see the module docstring)."""

    def __init__(self, runner, *, model_path: Path, tile_px: int, overlap_px: int, batch_size: int,
                 electrode_margin_um: float, confident_probability: float = 0.8, flip_averaging: bool = False,
                 pore_fusion_threshold: float | None = None):
        self.runner = runner
        self.model_path = Path(model_path)
        self.n_classes = int(read_metadata(model_path)["n_classes"])
        self.tile_px, self.overlap_px, self.batch_size = tile_px, overlap_px, batch_size
        self.electrode_margin_um = electrode_margin_um
        self.confident_probability = confident_probability
        self.flip_averaging = flip_averaging
        self.pore_fusion_threshold = pore_fusion_threshold
        self._predict = flip_averaged(runner) if flip_averaging else runner
        self.summary: SegmentationSummary | None = None

    def segment_electrode_slices(self, mu, *, pixel_size_m: float):
        """The rows of ``mu`` crossing the Li electrodes and the network's slice-wise output there
        (:class:`~porewatch.kernels.segment.tiling.SegmentedSlices`, with the pore share of pore | Li)."""
        rows = electrode_rows(mu, margin_px=int(round(self.electrode_margin_um * 1e-6 / pixel_size_m)))
        return rows, segment_slices(mu[rows], predict=self._predict, n_classes=self.n_classes, tile_px=self.tile_px,
                                    overlap_px=self.overlap_px, batch_size=self.batch_size,
                                    share_of=(Phase.PORE, Phase.LITHIUM))

    def __call__(self, mu, *, pixel_size_m: float):
        mu = np.ascontiguousarray(mu, dtype=np.float32)
        labels = segment_threshold(mu, method="multiotsu")
        confidence = np.full(mu.shape, np.nan, dtype=np.float32)
        rows, segmented = self.segment_electrode_slices(mu, pixel_size_m=pixel_size_m)
        labels[rows], confidence[rows] = (
            (segmented.labels, segmented.confidence) if self.pore_fusion_threshold is None
            else fuse_pore_decision(segmented.labels, segmented.confidence, segmented.share, rows,
                                    threshold=self.pore_fusion_threshold))
        inside = labels[rows] != Phase.OUTSIDE
        values = confidence[rows][inside]
        self.summary = SegmentationSummary(
            "cnn", self.runner.name, self.model_path.name, self.flip_averaging, self.pore_fusion_threshold,
            int(rows.size),
            float(values.mean()) if values.size else None,
            float((values > self.confident_probability).mean()) if values.size else None)
        return labels, confidence


class ThresholdSegmenter:
    """The classical baseline alone; no confidence."""

    def __init__(self, method: str):
        self.method = method
        self.summary = SegmentationSummary(method, None, None, False, None, 0, None, None)

    def __call__(self, mu, *, pixel_size_m: float):
        return segment_threshold(mu, method=self.method), None


def make_segmenter(settings):
    """The segmenter configured by ``settings`` (:class:`~porewatch.services.config.SegmentationConfig`)."""
    if settings.method in ("otsu", "multiotsu"):
        return ThresholdSegmenter(settings.method)
    model_path = Path(settings.model_path) if settings.model_path else SHIPPED_MODEL
    if not model_path.exists():
        raise ValueError(f"segmentation.model_path: {model_path} does not exist")
    backend = resolve_backend(settings.backend, model_path=model_path)
    runner = make_runner(backend, model_path, cache_dir=Path(settings.engine_cache_dir), batch_size=settings.batch_size,
                         tile_px=settings.tile_px, threads=settings.threads)
    fusion_threshold = settings.pore_fusion_threshold if settings.pore_fusion else None
    log.info("segmentation: CNN %s on %s%s%s", model_path.name, backend,
             ", averaged over mirror images" if settings.flip_averaging else "",
             "" if fusion_threshold is None else f", pore vs Li over neighbouring slices (threshold {fusion_threshold})")
    return CnnSegmenter(runner, model_path=model_path, tile_px=settings.tile_px, overlap_px=settings.overlap_px,
                        batch_size=settings.batch_size, electrode_margin_um=settings.electrode_margin_um,
                        confident_probability=settings.confident_probability,
                        flip_averaging=settings.flip_averaging,
                        pore_fusion_threshold=fusion_threshold)
