import numpy as np
import pytest

from porewatch.kernels.recon.reconstruct import (
    prefilter_projection,
    prefiltered_layout,
    reconstruct,
    reconstruct_prefiltered,
)
from porewatch.tools.bench_recon import ellipse_phantom, ellipse_sinogram, relative_error

METHODS = ("gridrec", "fbp")


def disc_projections(n, angles, *, radius, x0, y0, n_rows=1, axis_column=None):
    """Exact chords of a unit-attenuation disc at (x0, y0) pixels, (n_angles, n_rows, n)."""
    axis = (n - 1) / 2.0 if axis_column is None else axis_column
    s = np.arange(n) - axis
    s0 = x0 * np.cos(angles) + y0 * np.sin(angles)
    chords = 2.0 * np.sqrt(np.clip(radius**2 - (s[None, :] - s0[:, None]) ** 2, 0.0, None))
    return np.repeat(chords[:, None, :], n_rows, axis=1).astype(np.float32)


def centroid(image):
    weights = np.where(image > 0.5 * image.max(), image, 0.0)
    i, j = np.indices(image.shape)
    return (weights * i).sum() / weights.sum(), (weights * j).sum() / weights.sum()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [64, 65])
def test_off_axis_disc_lands_at_convention_voxel(method, n):
    angles = np.linspace(0, np.pi, 120, endpoint=False)
    pixel_size_m = 2e-6
    x0, y0 = 11.0, -7.0  # pixels
    volume = reconstruct(disc_projections(n, angles, radius=6.0, x0=x0, y0=y0), angles_rad=angles,
                         method=method, pixel_size_m=pixel_size_m)
    assert volume.shape == (1, n, n) and volume.dtype == np.float32 and volume.flags.c_contiguous
    i, j = centroid(volume[0])
    assert j == pytest.approx(x0 + (n - 1) / 2, abs=0.05)
    assert i == pytest.approx(y0 + (n - 1) / 2, abs=0.05)
    coords = np.arange(n) - (n - 1) / 2
    core = np.hypot(coords[None, :] - x0, coords[:, None] - y0) < 4.0
    # unit attenuation per pixel is 1 / pixel_size_m per metre
    assert volume[0][core].mean() * pixel_size_m == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("method", METHODS)
def test_center_px_places_an_offset_axis(method):
    n, axis = 64, 34.3
    angles = np.linspace(0, np.pi, 120, endpoint=False)
    projections = disc_projections(n, angles, radius=5.0, x0=8.0, y0=3.0, axis_column=axis)
    volume = reconstruct(projections, angles_rad=angles, method=method, center_px=axis)
    i, j = centroid(volume[0])
    assert (i, j) == pytest.approx((3.0 + 31.5, 8.0 + 31.5), abs=0.05)


@pytest.mark.parametrize("method", METHODS)
def test_full_turn_equals_half_turn(method):
    n = 48
    half = np.linspace(0, np.pi, 90, endpoint=False)
    full = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    kwargs = {"radius": 6.0, "x0": 5.0, "y0": -4.0}
    from_half = reconstruct(disc_projections(n, half, **kwargs), angles_rad=half, method=method)
    from_full = reconstruct(disc_projections(n, full, **kwargs), angles_rad=full, method=method)
    np.testing.assert_allclose(from_full, from_half, atol=0.02)


def test_shepp_logan_accuracy_and_methods_agree():
    n = 128
    angles = np.linspace(0, np.pi, int(1.4 * n), endpoint=False)
    sinogram = ellipse_sinogram(n, angles).astype(np.float32)[:, None, :]
    truth = ellipse_phantom(n)
    errors = {}
    for method, filter_name in (("fbp", "ramp"), ("gridrec", "ramp"), ("gridrec", "shepp-logan")):
        volume = reconstruct(sinogram, angles_rad=angles, method=method, filter_name=filter_name)
        errors[method, filter_name] = relative_error(volume[0], truth)
    # astra-toolbox 2.5 CPU FBP on this sinogram (measured with tools/bench_recon.py, not run
    # here): 0.1220 with the linear projector, 0.1556 with the line projector
    assert errors["fbp", "ramp"] < 1.05 * 0.1220
    assert errors["gridrec", "shepp-logan"] < 1.05 * 0.1220
    assert errors["gridrec", "ramp"] < 1.05 * 0.1556


@pytest.mark.parametrize("method", METHODS)
def test_streaming_split_equals_reconstruct(method):
    rng = np.random.default_rng(3)
    n_angles, n_rows, n = 40, 3, 32
    angles = np.sort(rng.uniform(0, np.pi, n_angles))
    projections = rng.normal(size=(n_angles, n_rows, n)).astype(np.float32)
    frame_shape, dtype = prefiltered_layout(method=method, n_rows=n_rows, n_cols=n)
    stack = np.empty((n_angles, *frame_shape), dtype=dtype)
    for a in range(n_angles):
        prefilter_projection(projections[a], method=method, filter_name="hann", out=stack[a])
    streamed = reconstruct_prefiltered(stack, n_cols=n, angles_rad=angles, center_px=15.2, method=method)
    whole = reconstruct(projections, angles_rad=angles, center_px=15.2, method=method, filter_name="hann")
    np.testing.assert_array_equal(streamed, whole)


@pytest.mark.parametrize("method", METHODS)
def test_memory_budget_splits_slabs_without_changing_result(method):
    rng = np.random.default_rng(4)
    n_angles, n_rows, n = 30, 5, 24
    angles = np.linspace(0, np.pi, n_angles, endpoint=False)
    projections = rng.normal(size=(n_angles, n_rows, n)).astype(np.float32)
    roomy = reconstruct(projections, angles_rad=angles, method=method)
    tight = reconstruct(projections, angles_rad=angles, method=method, memory_budget_bytes=1_000_000)
    np.testing.assert_allclose(tight, roomy, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="memory_budget_bytes"):
        reconstruct(projections, angles_rad=angles, method=method, memory_budget_bytes=1000)


def test_reconstruct_rejects_bad_arguments():
    projections = np.zeros((10, 2, 16), dtype=np.float32)
    angles = np.linspace(0, np.pi, 10, endpoint=False)
    with pytest.raises(ValueError, match="angles_rad"):
        reconstruct(projections, angles_rad=angles[:-1])
    with pytest.raises(ValueError, match="method"):
        reconstruct(projections, angles_rad=angles, method="sirt")
    with pytest.raises(ValueError, match="filter_name"):
        reconstruct(projections, angles_rad=angles, filter_name="ram-lak")
    with pytest.raises(ValueError, match="line_integrals"):
        reconstruct(projections[0], angles_rad=angles)
    with pytest.raises(ValueError, match="pixel_size_m"):
        reconstruct(projections, angles_rad=angles, pixel_size_m=0.0)


def test_prefiltered_stack_of_the_wrong_layout_is_rejected():
    angles = np.linspace(0, np.pi, 10, endpoint=False)
    real_stack = np.zeros((10, 2, 16), dtype=np.float32)
    with pytest.raises(ValueError, match="prefiltered"):
        reconstruct_prefiltered(real_stack, n_cols=16, angles_rad=angles, method="gridrec")
    with pytest.raises(TypeError, match="prefiltered"):
        reconstruct_prefiltered(real_stack.astype(np.float64), n_cols=16, angles_rad=angles, method="fbp")
