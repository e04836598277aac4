"""U-Net with a ResNet34 encoder, in plain torch (no torchvision), for one-channel slices.

Layout (the common "ResNet encoder + U-Net decoder" arrangement):

* encoder: 7x7 stride-2 stem (64) -> max-pool -> four stages of basic residual blocks,
  64/128/256/512 channels with 3/4/6/3 blocks (``depths``), the last three starting at
  stride 2; features at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input;
* decoder: five blocks (``decoder_channels``, default 256/128/64/32/16), each a nearest
  x2 upsampling, concatenation with the encoder feature of that scale (none at full
  scale) and two 3x3 convolution + batch-norm + ReLU;
* head: a 3x3 convolution to ``n_classes`` logits.

The model takes attenuation in 1/m and normalises it itself, ``(mu - input_offset_per_m)
/ input_scale_per_m`` (buffers, saved with the weights and exported to ONNX), so every
backend feeds it reconstructed values as they are.  ``forward`` returns logits;
:class:`SoftmaxOutput` wraps it for inference (probabilities).  Inputs must have sides
that are multiples of :data:`SIZE_MULTIPLE`.

torch is imported at module level: import this module only where torch is installed.
"""

import torch
from torch import nn

#: Input sides must be multiples of this (five stride-2 reductions).
SIZE_MULTIPLE = 32
RESNET34_DEPTHS = (3, 4, 6, 3)
ENCODER_CHANNELS = (64, 128, 256, 512)
DECODER_CHANNELS = (256, 128, 64, 32, 16)


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class ResNetEncoder(nn.Module):
    """ResNet stem and stages; ``forward`` returns the features at 1/2 ... 1/32 scale."""

    def __init__(self, in_channels: int, channels: tuple[int, ...], depths: tuple[int, ...]):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(channels[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        stages, previous = [], channels[0]
        for index, (width, depth) in enumerate(zip(channels, depths)):
            stride = 1 if index == 0 else 2
            blocks = [BasicBlock(previous, width, stride)] + [BasicBlock(width, width) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            previous = width
        self.layers = nn.ModuleList(stages)

    def forward(self, x) -> list:
        features = [self.relu(self.bn1(self.conv1(x)))]
        x = self.maxpool(features[0])
        for stage in self.layers:
            x = stage(x)
            features.append(x)
        return features


class DecoderBlock(nn.Module):
    """Nearest x2 upsampling, concatenation with a skip feature (optional), two conv-bn-relu."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = _conv_bn_relu(in_channels + skip_channels, out_channels)
        self.conv2 = _conv_bn_relu(out_channels, out_channels)

    def forward(self, x, skip=None):
        x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class UNet(nn.Module):
    """U-Net with a ResNet encoder; default arguments give the ResNet34 model (~24.4 M parameters).

    Parameters
    ----------
    n_classes : int
        Output classes (:class:`porewatch.kernels.labels.Phase` has 5).
    in_channels : int
    encoder_channels, depths : tuple of 4 ints
        Widths and basic-block counts of the encoder stages.
    decoder_channels : tuple of 5 ints
    input_offset_per_m, input_scale_per_m : float
        Input normalisation, 1/m.
    """

    def __init__(
        self,
        n_classes: int = 5,
        *,
        in_channels: int = 1,
        encoder_channels: tuple[int, ...] = ENCODER_CHANNELS,
        depths: tuple[int, ...] = RESNET34_DEPTHS,
        decoder_channels: tuple[int, ...] = DECODER_CHANNELS,
        input_offset_per_m: float = 0.0,
        input_scale_per_m: float = 1.0,
    ):
        super().__init__()
        if len(encoder_channels) != 4 or len(depths) != 4 or len(decoder_channels) != 5:
            raise ValueError("encoder_channels and depths need 4 entries, decoder_channels 5")
        if not input_scale_per_m > 0:
            raise ValueError(f"input_scale_per_m must be positive, got {input_scale_per_m}")
        self.register_buffer("input_offset_per_m", torch.tensor(float(input_offset_per_m)))
        self.register_buffer("input_scale_per_m", torch.tensor(float(input_scale_per_m)))
        self.encoder = ResNetEncoder(in_channels, tuple(encoder_channels), tuple(depths))
        # skips, deepest first: stage 3, 2, 1 outputs, the stem, nothing at full scale
        skips = (encoder_channels[2], encoder_channels[1], encoder_channels[0], encoder_channels[0], 0)
        blocks, previous = [], encoder_channels[3]
        for skip, width in zip(skips, decoder_channels):
            blocks.append(DecoderBlock(previous, skip, width))
            previous = width
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(decoder_channels[-1], n_classes, 3, padding=1)

    def forward(self, mu):
        """``mu`` (N, in_channels, H, W) in 1/m, H and W multiples of 32 -> logits (N, n_classes, H, W)."""
        x = (mu - self.input_offset_per_m) / self.input_scale_per_m
        features = self.encoder(x)
        x = features[-1]
        skips = features[-2::-1] + [None]
        for block, skip in zip(self.decoder, skips):
            x = block(x, skip)
        return self.head(x)


class SoftmaxOutput(nn.Module):
    """Inference wrapper: float32 attenuation in, float32 class probabilities out.

    ``dtype`` is the compute precision (``torch.float16`` for an fp16 export): the input
    is cast to it after the normalisation-free entry and the probabilities back to float32,
    so an fp16 ONNX keeps float32 inputs and outputs.
    """

    def __init__(self, model: UNet, dtype=torch.float32):
        super().__init__()
        self.model = model
        self.dtype = dtype

    def forward(self, mu):
        logits = self.model(mu.to(self.dtype))
        return torch.softmax(logits.float(), dim=1)


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
