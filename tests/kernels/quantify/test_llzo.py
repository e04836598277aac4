"""The pellet from hand-built labels: depth profile, subsurface map, regions, boxes; transport of a region."""

import math

import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.electrodes import ElectrodeInterfaces
from porewatch.kernels.quantify.llzo import pellet_porosity_analysis, region_boxes
from porewatch.kernels.quantify.pellet_transport import region_transport

P = 10e-6
N = 12


def faces(top_row=4.4, bottom_row=34.6):
    plane = lambda row: np.full((N, N), row * P, dtype=np.float32)  # noqa: E731
    return ElectrodeInterfaces("top", plane(0.5), plane(top_row)), ElectrodeInterfaces("bottom", plane(38.5), plane(bottom_row))


@pytest.fixture
def pellet():
    """Pellet rows 5..34 (faces at 4.4 and 34.6); pores: row 6 half full, Li in column (3, 3), rows 20..29."""
    labels = np.full((40, N, N), Phase.LITHIUM, dtype=np.uint8)
    labels[5:35] = Phase.LLZO
    labels[6, : N // 2] = Phase.PORE
    labels[20:30, 3, 3] = Phase.LITHIUM  # Li inside the pellet: transparent too
    return labels


def test_profile_map_and_regions(pellet):
    top, bottom = faces()
    found = pellet_porosity_analysis(pellet, top=top, bottom=bottom, pixel_size_m=P, depth_bin_m=50e-6,
                                     interfacial_m=100e-6)
    total = N * N * 30
    assert found.overall == pytest.approx((N * N / 2 + 10) / total)
    np.testing.assert_allclose(found.depth_bin_edges_m, np.arange(7) * 50e-6)
    assert found.depth_profile[0] == pytest.approx((N * N / 2) / (5 * N * N))
    assert found.depth_profile[3] == pytest.approx(5 / (5 * N * N))  # depth 150-200 um: rows 20..24
    assert found.normalised_profile[0] == pytest.approx(found.depth_profile[0] / found.overall)
    assert found.regions["interfacial_top"] == pytest.approx((N * N / 2) / (10 * N * N))
    assert found.regions["bulk"] == pytest.approx(5 / (10 * N * N))  # rows 15..24
    assert found.regions["interfacial_bottom"] == pytest.approx(5 / (10 * N * N))  # rows 25..34
    assert found.subsurface_map[3, 3] == pytest.approx(11 / 30) and found.subsurface_map[N - 1, 0] == 0.0
    assert found.pore_radius_m > 0


def test_region_boxes_lie_inside_every_column():
    top, bottom = faces()
    usable = np.ones((N, N), bool)
    boxes = region_boxes((40, N, N), top=top, bottom=bottom, usable=usable, pixel_size_m=P, interfacial_m=100e-6)
    assert boxes["interfacial_top"][0] == slice(5, 15) and boxes["interfacial_bottom"][0] == slice(25, 35)
    assert boxes["bulk"][0] == slice(15, 25)
    side = boxes["bulk"][1].stop - boxes["bulk"][1].start
    assert side == boxes["bulk"][2].stop - boxes["bulk"][2].start and side <= N


def test_region_transport_of_a_dense_and_a_porous_slab(pellet):
    dense = region_transport(pellet, (slice(10, 20), slice(0, N), slice(0, N)), pixel_size_m=P, n_domains=1,
                             domain_max_px=8, pore_radius_m=math.nan)
    assert dense.tortuosity.tau == pytest.approx(1.0, rel=1e-6) and dense.domain_px == 8
    np.testing.assert_allclose(dense.conductivity.mean, 1.0, rtol=1e-9)
    assert dense.synthetic_conductivity is None  # no pore size: no synthetic domains
    labels = pellet.copy()
    labels[12:15, 2:5, 2:5] = Phase.PORE
    porous = region_transport(labels, (slice(10, 20), slice(0, 8), slice(0, 8)), pixel_size_m=P, n_domains=1,
                              domain_max_px=8, pore_radius_m=15e-6, seed=1)
    assert porous.tortuosity.tau > 1.0
    assert np.all(porous.conductivity.mean < 1.0) and np.all(porous.youngs_modulus.mean < 1.0)
    assert np.all(porous.synthetic_conductivity.mean < 1.0)
    assert set(porous.conductivity.to_report()["mean"]) == {"x", "y", "z"}


def test_invalid_arguments(pellet):
    top, bottom = faces()
    with pytest.raises(ValueError, match="depth_bin_m"):
        pellet_porosity_analysis(pellet, top=top, bottom=bottom, pixel_size_m=P, depth_bin_m=0.0)
    nan = ElectrodeInterfaces("top", top.collector_z_m, np.full((N, N), np.nan, np.float32))
    with pytest.raises(ValueError, match="interfaces"):
        pellet_porosity_analysis(pellet, top=nan, bottom=bottom, pixel_size_m=P)
