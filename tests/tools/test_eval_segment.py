import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.tools.eval_segment import METHODS, evaluate_cell, format_result, targets


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


def test_near_interface_porosity_is_compared_with_the_simulators_truth(result):
    (step,) = result["near_interface_porosity"]
    (overall,) = result["porosity"]
    assert all(value > 0 for value in step["truth"].values()) and step["truth"] != overall["truth"]
    assert step["cnn"] == {"top": 0.0, "bottom": 0.0}
    assert result["scores"]["cnn"]["near_interface_porosity_relative_error_mean"] == pytest.approx(1.0)
    assert result["near_interface_voxels"] == pytest.approx(10e-6 / (result["pixel_um"] * 1e-6))
    assert "near-interface porosity (0.5 voxels deep): truth" in format_result(result)


def test_tables_name_every_method(result):
    text = format_result(result)
    assert all(f"| {method} |" in text for method in METHODS) and "| 0 pristine | top |" in text


def test_cell_states_its_resolution(result):
    assert result["pixel_um"] > 15 and result["typical_pore_voxels"] < 1  # 64 columns: pores unresolved
    assert not result["targets"]["judged"] and not result["targets"]["pore_iou"]["met"]
    assert "not judged" in format_result(result)


def _scored(cnn_iou, otsu_iou, cnn_porosity, otsu_porosity):
    score = lambda iou: {"iou": {"pore": iou}}  # noqa: E731
    step = {"truth": {"top": 0.01, "bottom": 0.01}, "cnn": {"top": cnn_porosity, "bottom": 0.01},
            "otsu": {"top": otsu_porosity, "bottom": 0.011}}
    return {"typical_pore_voxels": 2.5, "porosity": [step],
            "scores": {"cnn": score(cnn_iou), "otsu": score(otsu_iou), "multiotsu": score(otsu_iou / 2)}}


def test_targets_met_and_missed():
    met = targets(_scored(0.8, 0.3, 0.0085, 0.3))
    assert met["judged"] and met["pore_iou"]["met"] and met["pore_iou_over_threshold"]["met"]
    assert met["porosity_where_otsu_misses"] == {"cases": 1, "cnn_worst": pytest.approx(0.15), "target": 0.2, "met": True}
    missed = targets(_scored(0.7, 0.4, 0.0075, 0.3))
    assert not missed["pore_iou"]["met"] and not missed["pore_iou_over_threshold"]["met"]
    assert not missed["porosity_where_otsu_misses"]["met"]
    assert not targets(_scored(0.8, 0.3, 0.0085, 0.0105))["porosity_where_otsu_misses"]["met"]  # no contested case


def test_randomised_cell_varies_from_the_default(result):
    varied = evaluate_cell(5, 64, ("pristine",), TruthlessLithium(), margin_um=30.0, randomise=True)
    assert varied["randomised"] and not result["randomised"]
    assert varied["typical_pore_voxels"] != pytest.approx(result["typical_pore_voxels"])
    assert varied["porosity"][0]["truth"] != result["porosity"][0]["truth"]
    assert format_result(varied).startswith("randomised cell seed 5") and format_result(result).startswith("default")


def test_shipped_cnn_beats_the_thresholds_on_a_held_out_cell():
    """The shipped model, ONNX Runtime, one step of a cell it never saw (192 columns, pores 2.7 voxels across)."""
    from porewatch.services.config import SegmentationConfig
    from porewatch.services.segmentation import make_segmenter

    segmenter = make_segmenter(SegmentationConfig(method="cnn", backend="onnxruntime"))
    held_out = evaluate_cell(9001, 192, ("pristine",), segmenter, margin_um=60.0)
    scores = held_out["scores"]
    threshold_iou = max(scores["otsu"]["iou"]["pore"], scores["multiotsu"]["iou"]["pore"])
    assert scores["cnn"]["iou"]["pore"] > max(0.65, 2 * threshold_iou)
    assert scores["cnn"]["porosity_relative_error_max"] < 0.3 < scores["multiotsu"]["porosity_relative_error_max"]
