import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from porewatch.kernels.segment.unet import SoftmaxOutput, UNet  # noqa: E402
from porewatch.services import model_io  # noqa: E402
from porewatch.services.segmentation import OnnxRuntimeRunner, TorchRunner  # noqa: E402

TINY = dict(encoder_channels=(8, 16, 32, 64), depths=(1, 1, 1, 1), decoder_channels=(16, 16, 8, 8, 8))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    net = UNet(5, input_offset_per_m=50.0, input_scale_per_m=400.0, **TINY)
    net.train()
    with torch.no_grad():  # a few batches give the batch norms non-trivial running statistics
        for _ in range(3):
            net(50.0 + 400.0 * torch.randn(4, 1, 64, 64))
    return net.eval()


@pytest.mark.parametrize("half, tolerance", [(False, 1e-5), (True, 2e-2)])
def test_onnx_export_matches_torch(model, tmp_path, half, tolerance):
    path = tmp_path / "model.onnx"
    model_io.export_onnx(model, path, half=half, info={"commit": "abc"})
    check = model_io.compare_onnx_with_torch(model, path)
    assert check["max_abs_probability_difference"] < tolerance
    assert check["class_agreement"] > 0.99
    meta = model_io.read_metadata(path)
    assert meta["precision"] == ("fp16" if half else "fp32") and meta["commit"] == "abc"
    assert meta["encoder_channels"] == [8, 16, 32, 64] and meta["input_scale_per_m"] == 400.0


def test_weights_read_back_from_onnx_and_safetensors_rebuild_the_model(model, tmp_path):
    onnx_path, checkpoint = tmp_path / "model.onnx", tmp_path / "model.safetensors"
    model_io.export_onnx(model, onnx_path, half=False, info={})
    model_io.save_checkpoint(model, checkpoint, info={"note": "x"})
    x = 50.0 + 400.0 * torch.randn(2, 1, 64, 96)
    with torch.no_grad():
        expected = model(x)
        for path in (onnx_path, checkpoint):
            torch.testing.assert_close(model_io.load_model(path)(x), expected, rtol=1e-4, atol=1e-4)
    assert model_io.read_metadata(checkpoint)["note"] == "x"


def test_torch_and_onnxruntime_runners_agree(model, tmp_path):
    path = tmp_path / "model.onnx"
    model_io.export_onnx(model, path, half=True, info={})
    batch = (50.0 + 400.0 * np.random.default_rng(0).standard_normal((2, 1, 64, 64))).astype(np.float32)
    by_torch, by_ort = TorchRunner(path, device="cpu")(batch), OnnxRuntimeRunner(path)(batch)
    assert by_torch.shape == by_ort.shape == (2, 5, 64, 64)
    assert np.mean(by_torch.argmax(1) == by_ort.argmax(1)) > 0.99
    with torch.no_grad():
        reference = SoftmaxOutput(model)(torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(by_torch, reference, atol=2e-2)


def test_files_without_porewatch_metadata_are_rejected(tmp_path):
    plain = tmp_path / "plain.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(plain))
    with pytest.raises(ValueError, match="not a porewatch model"):
        model_io.read_metadata(plain)
    with pytest.raises(ValueError, match=".safetensors or .onnx"):
        model_io.read_metadata(tmp_path / "model.pt")
