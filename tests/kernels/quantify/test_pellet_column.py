"""The pellet column beneath a point: porosity and geometric tortuosity on hand-built labels."""

import math

import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.electrodes import ElectrodeInterfaces
from porewatch.kernels.quantify.pellet_column import pellet_column

PIXEL_M = 10e-6
N_Z, N = 30, 21
TOP_Z_ROW, BOTTOM_Z_ROW = 9.5, 20.5  # pellet rows 10..20 (11 rows, 10 steps apart)


def interfaces(name, row):
    plane = np.full((N, N), row * PIXEL_M, dtype=np.float32)
    return ElectrodeInterfaces(name, plane, plane)


def cell(*, pores=()):
    labels = np.full((N_Z, N, N), Phase.LITHIUM, dtype=np.uint8)
    labels[10:21] = Phase.LLZO
    for z, i, j in pores:
        labels[z, i, j] = Phase.PORE
    return labels


def column(labels, *, x_m=0.0, y_m=0.0, radius_m=30e-6):
    return pellet_column(labels, top=interfaces("top", TOP_Z_ROW), bottom=interfaces("bottom", BOTTOM_Z_ROW),
                         x_m=x_m, y_m=y_m, radius_m=radius_m, pixel_size_m=PIXEL_M)


def test_dense_column_has_no_pores_and_unit_tortuosity():
    result = column(cell())
    assert result.porosity == 0.0
    assert result.tortuosity == pytest.approx(1.0)
    assert result.thickness_m == pytest.approx(11 * PIXEL_M)


def test_pore_layer_with_one_gap_forces_a_detour():
    centre = (N - 1) // 2
    labels = cell()
    labels[15, centre - 3:centre + 4, centre - 3:centre + 4] = Phase.PORE  # a 7 x 7 sheet, radius 3 px column
    labels[15, centre - 3, centre] = Phase.LLZO  # the only way through, at the column's rim
    result = column(labels)
    in_disc = int((np.hypot(*np.mgrid[-3:4, -3:4]) <= 3).sum())
    assert result.porosity == pytest.approx((in_disc - 1) / (11 * in_disc))
    assert 1.1 < result.tortuosity < 2.0


def test_closed_pore_layer_blocks_every_path():
    labels = cell()
    labels[15] = Phase.PORE
    assert column(labels).tortuosity == math.inf
    assert column(labels).porosity == pytest.approx(1 / 11)


def test_column_off_centre_sees_only_its_own_pores():
    centre = (N - 1) // 2
    labels = cell(pores=[(z, centre, centre + 7) for z in range(12, 18)])
    beside = column(labels, x_m=7 * PIXEL_M, radius_m=5e-6)  # one voxel wide, on the pore line
    assert beside.porosity == pytest.approx(6 / 11)
    assert column(labels, x_m=-7 * PIXEL_M, radius_m=5e-6).porosity == 0.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(radius_m=1e-6), "radius_m"),
    (dict(x_m=1.0), "outside"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        column(cell(), **kwargs)
