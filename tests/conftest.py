"""Fixtures shared by every test directory."""

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def system_binary():
    """``system_binary(name, package)``: the path of a Debian-packaged program the test needs.

    Missing programs skip the test on a developer machine and fail it in CI (``CI=true``),
    where README's test command installs them.
    """
    def find(name: str, package: str) -> str:
        path = shutil.which(name)
        if path is None:
            message = f"{name} is not installed (apt-get install -y {package})"
            if os.environ.get("CI", "").lower() in ("true", "1"):
                pytest.fail(message)
            pytest.skip(message)
        return path

    return find


@pytest.fixture(scope="session")
def write_linear_model():
    """``write_linear_model(path, *, weights, biases, input_offset_per_m=0, input_scale_per_m=1)``: a
    per-pixel 'network' ``softmax(w_c * mu + b_c)`` in the porewatch ONNX layout, built without torch."""
    import json

    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from porewatch.services.model_io import MODEL_METADATA_KEY

    def write(path, *, weights, biases, input_offset_per_m=0.0, input_scale_per_m=1.0):
        n = len(weights)
        mu = helper.make_tensor_value_info("mu", TensorProto.FLOAT, ["batch", 1, "height", "width"])
        out = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n, "height", "width"])
        w = numpy_helper.from_array(np.asarray(weights, np.float32).reshape(n, 1, 1, 1), "w")
        b = numpy_helper.from_array(np.asarray(biases, np.float32), "b")
        nodes = [helper.make_node("Conv", ["mu", "w", "b"], ["logits"]),
                 helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
        model = helper.make_model(helper.make_graph(nodes, "linear", [mu], [out], [w, b]),
                                  opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        entry = model.metadata_props.add()
        entry.key, entry.value = MODEL_METADATA_KEY, json.dumps(
            {"n_classes": n, "input_offset_per_m": input_offset_per_m, "input_scale_per_m": input_scale_per_m})
        onnx.save(model, str(path))
        return path

    return write
