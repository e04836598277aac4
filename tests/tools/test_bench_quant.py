"""bench_quant: a small run writes every field; the phantom is what it claims."""

import json

import numpy as np

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


def test_phantom_layers_and_porosity():
    mu, labels = bench_quant.cell_phantom(48)
    assert mu.shape == labels.shape == (48, 48, 48) and mu.dtype == np.float32
    column = labels[:, 24, 24]
    assert column[0] == Phase.STEEL and column[24] in (Phase.LLZO, Phase.PORE) and column[8] == Phase.LITHIUM
    pellet = labels[13:35, 10:38, 10:38]
    assert 0.005 < np.mean(pellet == Phase.PORE) < 0.2
