import json

import numpy as np
import pytest

from porewatch.services.step_metadata import StepMetadata, validate_cell_id


def make_metadata(**changes):
    values = dict(
        cell_id="cell-01",
        step_index=2,
        step_name="plate_1",
        current_density_A_m2=10.0,
        duration_s=3600.0,
        pixel_size_m=1.3e-6,
        energy_kev=76.2,
        propagation_distance_m=0.3,
    )
    values.update(changes)
    return StepMetadata(**values)


def test_to_dict_is_json_and_round_trips_through_a_start_document():
    metadata = make_metadata()
    text = json.dumps({"uid": "abc", "plan_name": "tomo", **metadata.to_dict()})
    assert StepMetadata.from_dict(json.loads(text)) == metadata


def test_numpy_values_are_coerced_to_python_types():
    metadata = make_metadata(step_index=np.int64(4), duration_s=np.float32(1.5), energy_kev=76)
    assert type(metadata.step_index) is int and metadata.step_index == 4
    assert type(metadata.duration_s) is float and type(metadata.energy_kev) is float


def test_from_dict_names_missing_keys():
    data = make_metadata().to_dict()
    del data["energy_kev"], data["duration_s"]
    with pytest.raises(ValueError, match=r"\['duration_s', 'energy_kev'\]"):
        StepMetadata.from_dict(data)


@pytest.mark.parametrize(
    ("changes", "error", "name"),
    [
        ({"pixel_size_m": 0.0}, ValueError, "pixel_size_m"),
        ({"energy_kev": float("nan")}, ValueError, "energy_kev"),
        ({"duration_s": -1.0}, ValueError, "duration_s"),
        ({"propagation_distance_m": "0.3"}, TypeError, "propagation_distance_m"),
        ({"step_index": -1}, ValueError, "step_index"),
        ({"step_index": 1.0}, TypeError, "step_index"),
        ({"step_name": ""}, ValueError, "step_name"),
        ({"cell_id": "cell/01"}, ValueError, "cell_id"),
    ],
)
def test_invalid_fields_are_named(changes, error, name):
    with pytest.raises(error, match=name):
        make_metadata(**changes)


def test_validate_cell_id_accepts_keys_and_rejects_separators():
    assert validate_cell_id("LLZO_7.b-2") == "LLZO_7.b-2"
    for bad in ("", "a b", "-a", "a/b", "x" * 129):
        with pytest.raises(ValueError, match="cell_id"):
            validate_cell_id(bad)
    with pytest.raises(TypeError, match="cell_id"):
        validate_cell_id(7)
