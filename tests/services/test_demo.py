import pytest

from porewatch.services.demo import format_comparison


def electrode(porosity_near_interface, layer_voxels=2.1):
    return {"collector_interface_z_um": 246.7, "electrolyte_interface_z_um": 397.2, "thickness_mean_um": 150.5,
            "porosity": 0.0083, "porosity_near_interface": porosity_near_interface,
            "porosity_near_interface_voxels": layer_voxels, "current_density_mean_A_m2": None, "hotspots": []}


def step_report(method, layer_voxels=2.1):
    return {"step_index": 1, "step_name": "plate", "applied_current_density_A_m2": 0.25, "duration_s": 72 * 3600.0,
            "center_px": 95.5, "top": electrode(0.0006, layer_voxels), "bottom": electrode(0.0065, layer_voxels),
            "llzo": {"porosity": 0.047}, "segmentation": {"method": method}}


TRUTH = {"top": electrode(0.0017), "bottom": electrode(0.0153), "llzo": {"porosity": 0.050}}


@pytest.mark.parametrize("method, caveat", [("cnn", True), ("multiotsu", False)])
def test_cnn_near_interface_porosity_is_flagged_as_a_lower_bound(method, caveat):
    text = format_comparison(step_report(method), TRUTH)
    assert "  porosity within 10 um (%)          0.06       0.17       0.65       1.53" in text
    assert ("read its porosity within 10 um as a lower bound" in text) is caveat
    assert "partial-volume limited" not in text


def test_an_unresolved_near_interface_layer_is_flagged():
    text = format_comparison(step_report("cnn", layer_voxels=1.6), TRUTH)
    assert "the near-interface layer spans 1.6 voxel: its porosity is partial-volume limited" in text
    assert "step 1 'plate': applied j = +0.250 A/m^2 for 72.0 h" in text
