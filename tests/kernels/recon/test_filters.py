import numpy as np
import pytest

from porewatch.kernels.recon.filters import FILTER_NAMES, filter_rows, padded_length, ramp_filter


def test_padded_length_is_power_of_two_at_least_twice_the_row():
    assert [padded_length(n) for n in (1, 5, 64, 100)] == [2, 16, 128, 256]
    with pytest.raises(ValueError, match="n_cols"):
        padded_length(0)


def test_ramp_response_follows_abs_frequency_with_positive_dc():
    length = 256
    freq = np.fft.fftfreq(length)
    response = ramp_filter(length)
    assert 0 < response[0] < 1.0 / length
    middle = (np.abs(freq) > 0.05) & (np.abs(freq) < 0.45)
    np.testing.assert_allclose(response[middle], np.abs(freq[middle]), rtol=0.02)
    np.testing.assert_allclose(response[1:], response[1:][::-1], atol=1e-12)


@pytest.mark.parametrize(("name", "nyquist_gain"), [("ramp", 1.0), ("shepp-logan", 2 / np.pi), ("hann", 0.0),
                                                      ("parzen", 0.0)])
def test_windows_at_nyquist(name, nyquist_gain):
    length = 128
    ratio = ramp_filter(length, filter_name=name)[length // 2] / ramp_filter(length)[length // 2]
    assert ratio == pytest.approx(nyquist_gain, abs=1e-9)


def test_unknown_filter_is_rejected():
    with pytest.raises(ValueError, match="filter_name"):
        ramp_filter(64, filter_name="butterworth")


def test_filter_rows_matches_direct_convolution_with_ramp_kernel():
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(3, 4, 20)).astype(np.float32)
    offsets = np.arange(-19, 20)
    kernel = np.zeros(offsets.size)
    odd = offsets % 2 == 1
    kernel[odd] = -1.0 / (np.pi * offsets[odd]) ** 2
    kernel[offsets == 0] = 0.25
    expected = np.apply_along_axis(lambda r: np.convolve(r, kernel)[19:39], -1, rows.astype(np.float64))
    result = filter_rows(rows)
    assert result.shape == rows.shape and result.dtype == np.float32
    np.testing.assert_allclose(result, expected, atol=1e-5)
    assert set(FILTER_NAMES) == {"ramp", "shepp-logan", "hann", "parzen"}
