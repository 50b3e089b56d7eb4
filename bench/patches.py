"""Training examples synthesised on the fly from clean images: the paper's "noise process" n(x).

A sample is an output patch P×P of clean pixels (the target, on [0, 1]) and the noisy input window
around it, larger by the network's margin on each side. Windows that reach past the image border
see the border code −1 there, exactly as at test time, so the network learns the border too.
The noise model (bench.protocol.NOISE_MODELS) degrades the pixels inside the image exactly as
the benchmark degrades its test images: `clipped` inputs stay in [0, 1], the border code is kept.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bench.methods._convnet import BORDER_VALUE
from bench.protocol import DEFAULT_NOISE, apply_noise_model, validate_noise_model


class PatchSampler:
    """Draws (noisy input, clean target) batches; all randomness comes from one torch.Generator."""

    def __init__(self, images: list[np.ndarray], margin: int, seed: int, noise: str = DEFAULT_NOISE) -> None:
        self.margin = margin
        self.noise = validate_noise_model(noise)
        self.generator = torch.Generator().manual_seed(seed)
        self._padded = []
        self._masks = []
        for image in images:
            scaled = torch.from_numpy(np.asarray(image, np.float32) / 255.0)
            self._padded.append(F.pad(scaled, (margin,) * 4, value=BORDER_VALUE))
            self._masks.append(F.pad(torch.ones_like(scaled), (margin,) * 4, value=0.0))

    def _randint(self, high: int, size: int = 1) -> torch.Tensor:
        return torch.randint(high, (size,), generator=self.generator)

    def sample(
        self,
        images_per_batch: int,
        patches_per_image: int,
        patch: int,
        sigmas: torch.Tensor,
        augment: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`images_per_batch` distinct images, `patches_per_image` patches each.

        `sigmas` (one per sample, on 0–255) scales the noise; returns inputs (B,1,P+2m,P+2m) and
        targets (B,1,P,P) with B = images_per_batch · patches_per_image.
        """
        m, window = self.margin, patch + 2 * self.margin
        chosen = torch.randperm(len(self._padded), generator=self.generator)[:images_per_batch]
        inputs = []
        for index in chosen.tolist():
            padded, mask = self._padded[index], self._masks[index]
            height, width = padded.shape[0] - 2 * m, padded.shape[1] - 2 * m
            for _ in range(patches_per_image):
                top = int(self._randint(height - patch + 1))
                left = int(self._randint(width - patch + 1))
                clean = padded[top : top + window, left : left + window]
                inside = mask[top : top + window, left : left + window]
                pair = torch.stack([clean, inside])
                if augment:
                    pair = torch.rot90(pair, int(self._randint(4)), dims=(1, 2))
                    if int(self._randint(2)):
                        pair = pair.flip(2)
                inputs.append(pair)
        batch = torch.stack(inputs)  # (B, 2, window, window): clean-or-border, inside mask
        clean, inside = batch[:, :1], batch[:, 1:]
        noise = torch.randn(clean.shape, generator=self.generator) * (sigmas.view(-1, 1, 1, 1) / 255.0)
        noisy = torch.where(inside > 0, apply_noise_model(clean + noise, self.noise, peak=1.0), clean)
        targets = clean[:, :, m : m + patch, m : m + patch]
        return noisy, targets.contiguous()
