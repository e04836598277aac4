"""Benchmark of the segmentation network: ms per 512^2 slice on the CPU backends, slices/s with TensorRT.

CPU (always): ONNX Runtime and eager torch (if installed) run the same model on the same
512 x 512 slices in one process, at each ``--batch`` size; the reference line is the
0.3 s per slice of Dixit et al. (2020).  ``--gpu`` (when TensorRT, CuPy and a GPU are
present): TensorRT fp16 slices per second at 512^2 and batch ``--gpu-batch``, and the
agreement of its class maps with ONNX Runtime's on the electrode slices of a simulated
cell (target: identical on more than 99.5 % of pixels).

    python -m porewatch.tools.bench_segment --json bench.json
    python -m porewatch.tools.bench_segment --gpu --gpu-batch 32
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PAPER_SECONDS_PER_SLICE = 0.3
#: Fraction of pixels on which TensorRT's class maps must equal ONNX Runtime's.
AGREEMENT_TARGET = 0.995


def realistic_slices(model_path: Path, n: int, size: int, seed: int = 0) -> np.ndarray:
    """``(n, 1, size, size)`` float32 noise with the model's input statistics (1/m)."""
    from porewatch.services.model_io import read_metadata

    meta = read_metadata(model_path)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, 1, size, size)).astype(np.float32)
    return meta["input_offset_per_m"] + meta["input_scale_per_m"] * noise


def time_runner(runner, batch: np.ndarray, repeats: int) -> float:
    """Median seconds of one ``runner(batch)`` call after one warm-up call."""
    runner(batch)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        runner(batch)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def cpu_benchmarks(model_path: Path, *, backends: list[str], batches: list[int], size: int, repeats: int,
                   threads: int) -> list[dict]:
    """ms per slice of each requested CPU backend (those installed) at each batch size."""
    from porewatch.services.segmentation import OnnxRuntimeRunner, TorchRunner, importable

    makers = {"onnxruntime": lambda: OnnxRuntimeRunner(model_path, threads=threads),
              "torch": lambda: TorchRunner(model_path, device="cpu", threads=threads)}
    rows = []
    for name in backends:
        if not importable(name):
            print(f"{name} is not installed; skipped", file=sys.stderr)
            continue
        runner = makers[name]()
        for batch in batches:
            seconds = time_runner(runner, realistic_slices(model_path, batch, size), repeats)
            rows.append({"backend": name, "batch": batch, "size_px": size, "threads": threads,
                         "ms_per_slice": 1e3 * seconds / batch})
    return rows


def gpu_benchmark(model_path: Path, *, batch: int, size: int, repeats: int, agreement_n_cols: int) -> dict:
    """TensorRT fp16 throughput at ``size``^2 and class-map agreement with ONNX Runtime on simulated slices."""
    from porewatch.kernels.labels import Phase
    from porewatch.kernels.segment.dataset import electrode_rows
    from porewatch.kernels.segment.tiling import segment_slices
    from porewatch.services.config import PipelineConfig
    from porewatch.services.segmentation import OnnxRuntimeRunner, TensorRTRunner
    from porewatch.services.training_data import SimulatedCell, simulated_volumes

    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        runner = TensorRTRunner(model_path, cache_dir=Path(cache), max_batch=batch, max_side_px=size)
        build_seconds = time.perf_counter() - started
        seconds = time_runner(runner, realistic_slices(model_path, batch, size), repeats)
        _, mu, _, _, pixel_size_m = next(simulated_volumes(SimulatedCell(9001, agreement_n_cols, ("pristine",),
                                                                         randomise=False), PipelineConfig()))
        slices = mu[electrode_rows(mu, margin_px=int(round(60e-6 / pixel_size_m)))]
        common = dict(n_classes=len(Phase), tile_px=size, overlap_px=64, batch_size=batch)
        trt_labels = segment_slices(slices, predict=runner, **common).labels
        ort_labels = segment_slices(slices, predict=OnnxRuntimeRunner(model_path), **common).labels
    same = trt_labels == ort_labels
    agreement = float(np.mean(same))
    return {"backend": "tensorrt", "precision": "fp16", "batch": batch, "size_px": size,
            "slices_per_second": batch / seconds, "engine_build_seconds": build_seconds,
            "agreement_with_onnxruntime": agreement,
            "agreement_inside_cell": float(np.mean(same[ort_labels != Phase.OUTSIDE])),
            "agreement_target": AGREEMENT_TARGET, "agreement_met": agreement > AGREEMENT_TARGET,
            "agreement_slices": int(slices.shape[0]), "agreement_n_cols": agreement_n_cols}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model file; default the shipped one")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, nargs="+", default=[1])
    parser.add_argument("--backends", nargs="+", choices=("onnxruntime", "torch"), default=["onnxruntime", "torch"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--gpu", action="store_true", help="also TensorRT (needs tensorrt, cupy and a GPU)")
    parser.add_argument("--gpu-batch", type=int, default=32)
    parser.add_argument("--agreement-n-cols", type=int, default=256)
    parser.add_argument("--json", nargs="?", const="-", default=None, help="write results as JSON (to a file or -)")
    args = parser.parse_args(argv)
    from porewatch.services.segmentation import SHIPPED_MODEL, _cuda_visible, importable

    model = Path(args.model) if args.model else SHIPPED_MODEL
    result = {"model": model.name, "reference_seconds_per_slice": PAPER_SECONDS_PER_SLICE,
              "cpu": cpu_benchmarks(model, backends=args.backends, batches=args.batch, size=args.size,
                                    repeats=args.repeats, threads=args.threads)}
    for row in result["cpu"]:
        row["speedup_over_paper"] = 1e3 * PAPER_SECONDS_PER_SLICE / row["ms_per_slice"]
        print(f"{row['backend']:>12} batch {row['batch']:>3}: {row['ms_per_slice']:8.1f} ms per {args.size}^2 slice "
              f"({row['threads']} threads), {row['speedup_over_paper']:.2f}x the paper's "
              f"{1e3 * PAPER_SECONDS_PER_SLICE:.0f} ms", file=sys.stderr)
    if args.gpu:
        if importable("tensorrt") and _cuda_visible():
            result["gpu"] = gpu_benchmark(model, batch=args.gpu_batch, size=args.size, repeats=args.repeats,
                                          agreement_n_cols=args.agreement_n_cols)
            g = result["gpu"]
            g["speedup_over_paper"] = g["slices_per_second"] * PAPER_SECONDS_PER_SLICE
            print(f"    tensorrt batch {g['batch']:>3}: {g['slices_per_second']:8.0f} slices/s at {args.size}^2 "
                  f"(fp16), {g['speedup_over_paper']:.0f}x the paper's; class maps agree with ONNX Runtime on "
                  f"{100 * g['agreement_with_onnxruntime']:.3f}% of pixels ({100 * g['agreement_inside_cell']:.3f}% "
                  f"inside the cell; target > {100 * AGREEMENT_TARGET:.1f}%: "
                  f"{'met' if g['agreement_met'] else 'MISSED'})", file=sys.stderr)
        else:
            print("--gpu: TensorRT, CuPy or a CUDA GPU is missing; skipped", file=sys.stderr)
            result["gpu"] = None
    if args.json == "-":
        print(json.dumps(result, indent=1))
    elif args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
