"""Run a MatConvNet SimpleNN network (see `matconvnet`) in PyTorch, as the authors' modified
`vl_simplenn` does: `concat` appends the noise-level map (σ/255 everywhere) as a last channel,
`SubP` with scale ½ moves each s × s block of pixels into s² channels (scale 2 undoes it).

SubP's channel order is MATLAB's, not `torch.pixel_unshuffle`'s: sub-image i (from 0) takes the
pixels at row offset i mod s and column offset i // s. An image whose sides are not multiples of
s is first extended by repeating its last row / column, as the authors' test code does, and the
output cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.pretrained.matconvnet import Layer


class SimpleNN(nn.Module):
    """The layers in sequence; input (N, C, H, W) on the [0, 1] scale, noise level on it too."""

    def __init__(self, layers: list[Layer]) -> None:
        super().__init__()
        self.layers = list(layers)
        self.convs = nn.ParameterList(
            [nn.Parameter(p, requires_grad=False) for layer in self.layers if layer.kind == "conv"
             for p in (layer.weight, layer.bias)])
        self.block = round(1 / min((layer.scale for layer in self.layers if layer.kind == "SubP"), default=1))

    @property
    def needs_noise_level(self) -> bool:
        return any(layer.kind == "concat" for layer in self.layers)

    def forward(self, image: torch.Tensor, noise_level: float | None = None) -> torch.Tensor:
        height, width = image.shape[-2:]
        x = F.pad(image, (0, -width % self.block, 0, -height % self.block), mode="replicate")
        parameters = iter(self.convs)
        for layer in self.layers:
            if layer.kind == "conv":
                x = F.conv2d(x, next(parameters), next(parameters), padding=layer.pad)
            elif layer.kind == "relu":
                x = F.relu(x)
            elif layer.kind == "concat":
                if noise_level is None:
                    raise ValueError("this network needs the noise level σ")
                x = torch.cat([x, torch.full_like(x[:, :1], noise_level)], dim=1)
            elif layer.scale < 1:
                x = space_to_channels(x, round(1 / layer.scale))
            else:
                x = channels_to_space(x, round(layer.scale))
        return x[..., :height, :width]


def space_to_channels(x: torch.Tensor, s: int) -> torch.Tensor:
    """(N, C, H, W) → (N, C·s², H/s, W/s) in MATLAB's SubP order (module docstring)."""
    blocks = [x[:, :, row::s, column::s] for column in range(s) for row in range(s)]
    return torch.stack(blocks, dim=2).flatten(1, 2)


def channels_to_space(x: torch.Tensor, s: int) -> torch.Tensor:
    """The inverse of `space_to_channels`."""
    n, channels, height, width = x.shape
    blocks = x.reshape(n, channels // (s * s), s * s, height, width)
    out = x.new_empty(n, channels // (s * s), height * s, width * s)
    for index in range(s * s):
        out[:, :, index % s :: s, index // s :: s] = blocks[:, :, index]
    return out
