"""DXchange export of simulated steps, then ``replay --local``: the same service path as the beamline."""

import pytest

from porewatch.services.config import load_config
from porewatch.services.dxchange import ground_truth_path, read_ground_truth
from porewatch.services.replay import replay_files
from porewatch.services.simulation import export_experiment

pytestmark = pytest.mark.slow


def test_exported_steps_replay_to_results_near_the_truth(tmp_path):
    config = load_config(environ={}, overrides=[
        "simulation.n_cols=64", "simulation.cell_id='replayed'", "simulation.steps=['pristine', 'plate']",
        f"tiled.directory='{tmp_path / 'tiled'}'", "tiled.write_volumes=false"])
    paths = export_experiment(config.simulation, tmp_path / "export")
    assert [p.name for p in paths] == ["replayed_step_000.h5", "replayed_step_001.h5"]
    reports = replay_files(config, paths, wait=True, local=True, timeout_s=300)
    assert [r["step_index"] for r in reports] == [0, 1]
    pixel_um = reports[0]["pixel_size_m"] * 1e6
    for report, path in zip(reports, paths):
        truth = read_ground_truth(ground_truth_path(path))
        for name in ("top", "bottom"):
            true_z = truth["electrodes"][name]["electrolyte_interface_z_m"] * 1e6
            assert abs(report[name]["electrolyte_interface_z_um"] - true_z) < pixel_um
    assert reports[1]["top"]["current_density_mean_A_m2"] is not None
