import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.electrodes import ElectrodeInterfaces
from porewatch.kernels.quantify.thickness import lithium_volume_map, thickness_map

P = 2e-6


def interfaces(electrode, collector_row, electrolyte_row, shape=(3, 3)):
    return ElectrodeInterfaces(
        electrode,
        np.full(shape, collector_row * P, dtype=np.float32),
        np.full(shape, electrolyte_row * P, dtype=np.float32),
    )


def test_thickness_is_the_interface_distance_for_either_electrode():
    top = interfaces("top", 2.5, 12.75)
    bottom = interfaces("bottom", 40.25, 30.0)
    top.collector_z_m[1, 1] = np.nan
    found = thickness_map(top)
    assert found.dtype == np.float32 and found.flags.c_contiguous
    assert np.isnan(found[1, 1])
    np.testing.assert_allclose(found[0], 10.25 * P, rtol=1e-6)
    np.testing.assert_allclose(thickness_map(bottom), 10.25 * P, rtol=1e-6)


def test_lithium_volume_subtracts_pore_voxels():
    labels = np.full((20, 3, 3), Phase.STEEL, dtype=np.uint8)
    labels[3:13] = Phase.LITHIUM
    labels[5:8, 0, 0] = Phase.PORE
    labels[15, 1, 1] = Phase.PORE  # outside the electrode: ignored
    found = lithium_volume_map(labels, interfaces("top", 2.5, 12.5), pixel_size_m=P)
    expected = np.full((3, 3), 10 * P * P**2)
    expected[0, 0] = 7 * P * P**2
    np.testing.assert_allclose(found, expected, rtol=1e-5)


def test_lithium_volume_shape_mismatch():
    with pytest.raises(ValueError, match="labels"):
        lithium_volume_map(np.zeros((20, 2, 2), np.uint8), interfaces("top", 2.5, 12.5), pixel_size_m=P)
