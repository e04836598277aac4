import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.tools.eval_segment import METHODS, evaluate_cell, format_result


class TruthlessLithium:
    """A stand-in 'CNN' that calls every voxel of the volume Li."""

    def __call__(self, mu, *, pixel_size_m):
        return np.full(mu.shape, Phase.LITHIUM, np.uint8), None


@pytest.fixture(scope="module")
def result():
    return evaluate_cell(5, 64, ("pristine",), TruthlessLithium(), margin_um=30.0)


def test_every_method_is_scored_on_the_electrode_slices(result):
    assert set(result["scores"]) == set(METHODS)
    otsu, cnn = result["scores"]["multiotsu"], result["scores"]["cnn"]
    assert otsu["iou"]["llzo"] > 0.5 and otsu["iou"]["outside"] > 0.8
    assert cnn["iou"]["llzo"] == 0.0 and cnn["iou"]["lithium"] < otsu["iou"]["lithium"]
    assert cnn["pore_iou_in_lithium"] == 0.0


def test_porosity_is_compared_with_the_simulators_truth(result):
    (step,) = result["porosity"]
    assert step["name"] == "pristine" and set(step["truth"]) == {"top", "bottom"}
    assert all(0 < value < 0.1 for value in step["truth"].values())
    assert step["cnn"]["top"] == 0.0
    assert result["scores"]["cnn"]["porosity_relative_error_max"] == pytest.approx(1.0)


def test_tables_name_every_method(result):
    text = format_result(result)
    assert all(f"| {method} |" in text for method in METHODS) and "| 0 pristine | top |" in text
