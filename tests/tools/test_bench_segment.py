import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from porewatch.services.model_io import MODEL_METADATA_KEY
from porewatch.tools import bench_segment


def write_linear_model(path, n_classes=5):
    """A per-pixel softmax 'network' in the porewatch ONNX layout, built without torch."""
    mu = helper.make_tensor_value_info("mu", TensorProto.FLOAT, ["batch", 1, "height", "width"])
    out = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_classes, "height", "width"])
    w = numpy_helper.from_array(np.linspace(-1, 1, n_classes, dtype=np.float32).reshape(n_classes, 1, 1, 1), "w")
    b = numpy_helper.from_array(np.zeros(n_classes, np.float32), "b")
    nodes = [helper.make_node("Conv", ["mu", "w", "b"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    model = helper.make_model(helper.make_graph(nodes, "linear", [mu], [out], [w, b]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = MODEL_METADATA_KEY, json.dumps({"n_classes": n_classes, "input_offset_per_m": 10.0,
                                                             "input_scale_per_m": 100.0})
    onnx.save(model, str(path))
    return path


def test_cpu_benchmark_reports_ms_per_slice_against_the_papers_figure(tmp_path, capsys):
    model = write_linear_model(tmp_path / "linear.onnx")
    out = tmp_path / "bench.json"
    assert bench_segment.main(["--model", str(model), "--size", "64", "--batch", "1", "2", "--repeats", "1",
                               "--backends", "onnxruntime", "--gpu", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["reference_seconds_per_slice"] == 0.3 and result["model"] == "linear.onnx"
    assert [(r["backend"], r["batch"], r["size_px"]) for r in result["cpu"]] == [("onnxruntime", 1, 64),
                                                                                 ("onnxruntime", 2, 64)]
    assert all(r["ms_per_slice"] > 0 for r in result["cpu"])
    if result["gpu"] is None:
        assert "skipped" in capsys.readouterr().err


def test_realistic_slices_follow_the_models_input_statistics(tmp_path):
    batch = bench_segment.realistic_slices(write_linear_model(tmp_path / "m.onnx"), 2, 64)
    assert batch.shape == (2, 1, 64, 64) and batch.dtype == np.float32
    assert batch.mean() == pytest.approx(10.0, abs=3.0) and batch.std() == pytest.approx(100.0, rel=0.05)
