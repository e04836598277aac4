"""bench_quant: a small run writes every field; the phantom is what it claims; the peers agree; targets are judged."""

import json

import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.tools import bench_quant


def test_smoke_run_writes_stages_and_bounds(tmp_path):
    out = tmp_path / "bench.json"
    assert bench_quant.main(["--sizes", "48", "--pixel-um", "15", "--bounds", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    (stage,) = result["stages"]
    assert stage["n"] == 48 and stage["total_s"] > 0
    assert {f"{name}_s" for *_, name in bench_quant.STAGES} <= set(stage)
    assert stage["interfaces_s"] > 0 and stage["llzo_tortuosity_s"] > 0 and stage["llzo_microstructure_factors_s"] > 0
    assert result["laminate"]["conductivity_relative_error"] < 0.01
    assert result["laminate"]["youngs_modulus_relative_error"] < 0.01


def test_tortuosity_equals_taufactor():
    rows = bench_quant.tortuosity_peers(32)
    assert [row["porosity"] for row in rows] == [0.05, 0.30]
    for row in rows:
        assert "taufactor" not in row, row["taufactor"]  # the peer ran
        assert row["relative_difference"] < 0.005 and row["tau_porewatch"] > 1.0


def test_porosity_profile_equals_porespy():
    row = bench_quant.porosity_profile_peer(32)
    assert "max_abs_difference" in row, row["porespy"]
    assert row["bins"] == 24 and row["max_abs_difference"] < 1e-12


def test_phantom_layers_and_porosity():
    mu, labels = bench_quant.cell_phantom(48)
    assert mu.shape == labels.shape == (48, 48, 48) and mu.dtype == np.float32
    column = labels[:, 24, 24]
    assert column[0] == Phase.STEEL and column[24] in (Phase.LLZO, Phase.PORE) and column[8] == Phase.LITHIUM
    pellet = labels[13:35, 10:38, 10:38]
    assert 0.005 < np.mean(pellet == Phase.PORE) < 0.2


def _row(**changes):
    row = {"collector_rms_px": 0.2, "electrolyte_rms_px": 0.1, "near_interface_porosity": 0.011,
           "near_interface_porosity_true": 0.010, "near_interface_voxels": 2.5, "mass_balance_ratio": 1.04,
           "hot_spot_distances_px": [0.3, 1.1], "false_positives": 1}
    return {**row, **changes}


def test_targets_judge_the_worst_row():
    summary = bench_quant.targets([_row(), _row(collector_rms_px=0.6, false_positives=2, mass_balance_ratio=0.85)])
    assert summary["interface_rms_px"] == {"worst": 0.6, "target": 0.5, "met": False}
    assert summary["mean_j_relative_error"]["worst"] == pytest.approx(0.15) and not summary["mean_j_relative_error"]["met"]
    assert summary["hot_spot_distance_px"]["met"] and not summary["false_positives_per_electrode"]["met"]
    assert summary["near_interface_porosity_relative_error"]["met"]


def test_targets_judge_near_interface_porosity_only_where_the_layer_is_resolved():
    rows = [_row(), _row(near_interface_porosity=0.02, near_interface_voxels=0.8)]
    near = bench_quant.targets(rows)["near_interface_porosity_relative_error"]
    assert near["worst"] == pytest.approx(0.1) and near["met"]
    assert near["judged_rows"] == 1 and near["unresolved_rows"] == 1 and near["unresolved_worst"] == pytest.approx(1.0)
    near = bench_quant.targets([_row(near_interface_porosity=0.013)])["near_interface_porosity_relative_error"]
    assert near["worst"] == pytest.approx(0.3) and not near["met"]
    assert not bench_quant.targets([rows[1]])["near_interface_porosity_relative_error"]["met"]  # nothing judged
