import json

import numpy as np
import pytest

from porewatch.tools import bench_segment


@pytest.fixture
def linear_model(tmp_path, write_linear_model):
    return write_linear_model(tmp_path / "linear.onnx", weights=np.linspace(-1, 1, 5), biases=np.zeros(5),
                              input_offset_per_m=10.0, input_scale_per_m=100.0)


def test_cpu_benchmark_reports_ms_per_slice_against_the_papers_figure(tmp_path, capsys, linear_model):
    model = linear_model
    out = tmp_path / "bench.json"
    assert bench_segment.main(["--model", str(model), "--size", "64", "--batch", "1", "2", "--repeats", "1",
                               "--backends", "onnxruntime", "--gpu", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["reference_seconds_per_slice"] == 0.3 and result["model"] == "linear.onnx"
    assert [(r["backend"], r["batch"], r["size_px"]) for r in result["cpu"]] == [("onnxruntime", 1, 64),
                                                                                 ("onnxruntime", 2, 64)]
    assert all(r["ms_per_slice"] > 0 for r in result["cpu"])
    assert all(r["speedup_over_paper"] == pytest.approx(300 / r["ms_per_slice"]) for r in result["cpu"])
    if result["gpu"] is None:
        assert "skipped" in capsys.readouterr().err


def test_realistic_slices_follow_the_models_input_statistics(linear_model):
    batch = bench_segment.realistic_slices(linear_model, 2, 64)
    assert batch.shape == (2, 1, 64, 64) and batch.dtype == np.float32
    assert batch.mean() == pytest.approx(10.0, abs=3.0) and batch.std() == pytest.approx(100.0, rel=0.05)
