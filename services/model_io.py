"""Segmentation model files: safetensors checkpoints, ONNX export (fp32 / fp16), and weights read back from ONNX.

Every file carries the model's architecture and input normalisation as JSON under
:data:`MODEL_METADATA_KEY` (safetensors header metadata, ONNX ``metadata_props``), so any
backend can rebuild the network from the file alone.  The ONNX graph takes ``mu``
``(batch, 1, height, width)`` float32 in 1/m and returns ``probabilities``
``(batch, n_classes, height, width)`` float32; an fp16 export computes in fp16 between a
cast at the input and one at the output (TensorRT 10+ builds it strongly typed, so the
precision is the file's).  Parameters keep their ``state_dict`` names as ONNX initializers
(or as the outputs of Identity nodes where the exporter shared equal tensors), which lets
the torch backend load the weights from the ONNX file itself.

torch is imported inside the functions that need it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

MODEL_METADATA_KEY = "porewatch.model"
INPUT_NAME, OUTPUT_NAME = "mu", "probabilities"
_ONNX_PREFIX = "model."


def architecture(model) -> dict:
    """The constructor arguments of a :class:`~porewatch.kernels.segment.unet.UNet`, JSON-ready."""
    encoder = model.encoder
    return {
        "n_classes": model.head.out_channels,
        "in_channels": encoder.conv1.in_channels,
        "encoder_channels": [stage[0].conv2.out_channels for stage in encoder.layers],
        "depths": [len(stage) for stage in encoder.layers],
        "decoder_channels": [block.conv2[0].out_channels for block in model.decoder],
        "input_offset_per_m": float(model.input_offset_per_m),
        "input_scale_per_m": float(model.input_scale_per_m),
    }


def build_model(description: dict):
    """A fresh UNet from :func:`architecture`'s dict (extra keys are ignored)."""
    from porewatch.kernels.segment.unet import UNet

    return UNet(description["n_classes"], in_channels=description["in_channels"],
                encoder_channels=tuple(description["encoder_channels"]), depths=tuple(description["depths"]),
                decoder_channels=tuple(description["decoder_channels"]),
                input_offset_per_m=description["input_offset_per_m"],
                input_scale_per_m=description["input_scale_per_m"])


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(model, path: Path, *, info: dict, half: bool = False) -> None:
    """Write the weights as safetensors (fp16 when ``half``) with architecture and ``info`` in the header."""
    from safetensors.torch import save_file

    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={MODEL_METADATA_KEY: json.dumps({**architecture(model), **info})})


def read_metadata(path: Path) -> dict:
    """The :data:`MODEL_METADATA_KEY` JSON of a ``.safetensors`` or ``.onnx`` model file."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            text = (handle.metadata() or {}).get(MODEL_METADATA_KEY)
    elif path.suffix == ".onnx":
        import onnx

        model = onnx.load(str(path), load_external_data=False)
        text = {p.key: p.value for p in model.metadata_props}.get(MODEL_METADATA_KEY)
    else:
        raise ValueError(f"{path}: expected a .safetensors or .onnx model file")
    if text is None:
        raise ValueError(f"{path}: no {MODEL_METADATA_KEY} metadata; not a porewatch model file")
    return json.loads(text)


def onnx_state_dict(path: Path) -> dict[str, np.ndarray]:
    """The torch ``state_dict`` (as float32 NumPy arrays) stored in a porewatch ONNX file."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
    return {name[len(_ONNX_PREFIX):]: np.array(value, dtype=np.float32)
            for name, value in tensors.items() if name.startswith(_ONNX_PREFIX)}


def load_model(path: Path):
    """A UNet (eval mode, float32, CPU) with the weights of a ``.safetensors`` or ``.onnx`` file."""
    import torch

    path = Path(path)
    model = build_model(read_metadata(path))
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = {k: torch.from_numpy(v) for k, v in onnx_state_dict(path).items()}
    expected = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(state))
    if missing:
        raise ValueError(f"{path}: weights missing for {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    model.load_state_dict({k: state[k].to(v.dtype) for k, v in expected.items()}, strict=False)
    return model.eval()


def export_onnx(model, path: Path, *, half: bool, info: dict, opset: int = 17, example_px: int = 64) -> None:
    """Export ``model`` to ONNX (fp16 compute when ``half``) with a dynamic batch, height and width."""
    import copy

    import onnx
    import torch

    from porewatch.kernels.segment.unet import SoftmaxOutput

    dtype = torch.float16 if half else torch.float32
    network = copy.deepcopy(model).cpu().eval().to(dtype)
    wrapper = SoftmaxOutput(network, dtype).eval()
    example = torch.zeros(1, network.encoder.conv1.in_channels, example_px, example_px)
    dynamic = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():  # the TorchScript exporter announces its deprecation on every call
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(wrapper, (example,), str(path), dynamo=False, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: dynamic, OUTPUT_NAME: dynamic},
                          do_constant_folding=False, training=torch.onnx.TrainingMode.EVAL)
    exported = onnx.load(str(path))
    description = {**architecture(model), **info, "precision": "fp16" if half else "fp32"}
    entry = exported.metadata_props.add()
    entry.key, entry.value = MODEL_METADATA_KEY, json.dumps(description)
    onnx.save(exported, str(path))


def compare_onnx_with_torch(model, path: Path, *, images=None, size_px: int = 96, batch: int = 2,
                            seed: int = 0) -> dict:
    """Run the ONNX file (ONNX Runtime, CPU) and the float32 torch model on the same input.

    The input is ``images`` ``(b, 1, h, w)`` (1/m, sides multiples of 32), or else ``batch``
    random ``size_px``-square slices that mimic a reconstruction: the normalisation's offset
    plus ``2 x scale`` noise.  Returns ``max_abs_probability_difference`` and
    ``class_agreement`` (fraction of pixels with the same most probable class).
    """
    import onnxruntime
    import torch

    from porewatch.kernels.segment.unet import SoftmaxOutput

    description = architecture(model)
    if images is None:
        rng = np.random.default_rng(seed)
        mu = (description["input_offset_per_m"] + 2 * description["input_scale_per_m"]
              * rng.standard_normal((batch, description["in_channels"], size_px, size_px))).astype(np.float32)
    else:
        mu = np.ascontiguousarray(images, dtype=np.float32)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_out = session.run([OUTPUT_NAME], {INPUT_NAME: mu})[0]
    with torch.no_grad():
        torch_out = SoftmaxOutput(model.cpu().float().eval())(torch.from_numpy(mu)).numpy()
    return {"max_abs_probability_difference": float(np.abs(onnx_out - torch_out).max()),
            "class_agreement": float(np.mean(onnx_out.argmax(1) == torch_out.argmax(1)))}
