import pytest

torch = pytest.importorskip("torch")

from porewatch.kernels.segment.unet import SIZE_MULTIPLE, SoftmaxOutput, UNet, parameter_count  # noqa: E402

TINY = dict(encoder_channels=(8, 16, 32, 64), depths=(1, 1, 1, 1), decoder_channels=(32, 16, 8, 8, 8))


def test_resnet34_unet_has_the_papers_size():
    model = UNet()
    assert parameter_count(model) == pytest.approx(24.4e6, rel=0.005)
    assert [len(stage) for stage in model.encoder.layers] == [3, 4, 6, 3]
    assert [block.conv2[0].out_channels for block in model.decoder] == [256, 128, 64, 32, 16]
    assert model.encoder.conv1.in_channels == 1


@pytest.mark.parametrize("height, width", [(32, 32), (64, 96)])
def test_logits_keep_the_input_size(height, width):
    model = UNet(4, **TINY).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 1, height, width))
    assert out.shape == (2, 4, height, width)
    assert height % SIZE_MULTIPLE == 0


def test_input_normalisation_is_part_of_the_model():
    torch.manual_seed(0)
    plain = UNet(3, **TINY).eval()
    shifted = UNet(3, input_offset_per_m=100.0, input_scale_per_m=50.0, **TINY).eval()
    shifted.load_state_dict({**plain.state_dict(), "input_offset_per_m": torch.tensor(100.0),
                             "input_scale_per_m": torch.tensor(50.0)})
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(shifted(100.0 + 50.0 * x), plain(x))


def test_softmax_wrapper_gives_float32_probabilities_in_half_precision_too():
    model = UNet(3, **TINY).eval()
    for dtype in (torch.float32, torch.float16):
        wrapper = SoftmaxOutput(model.to(dtype), dtype)
        with torch.no_grad():
            out = wrapper(torch.randn(1, 1, 32, 32))
        assert out.dtype == torch.float32
        torch.testing.assert_close(out.sum(dim=1), torch.ones(1, 32, 32), rtol=1e-3, atol=1e-3)


def test_bad_architecture_arguments_are_rejected():
    with pytest.raises(ValueError, match="decoder_channels"):
        UNet(decoder_channels=(16, 8))
    with pytest.raises(ValueError, match="input_scale_per_m"):
        UNet(input_scale_per_m=0.0)
