"""Benchmark of porewatch's reconstructors against astra-toolbox CPU FBP and algotom DFI.

All methods reconstruct the same analytic Shepp-Logan sinograms (exact line integrals of
ellipses, so no inverse crime) in one process; the error is the relative L2 error inside
the reconstruction circle against the pixel-averaged phantom.

    python -m porewatch.tools.bench_recon --sizes 256 512 --slices 2 --json out.json
    python -m porewatch.tools.bench_recon --gpu          # CuPy gridrec of 2048^3, 1500 angles

The peers are optional (not porewatch dependencies):
    /work/venv/bin/pip install astra-toolbox algotom
A peer that is not installed is skipped with a message.
"""

import argparse
import json
import sys
import time

import numpy as np

#: Modified Shepp-Logan phantom (Toft): value, semi-axes a, b, centre x0, y0 (fractions of
#: the phantom radius), rotation (degrees, from x towards y).
SHEPP_LOGAN_ELLIPSES = (
    (1.0, 0.69, 0.92, 0.0, 0.0, 0.0),
    (-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0),
    (-0.2, 0.11, 0.31, 0.22, 0.0, -18.0),
    (-0.2, 0.16, 0.41, -0.22, 0.0, 18.0),
    (0.1, 0.21, 0.25, 0.0, 0.35, 0.0),
    (0.1, 0.046, 0.046, 0.0, 0.1, 0.0),
    (0.1, 0.046, 0.046, 0.0, -0.1, 0.0),
    (0.1, 0.046, 0.023, -0.08, -0.605, 0.0),
    (0.1, 0.023, 0.023, 0.0, -0.606, 0.0),
    (0.1, 0.023, 0.046, 0.06, -0.605, 0.0),
)


def _scaled_ellipses(n: int):
    """Ellipses in pixel units for an ``n x n`` slice: radius 0.95 (n - 1) / 2."""
    radius = 0.95 * (n - 1) / 2.0
    for value, a, b, x0, y0, phi in SHEPP_LOGAN_ELLIPSES:
        yield value, a * radius, b * radius, x0 * radius, y0 * radius, np.deg2rad(phi)


def ellipse_sinogram(n: int, angles_rad, *, center_offset_px: float = 0.0) -> np.ndarray:
    """Exact line integrals of the modified Shepp-Logan phantom, (n_angles, n) float64.

    Detector column ``c`` sits at ``s = c - (n - 1) / 2 - center_offset_px`` pixels, i.e.
    the rotation axis projects to column ``(n - 1) / 2 + center_offset_px``.
    """
    angles = np.asarray(angles_rad, dtype=np.float64)[:, None]
    s = np.arange(n) - (n - 1) / 2.0 - center_offset_px
    sinogram = np.zeros((angles.shape[0], n))
    for value, a, b, x0, y0, phi in _scaled_ellipses(n):
        offset = s[None, :] - (x0 * np.cos(angles) + y0 * np.sin(angles))
        r2 = (a * np.cos(angles - phi)) ** 2 + (b * np.sin(angles - phi)) ** 2
        chord = np.sqrt(np.clip(r2 - offset**2, 0.0, None))
        sinogram += 2.0 * value * a * b * chord / r2
    return sinogram


def ellipse_phantom(n: int, *, supersampling: int = 4) -> np.ndarray:
    """Pixel-averaged modified Shepp-Logan phantom, (n, n) float64, voxel (i, j) at
    x = j - (n - 1)/2, y = i - (n - 1)/2."""
    sub = (np.arange(supersampling) + 0.5) / supersampling - 0.5
    coords = (np.arange(n)[:, None] + sub[None, :]).ravel() - (n - 1) / 2.0
    y, x = coords[:, None], coords[None, :]
    fine = np.zeros((coords.size, coords.size))
    for value, a, b, x0, y0, phi in _scaled_ellipses(n):
        u = (x - x0) * np.cos(phi) + (y - y0) * np.sin(phi)
        v = -(x - x0) * np.sin(phi) + (y - y0) * np.cos(phi)
        fine += value * ((u / a) ** 2 + (v / b) ** 2 <= 1.0)
    return fine.reshape(n, supersampling, n, supersampling).mean(axis=(1, 3))


def relative_error(reconstruction: np.ndarray, truth: np.ndarray) -> float:
    """Relative L2 error inside the reconstruction circle (radius (n - 1) / 2)."""
    from porewatch.kernels.recon.geometry import circle_mask

    inside = circle_mask(truth.shape[-1])
    difference = reconstruction[..., inside] - truth[inside]
    return float(np.linalg.norm(difference) / (np.linalg.norm(truth[inside]) * np.sqrt(difference.size / inside.sum())))


def _angles(n: int) -> np.ndarray:
    return np.linspace(0.0, np.pi, int(round(1.4 * n)), endpoint=False)


def _timed(function, repeats: int = 1):
    """Best wall time over ``repeats`` calls, and the last result."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _porewatch_runs(sinogram, angles, *, n_slices, fbp_slices, workers):
    """porewatch gridrec (ramp, shepp-logan) and FBP: (name, s/slice, slice 0, setup s)."""
    from porewatch.kernels.recon import reconstruct

    def run(method, filter_name, count):
        stack = np.ascontiguousarray(np.broadcast_to(sinogram[:, None, :], (len(angles), count, sinogram.shape[1])))
        return lambda: reconstruct(stack, angles_rad=angles, method=method, filter_name=filter_name,
                                   workers=workers)

    setup, _ = _timed(run("gridrec", "ramp", 2))  # builds the cached gridding matrix
    runs = []
    for name, method, filter_name, count in (("porewatch gridrec ramp", "gridrec", "ramp", n_slices),
                                             ("porewatch gridrec shepp-logan", "gridrec", "shepp-logan", n_slices),
                                             ("porewatch fbp ramp", "fbp", "ramp", fbp_slices)):
        seconds, volume = _timed(run(method, filter_name, count), repeats=2 if method == "gridrec" else 1)
        runs.append((name, seconds / count, volume[0], setup if method == "gridrec" else 0.0))
    return runs


def _astra_runs(sinogram, angles):
    """astra-toolbox CPU FBP with the linear and line projectors (skipped if absent)."""
    try:
        import astra
    except ImportError:
        print("astra-toolbox not installed: skipped (pip install astra-toolbox)", file=sys.stderr)
        return []
    n = sinogram.shape[1]
    runs = []
    for projector in ("linear", "line"):
        volume_geometry = astra.create_vol_geom(n, n)
        # astra's detector axis is s = x cos(t) - y sin(t) in our frame: negate the angles
        projection_geometry = astra.create_proj_geom("parallel", 1.0, n, -angles)

        def run():
            projector_id = astra.create_projector(projector, projection_geometry, volume_geometry)
            sinogram_id = astra.data2d.create("-sino", projection_geometry, sinogram)
            volume_id = astra.data2d.create("-vol", volume_geometry)
            config = astra.astra_dict("FBP")
            config.update(ProjectorId=projector_id, ProjectionDataId=sinogram_id, ReconstructionDataId=volume_id)
            algorithm_id = astra.algorithm.create(config)
            astra.algorithm.run(algorithm_id)
            image = astra.data2d.get(volume_id)
            astra.algorithm.delete(algorithm_id)
            astra.data2d.delete([sinogram_id, volume_id])
            astra.projector.delete(projector_id)
            return image

        seconds, image = _timed(run)
        runs.append((f"astra fbp {projector}", seconds, image, 0.0))
    return runs


def _algotom_runs(sinogram, angles, *, n_slices, workers):
    """algotom DFI without a smoothing window (skipped if absent)."""
    try:
        from algotom.rec.reconstruction import dfi_reconstruction
    except ImportError:
        print("algotom not installed: skipped (pip install algotom)", file=sys.stderr)
        return []
    from scipy.ndimage import fourier_shift

    n = sinogram.shape[1]
    stack = np.ascontiguousarray(np.broadcast_to(sinogram[:, None, :], (len(angles), n_slices, n)))
    seconds, volume = _timed(lambda: dfi_reconstruction(stack, (n - 1) / 2.0, angles=angles, filter_name=None,
                                                        apply_log=False, ncore=workers))
    # algotom's slice has y reversed and its origin half a pixel from ours: align exactly
    image = np.asarray(volume)[:, 0, :][::-1]
    aligned = np.fft.ifft2(fourier_shift(np.fft.fft2(image), (0.5, -0.5))).real
    return [("algotom dfi", seconds / n_slices, aligned, 0.0)]


def bench_size(n: int, *, n_slices: int, fbp_slices: int, workers: int, peers: bool) -> list[dict]:
    """Reconstruct the N x N Shepp-Logan sinogram (1.4 N angles) with every method."""
    angles = _angles(n)
    sinogram = ellipse_sinogram(n, angles).astype(np.float32)
    truth = ellipse_phantom(n)
    runs = _porewatch_runs(sinogram, angles, n_slices=n_slices, fbp_slices=fbp_slices, workers=workers)
    if peers:
        runs += _astra_runs(sinogram, angles) + _algotom_runs(sinogram, angles, n_slices=n_slices, workers=workers)
    rows = [
        {"method": name, "n": n, "n_angles": len(angles), "seconds_per_slice": seconds,
         "voxel_angle_updates_per_s": n * n * len(angles) / seconds, "relative_error": relative_error(image, truth),
         "setup_seconds": setup}
        for name, seconds, image, setup in runs
    ]
    reference = next((row for row in rows if row["method"] == "astra fbp linear"), None)
    for row in rows:
        if reference is not None:
            row["speedup_vs_astra_linear"] = reference["seconds_per_slice"] / row["seconds_per_slice"]
            row["error_ratio_vs_astra_linear"] = row["relative_error"] / reference["relative_error"]
    return rows


def scaling_exponents(rows: list[dict]) -> dict:
    """Per method, the exponent a of t ~ (N^2 log2 N)^a fitted over the sizes (1 = ideal)."""
    exponents = {}
    for method in sorted({row["method"] for row in rows}):
        points = [(row["n"], row["seconds_per_slice"]) for row in rows if row["method"] == method]
        if len(points) >= 2:
            work = np.log([n * n * np.log2(n) for n, _ in points])
            exponents[method] = float(np.polyfit(work, np.log([t for _, t in points]), 1)[0])
    return exponents


def _print_table(rows: list[dict]) -> None:
    print(f"{'method':32s} {'N':>5s} {'angles':>6s} {'s/slice':>9s} {'Gupd/s':>8s} {'error':>7s} "
          f"{'x astra':>8s} {'err/astra':>9s}")
    for row in rows:
        print(f"{row['method']:32s} {row['n']:5d} {row['n_angles']:6d} {row['seconds_per_slice']:9.4f} "
              f"{row['voxel_angle_updates_per_s'] / 1e9:8.3f} {row['relative_error']:7.4f} "
              f"{row.get('speedup_vs_astra_linear', float('nan')):8.1f} "
              f"{row.get('error_ratio_vs_astra_linear', float('nan')):9.3f}")


def bench_streaming(n: int, *, n_rows: int, method: str = "gridrec", workers: int = 2) -> dict:
    """Streaming split: per-frame prefiltering as frames arrive, then the latency from the
    last frame to the complete (n_rows, n, n) volume.

    The gridding matrix is built before the first frame (the angles of a step are known
    when it starts) and reported as ``setup_seconds``.
    """
    from porewatch.kernels.recon import prefilter_projection, reconstruct, reconstruct_prefiltered
    from porewatch.kernels.recon.reconstruct import prefiltered_layout

    angles = _angles(n)
    frames = np.ascontiguousarray(np.broadcast_to(
        ellipse_sinogram(n, angles).astype(np.float32)[:, None, :], (len(angles), n_rows, n)))
    setup, _ = _timed(lambda: reconstruct(frames[:, :2], angles_rad=angles, method=method, workers=workers))
    shape, dtype = prefiltered_layout(method=method, n_rows=n_rows, n_cols=n)
    stack = np.empty((len(angles), *shape), dtype=dtype)
    per_frame = []
    for index, frame in enumerate(frames):
        start = time.perf_counter()
        prefilter_projection(frame, method=method, workers=workers, out=stack[index])
        per_frame.append(time.perf_counter() - start)
    start = time.perf_counter()
    reconstruct_prefiltered(stack, n_cols=n, angles_rad=angles, method=method, workers=workers)
    completion = time.perf_counter() - start
    whole, _ = _timed(lambda: reconstruct(frames, angles_rad=angles, method=method, workers=workers))
    return {"method": method, "n": n, "n_rows": n_rows, "n_angles": len(angles), "setup_seconds": setup,
            "prefilter_seconds_per_frame": float(np.median(per_frame)),
            "latency_last_frame_to_volume_seconds": per_frame[-1] + completion,
            "whole_reconstruct_seconds": whole}


def bench_gpu(*, n: int = 2048, n_angles: int = 1500, slab_rows: int = 128, method: str = "gridrec") -> dict:
    """Time CuPy reconstruction of an n^3 volume from n_angles projections with CUDA events.

    The same analytic sinogram fills every detector row; the volume stays on the device.
    Kernel compilation and FFT plans are warmed up on a two-row slab first.
    """
    import cupy as cp

    from porewatch.kernels.recon import reconstruct

    angles = np.linspace(0.0, np.pi, n_angles, endpoint=False)
    sinogram = cp.asarray(ellipse_sinogram(n, angles).astype(np.float32))
    slab = cp.ascontiguousarray(cp.broadcast_to(sinogram[:, None, :], (n_angles, slab_rows, n)))
    volume = cp.empty((n, n, n), dtype=cp.float32)
    budget = 24 * 1024**3
    reconstruct(slab[:, :2], angles_rad=angles, method=method, memory_budget_bytes=budget)
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    start.record()
    for first in range(0, n, slab_rows):
        rows = min(slab_rows, n - first)
        volume[first : first + rows] = reconstruct(slab[:, :rows], angles_rad=angles, method=method,
                                                   memory_budget_bytes=budget)
    stop.record()
    stop.synchronize()
    seconds = cp.cuda.get_elapsed_time(start, stop) / 1e3
    return {"method": f"cupy {method}", "n": n, "n_angles": n_angles, "volume_seconds": seconds,
            "voxel_angle_updates_per_s": float(n) ** 3 * n_angles / seconds,
            "relative_error": relative_error(cp.asnumpy(volume[0]), ellipse_phantom(n)),
            "device": cp.cuda.runtime.getDeviceProperties(0)["name"].decode()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], help="slice sizes N")
    parser.add_argument("--slices", type=int, default=4, help="slices per porewatch gridrec and algotom run")
    parser.add_argument("--fbp-slices", type=int, default=1, help="slices per porewatch FBP run")
    parser.add_argument("--workers", type=int, default=2, help="CPU threads")
    parser.add_argument("--no-peers", action="store_true", help="skip astra-toolbox and algotom")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON ('-' for stdout)")
    parser.add_argument("--streaming-rows", type=int, default=32,
                        help="rows of the streamed volume timed at the largest size (0: skip)")
    parser.add_argument("--gpu", action="store_true", help="time CuPy gridrec of a 2048^3 volume instead")
    parser.add_argument("--gpu-size", type=int, default=2048)
    parser.add_argument("--gpu-angles", type=int, default=1500)
    args = parser.parse_args(argv)
    if args.gpu:
        result = {"gpu": bench_gpu(n=args.gpu_size, n_angles=args.gpu_angles)}
        print(json.dumps(result["gpu"], indent=1))
    else:
        rows = []
        for n in args.sizes:
            rows += bench_size(n, n_slices=args.slices, fbp_slices=args.fbp_slices, workers=args.workers,
                               peers=not args.no_peers)
        _print_table(rows)
        exponents = scaling_exponents(rows)
        for method, exponent in exponents.items():
            print(f"time ~ (N^2 log N)^{exponent:.2f}  {method}")
        result = {"rows": rows, "scaling_exponents": exponents, "workers": args.workers}
        if args.streaming_rows:
            result["streaming"] = bench_streaming(max(args.sizes), n_rows=args.streaming_rows, workers=args.workers)
            print("streaming:", json.dumps(result["streaming"]))
    if args.json == "-":
        json.dump(result, sys.stdout, indent=1)
    elif args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
