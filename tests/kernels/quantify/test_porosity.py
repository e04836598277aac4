import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.electrodes import ElectrodeInterfaces
from porewatch.kernels.quantify.porosity import electrode_porosity

P = 2e-6  # pixel size, m
N = 4


def plane(row):
    return np.full((N, N), row * P, dtype=np.float32)


@pytest.fixture
def cell():
    """Exact labels: top Li rows 3..22 (interfaces at rows 2.5, 22.5), pellet rows 23..30,
    bottom Li rows 31..35 (interfaces at 30.5, 35.7)."""
    labels = np.full((40, N, N), Phase.STEEL, dtype=np.uint8)
    labels[3:23] = Phase.LITHIUM
    labels[22] = Phase.PORE  # depth 1 um
    labels[10] = Phase.PORE  # depth 25 um
    labels[3, 0, 0] = Phase.LLZO  # a misfit voxel inside the electrode: not counted
    labels[23:31] = Phase.LLZO
    labels[24, 0, :] = Phase.PORE
    labels[28, 1, :] = Phase.LITHIUM
    labels[31:36] = Phase.LITHIUM
    labels[31, 1, 1] = Phase.PORE
    top = ElectrodeInterfaces("top", plane(2.5), plane(22.5))
    bottom = ElectrodeInterfaces("bottom", plane(35.7), plane(30.5))
    return labels, top, bottom


def test_top_electrode_figures(cell):
    labels, top, _ = cell
    lengths = dict(near_interface_m=10e-6, depth_bin_m=10e-6, pore_density_window_m=20e-6)
    found = electrode_porosity(labels, top, pixel_size_m=P, **lengths)
    assert found.overall == pytest.approx(32 / 319)
    assert found.near_interface == pytest.approx(16 / 80)
    np.testing.assert_allclose(found.depth_bin_edges_m, [0, 10e-6, 20e-6, 30e-6, 40e-6])
    np.testing.assert_allclose(found.depth_profile, [0.2, 0.0, 0.2, 0.0])
    np.testing.assert_allclose(found.pore_density_map, np.full((N, N), 0.1), rtol=1e-6)
    assert found.pore_density_map.dtype == np.float32


@pytest.mark.parametrize("pixel_m, resolved", [(2e-6, True), (5e-6, True), (5.5e-6, False), (12.5e-6, False)])
def test_near_interface_layer_in_voxels(cell, pixel_m, resolved):
    labels, top, _ = cell
    scaled = ElectrodeInterfaces("top", top.collector_z_m / P * pixel_m, top.electrolyte_z_m / P * pixel_m)
    found = electrode_porosity(labels, scaled, pixel_size_m=pixel_m, near_interface_m=10e-6)
    assert found.near_interface_voxels == pytest.approx(10e-6 / pixel_m)
    assert found.near_interface_resolved is resolved


def test_pore_density_window_covers_the_electrode(cell):
    labels, top, _ = cell
    found = electrode_porosity(labels, top, pixel_size_m=P, pore_density_window_m=500e-6)
    expected = np.full((N, N), 2 / 20)
    expected[0, 0] = 2 / 19
    np.testing.assert_allclose(found.pore_density_map, expected, rtol=1e-6)


def test_bottom_electrode_and_unknown_column(cell):
    labels, _, bottom = cell
    bottom.electrolyte_z_m[3, 3] = np.nan
    found = electrode_porosity(labels, bottom, pixel_size_m=P)
    # Row 36 (steel) holds 0.2 of a voxel of the electrode: it counts as row 35 does (Li).
    assert found.overall == pytest.approx(1 / 78)
    assert found.near_interface == pytest.approx(1 / 75)
    assert found.pore_density_map[1, 1] == pytest.approx(1 / 5.2)
    assert np.isnan(found.pore_density_map[3, 3])
    assert np.isfinite(found.pore_density_map).sum() == N * N - 1


def test_electrode_without_lithium_gives_nan(cell):
    labels, top, _ = cell
    labels[3:23] = Phase.STEEL
    found = electrode_porosity(labels, top, pixel_size_m=P)
    assert np.isnan(found.overall) and np.isnan(found.near_interface)
    assert found.depth_profile.size == 0 and np.all(np.isnan(found.pore_density_map))


@pytest.mark.parametrize("name", ["near_interface_m", "depth_bin_m", "pore_density_window_m"])
def test_invalid_lengths(cell, name):
    labels, top, _ = cell
    with pytest.raises(ValueError, match=name):
        electrode_porosity(labels, top, pixel_size_m=P, **{name: 0.0})


def test_shape_mismatch(cell):
    labels, top, _ = cell
    with pytest.raises(ValueError, match="labels"):
        electrode_porosity(labels[:, :2], top, pixel_size_m=P)


@pytest.mark.parametrize("electrode", ["bottom", "top"])
def test_interfacial_voids_at_sub_voxel_interfaces(electrode):
    """Voids 2-6 um tall on the Li|LLZO interface, placed anywhere within a voxel, labelled
    by majority: the 10 um layer's porosity is within 2 % of the exact one.  Dropping the
    Li-side share of interface voxels labelled LLZO read it 3-4 % low."""
    pixel, n, sub = 2e-6, 48, 9
    rng = np.random.default_rng(3)
    face = (10 + rng.random((n, n))) * pixel
    collector = face + 40e-6
    void_top = face + rng.uniform(2e-6, 6e-6, (n, n)) * (np.indices((n, n)).sum(axis=0) % 2 == 0)
    z = ((np.arange(40 * sub) + 0.5) / sub - 0.5)[:, None, None] * pixel
    samples = np.select([z < face, z < void_top, z < collector], [Phase.LLZO, Phase.PORE, Phase.LITHIUM],
                        Phase.STEEL).astype(np.uint8)
    votes = np.stack([(samples.reshape(40, sub, n, n) == phase).sum(axis=1) for phase in Phase])
    labels = np.argmax(votes, axis=0).astype(np.uint8)
    interfaces = ElectrodeInterfaces("bottom", collector.astype(np.float32), face.astype(np.float32))
    if electrode == "top":
        flip = 39 * pixel
        labels = labels[::-1]
        interfaces = ElectrodeInterfaces("top", (flip - collector).astype(np.float32), (flip - face).astype(np.float32))
    found = electrode_porosity(labels, interfaces, pixel_size_m=pixel, near_interface_m=10e-6)
    exact = (void_top - face).sum() / (n * n * 10e-6)
    assert found.near_interface == pytest.approx(exact, rel=0.02)
