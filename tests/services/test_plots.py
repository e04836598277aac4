"""report --plots: every figure is written from step reports and stored arrays."""

import numpy as np

from porewatch.services.plots import write_plots


def _step(index, name, applied):
    electrode = {"porosity": 0.01 * (index + 1), "porosity_near_interface": 0.02, "porosity_depth_bin_um": 10.0,
                 "porosity_depth_profile": [0.03, 0.01, None], "current_density_mean_A_m2": applied or None,
                 "hotspots": [{"id": 1, "x_um": 10.0, "y_um": -20.0, "extent_um": 30.0}] if index else []}
    factors = {"tomography": {q: {s: {"x": 0.9, "y": 0.92, "z": 0.95} for s in ("mean", "min", "max")}
                              for q in ("conductivity", "youngs_modulus")}, "synthetic": None, "domain_px": 8}
    return {"step_index": index, "step_name": name, "applied_current_density_A_m2": applied, "pixel_size_m": 5e-6,
            "top": electrode, "bottom": electrode,
            "llzo": {"porosity_bulk": 0.05, "porosity_interfacial_top": 0.06, "porosity_interfacial_bottom": 0.055,
                     "porosity_depth_bin_um": 36.0, "porosity_depth_profile_normalised": [1.2, 0.9, 1.0],
                     "microstructure_factors": {"interfacial_top": factors}}}


def test_every_figure_is_written(tmp_path):
    steps = [_step(0, "pristine", 0.0), _step(1, "plate", 0.25)]
    rng = np.random.default_rng(0)

    def array(step_index, key):
        if key == "llzo_subsurface_porosity":
            return rng.random((16, 16))
        if step_index == 0 or not key.endswith(("_current_density", "_pore_density_difference")):
            return None
        return rng.normal(0.25, 0.05, (16, 16))

    written = write_plots(steps, array, tmp_path / "figures")
    names = sorted(path.name for path in written)
    assert names == ["current_density_step_001.png", "li_depth_profiles.png", "llzo_profiles.png",
                     "microstructure_factors.png", "pore_density_difference.png", "porosity_vs_step.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
