"""Slices, regions of interest and the JSON form of control-room messages, on small hand-built volumes."""

import base64
from types import SimpleNamespace

import numpy as np
import pytest

from porewatch.services.live_views import (encode_array, message_to_json, orthogonal_slices, region_of_interest,
                                           slice_rows)


def test_orthogonal_slices_cut_the_named_planes_with_their_labels():
    volume = np.arange(6 * 8 * 10, dtype=np.float32).reshape(6, 8, 10)
    labels = (volume % 5).astype(np.uint8)
    arrays, header = orthogonal_slices(volume, labels, z_index=2)
    np.testing.assert_array_equal(arrays["xy"], volume[2])
    np.testing.assert_array_equal(arrays["xz"], volume[:, 4, :])
    np.testing.assert_array_equal(arrays["yz_labels"], labels[:, :, 5])
    assert header["stride"] == 1 and (header["y_index"], header["x_index"]) == (4, 5)
    low, high = header["display_range"]
    assert volume.min() <= low < high <= volume.max()


def test_large_volumes_are_decimated_to_the_size_limit():
    volume = np.zeros((300, 520, 520), dtype=np.float32)
    arrays, header = orthogonal_slices(volume, np.zeros(volume.shape, np.uint8), z_index=299, max_size=256)
    assert header["stride"] == 3 and arrays["xy"].shape == (174, 174) and arrays["xz"].shape == (100, 174)


@pytest.mark.parametrize("z_index", [-1, 6])
def test_slice_row_outside_the_volume_is_refused(z_index):
    with pytest.raises(ValueError, match="z_index"):
        orthogonal_slices(np.zeros((6, 4, 4), np.float32), np.zeros((6, 4, 4), np.uint8), z_index=z_index)


def test_axial_slice_goes_through_the_middle_of_the_top_lithium():
    report = {"top": {"collector_interface_z_um": 100.0, "electrolyte_interface_z_um": 300.0}}
    assert slice_rows(report, 64, 10e-6) == 20
    assert slice_rows({"top": {"collector_interface_z_um": None}}, 64, 10e-6) == 32


def test_region_of_interest_is_the_square_around_the_circle():
    volume = np.random.default_rng(0).random((5, 21, 21)).astype(np.float32)
    labels = np.ones(volume.shape, np.uint8)
    analysed = SimpleNamespace(labels=labels, reconstructed=SimpleNamespace(
        volume=volume, step=SimpleNamespace(metadata=SimpleNamespace(pixel_size_m=10e-6))))
    arrays, header = region_of_interest(analysed, {"x_um": 50.0, "y_um": -30.0, "radius_um": 20.0})
    i0, i1, j0, j1 = header["roi_index"]
    assert (i0, i1, j0, j1) == (5, 10, 13, 18)  # centre (i, j) = (7, 15), 2 px either side
    np.testing.assert_array_equal(arrays["volume"], volume[:, 5:10, 13:18])
    with pytest.raises(ValueError, match="outside"):
        region_of_interest(analysed, {"x_um": 5000.0, "y_um": 0.0, "radius_um": 20.0})


def test_messages_become_json_with_arrays_as_little_endian_base64():
    j_map = np.array([[1.5, np.nan], [-2.0, 0.25]], dtype=np.float64)
    event = message_to_json("current_density", {"step_index": 3, "arrays": [{"name": "j"}]}, {"j": j_map})
    assert event["header"] == {"step_index": 3} and event["topic"] == "current_density"
    encoded = event["arrays"]["j"]
    assert encoded["dtype"] == "float32" and encoded["shape"] == [2, 2]
    decoded = np.frombuffer(base64.b64decode(encoded["data"]), dtype="<f4").reshape(2, 2)
    np.testing.assert_array_equal(decoded, j_map.astype(np.float32))
    assert encode_array(np.array([3, 4], dtype=">u2"))["data"] == base64.b64encode(b"\x03\x00\x04\x00").decode()
