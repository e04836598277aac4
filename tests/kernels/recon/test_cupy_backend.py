import numpy as np
import pytest

from porewatch.kernels.backend import backend_name, get_array_module, to_numpy
from porewatch.kernels.recon.reconstruct import prefilter_projection, reconstruct, reconstruct_prefiltered


def _cupy_with_device():
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except cupy.cuda.runtime.CUDARuntimeError:
        pytest.skip("no CUDA device")
    return cupy


def test_numpy_backend_is_selected_for_numpy_input():
    data = np.zeros(3, dtype=np.float32)
    assert get_array_module(data) is np
    assert backend_name(np) == "numpy"
    assert to_numpy(data) is data


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["gridrec", "fbp"])
@pytest.mark.parametrize("filter_name", ["ramp", "parzen"])
def test_cupy_reconstruction_matches_numpy(method, filter_name):
    cupy = _cupy_with_device()
    rng = np.random.default_rng(5)
    n_angles, n_rows, n = 90, 5, 64
    angles = np.sort(rng.uniform(0, np.pi, n_angles))
    projections = rng.uniform(0, 1, size=(n_angles, n_rows, n)).astype(np.float32)
    kwargs = {"angles_rad": angles, "center_px": 31.8, "method": method, "filter_name": filter_name,
              "pixel_size_m": 1e-6}
    on_host = reconstruct(projections, **kwargs)
    on_device = reconstruct(cupy.asarray(projections), **kwargs)
    assert get_array_module(on_device) is cupy and on_device.dtype == cupy.float32
    scale = np.abs(on_host).max()
    np.testing.assert_allclose(to_numpy(on_device), on_host, atol=2e-5 * scale)


@pytest.mark.gpu
def test_cupy_streaming_split_equals_reconstruct():
    cupy = _cupy_with_device()
    rng = np.random.default_rng(6)
    angles = np.linspace(0, np.pi, 60, endpoint=False)
    projections = cupy.asarray(rng.normal(size=(60, 4, 48)).astype(np.float32))
    stack = cupy.stack([prefilter_projection(frame) for frame in projections])
    streamed = reconstruct_prefiltered(stack, n_cols=48, angles_rad=angles)
    cupy.testing.assert_allclose(streamed, reconstruct(projections, angles_rad=angles), atol=1e-6)
