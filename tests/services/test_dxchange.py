import h5py
import numpy as np
import pytest

from porewatch.services.dxchange import (
    DISTANCE,
    DXchangeReader,
    ground_truth_path,
    read_dxchange,
    read_ground_truth,
    write_dxchange,
    write_ground_truth,
)
from porewatch.services.step_metadata import StepMetadata

METADATA = StepMetadata(
    cell_id="cell-01",
    step_index=3,
    step_name="strip_2",
    current_density_A_m2=-5.0,
    duration_s=1800.0,
    pixel_size_m=0.65e-6,
    energy_kev=76.2,
    propagation_distance_m=0.25,
)


def make_stacks(n_angles=6, n_rows=4, n_cols=5):
    rng = np.random.default_rng(7)
    projections = rng.integers(0, 65535, (n_angles, n_rows, n_cols), dtype=np.uint16)
    flats = rng.integers(0, 65535, (2, n_rows, n_cols), dtype=np.uint16)
    darks = rng.integers(0, 100, (3, n_rows, n_cols), dtype=np.uint16)
    theta = np.linspace(0.0, 180.0, n_angles, endpoint=False)
    return projections, flats, darks, theta


@pytest.fixture
def step_file(tmp_path):
    projections, flats, darks, theta = make_stacks()
    path = tmp_path / "step_003.h5"
    write_dxchange(
        path, projections=projections, flats=flats, darks=darks, theta_deg=theta, metadata=METADATA
    )
    return path, (projections, flats, darks, theta)


def test_round_trip_restores_images_and_si_metadata(step_file):
    path, (projections, flats, darks, theta) = step_file
    metadata, step = read_dxchange(path)
    for key, expected in METADATA.to_dict().items():
        got = getattr(metadata, key)
        assert type(got) is type(expected), key
        if isinstance(expected, str):
            assert got == expected
        else:
            assert got == pytest.approx(expected, rel=1e-12), key
    images = zip([step.projections, step.flats, step.darks], [projections, flats, darks])
    for got, expected in images:
        assert got.dtype == np.uint16
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(step.theta_deg, theta)


def test_file_holds_dxchange_units(step_file):
    path, _ = step_file
    with h5py.File(path, "r") as h5:
        pixel = h5["/measurement/instrument/detector/actual_pixel_size_x"]
        assert pixel[()] == pytest.approx(0.65) and pixel.attrs["units"] == "um"
        assert h5["/measurement/instrument/detector/distance"][()] == pytest.approx(250.0)
        assert h5["/measurement/instrument/monochromator/energy"][()] == pytest.approx(76.2)
        assert h5["/process/echem/step_index"][()] == 3
        assert h5["/exchange/data"].chunks == (1, 4, 5)


def test_reader_streams_frames_with_their_angles(step_file):
    path, (projections, _, _, theta) = step_file
    with DXchangeReader(path) as reader:
        assert reader.n_angles == 6 and reader.metadata == read_dxchange(path)[0]
        frames = list(reader.frames())
    assert [angle for angle, _ in frames] == list(theta)
    np.testing.assert_array_equal(np.stack([frame for _, frame in frames]), projections)


def test_theta_length_mismatch_is_reported(step_file):
    path, _ = step_file
    with h5py.File(path, "r+") as h5:
        replace(h5, "/exchange/theta", np.zeros(5))
    with pytest.raises(ValueError, match="'/exchange/theta' has 5 angles but /exchange/data has 6"):
        read_dxchange(path)


def replace(h5, name, value):
    del h5[name]
    h5[name] = value


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda h5: h5.__delitem__("/exchange/data_dark"), "'/exchange/data_dark' is missing"),
        (lambda h5: h5.__delitem__("/process/echem/duration_s"), "'/process/echem/duration_s'"),
        (
            lambda h5: replace(h5, "/exchange/data_white", np.zeros((1, 4, 5), np.float32)),
            "'/exchange/data_white' must be a non-empty 3-D uint16 stack, got float32",
        ),
        (
            lambda h5: replace(h5, "/exchange/data_white", np.zeros((1, 4, 6), np.uint16)),
            r"'/exchange/data_white' frames are \(4, 6\) but /exchange/data frames are \(4, 5\)",
        ),
        (
            lambda h5: h5[DISTANCE].attrs.__setitem__("units", "m"),
            "'/measurement/instrument/detector/distance' has units 'm'",
        ),
        (
            lambda h5: replace(h5, "/measurement/instrument/monochromator/energy", [76.2, 80.0]),
            "'/measurement/instrument/monochromator/energy' must hold one value",
        ),
        (
            lambda h5: replace(h5, "/process/echem/step_index", -1),
            "bad step metadata: step_index must be >= 0",
        ),
    ],
)
def test_bad_files_name_the_dataset(step_file, edit, message):
    path, _ = step_file
    with h5py.File(path, "r+") as h5:
        edit(h5)
    with pytest.raises(ValueError, match=message):
        read_dxchange(path)


def test_writer_names_bad_arguments(tmp_path):
    projections, flats, darks, theta = make_stacks()
    arguments = dict(projections=projections, flats=flats, darks=darks, metadata=METADATA)
    with pytest.raises(ValueError, match="theta_deg"):
        write_dxchange(tmp_path / "a.h5", theta_deg=theta[:-1], **arguments)
    arguments["darks"] = darks[:, :3]
    with pytest.raises(ValueError, match="darks"):
        write_dxchange(tmp_path / "a.h5", theta_deg=theta, **arguments)
    arguments["darks"] = darks.astype(np.float32)
    with pytest.raises(ValueError, match="darks"):
        write_dxchange(tmp_path / "a.h5", theta_deg=theta, **arguments)


def test_ground_truth_round_trips_nested_arrays_and_scalars(tmp_path):
    truth = {
        "labels": np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        "seed": 11,
        "phantom": "li-llzo-li",
        "top": {"pore_volume_m3": 1.5e-12, "thickness_map_m": np.full((3, 3), np.nan)},
        "bottom": {"pore_volume_m3": 0.0, "percolating": False},
    }
    path = ground_truth_path(tmp_path / "step_003.h5")
    assert path.name == "step_003.truth.h5"
    write_ground_truth(path, truth)
    back = read_ground_truth(path)
    assert set(back) == set(truth) and back["seed"] == 11 and back["phantom"] == "li-llzo-li"
    np.testing.assert_array_equal(back["labels"], truth["labels"])
    assert back["labels"].dtype == np.uint8
    assert back["top"]["pore_volume_m3"] == 1.5e-12
    assert np.isnan(back["top"]["thickness_map_m"]).all()
    assert back["bottom"] == {"pore_volume_m3": 0.0, "percolating": False}
    assert type(back["bottom"]["percolating"]) is bool


def test_ground_truth_rejects_unsupported_values(tmp_path):
    with pytest.raises(TypeError, match="/top/radii"):
        write_ground_truth(tmp_path / "t.h5", {"top": {"radii": [1.0, 2.0]}})
    with pytest.raises(ValueError, match="'a/b'"):
        write_ground_truth(tmp_path / "t.h5", {"a/b": 1})
