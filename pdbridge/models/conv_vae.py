"""`conv_vae`: a VAE with 1-D convolutions over the 32 steps and a non-autoregressive decoder.

    (B, 32, 27) -> conv -> [residual block, stride-2 conv] x 2 -> (B, C, 8) -> mu, logvar
    z -> dense -> (B, C, 8) -> [transposed stride-2 conv, residual block] x 2 -> (B, 32, 27)

The decoder writes all 32 steps at once (a handful of small convolutions), where GrooVAE runs 32
recurrent steps one after the other; that is the whole latency gain. The objective is GrooVAE's
(`groove_objective`: beta 0.2, 48 free bits), so the two are compared on equal terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pdbridge.core.pattern import FEATURES
from pdbridge.models.groovae import GrooveObjectiveVAE
from pdbridge.models.hvo import split_hvo


@dataclass
class ConvVAEConfig:
    steps: int = 32  # must be divisible by 4 (two halvings)
    channels: int = 128
    kernel: int = 3
    z_dim: int = 256
    dropout: float = 0.1
    beta: float = 0.2
    free_bits: float = 48.0
    kl_warmup_steps: int = 0
    hit_weight: float = 1.0  # 0 for humanize: its hits are the input's, only the rest is learnt
    velocity_weight: float = 1.0
    offset_weight: float = 1.0


class ResBlock(nn.Module):
    """x + conv(gelu(conv(gelu(x)))): two 'same' convolutions with a skip."""

    def __init__(self, channels: int, kernel: int, dropout: float):
        super().__init__()
        pad = kernel // 2
        self.net = nn.Sequential(
            nn.GELU(),
            nn.Conv1d(channels, channels, kernel, padding=pad),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv1d(channels, channels, kernel, padding=pad),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class ConvVAE(GrooveObjectiveVAE):
    traceable = True  # no Python control flow on values: the engine may freeze it

    def __init__(self, config: ConvVAEConfig):
        super().__init__()
        self.config = c = config
        C, k = c.channels, c.kernel
        self.coarse = c.steps // 4
        self.encoder = nn.Sequential(
            nn.Conv1d(FEATURES, C, k, padding=k // 2),
            ResBlock(C, k, c.dropout),
            nn.Conv1d(C, C, 4, stride=2, padding=1),
            ResBlock(C, k, c.dropout),
            nn.Conv1d(C, C, 4, stride=2, padding=1),
            nn.GELU(),
            nn.Flatten(),
        )
        self.to_mu = nn.Linear(C * self.coarse, c.z_dim)
        self.to_logvar = nn.Linear(C * self.coarse, c.z_dim)
        self.from_z = nn.Linear(c.z_dim, C * self.coarse)
        self.decoder = nn.Sequential(
            nn.ConvTranspose1d(C, C, 4, stride=2, padding=1),
            ResBlock(C, k, c.dropout),
            nn.ConvTranspose1d(C, C, 4, stride=2, padding=1),
            ResBlock(C, k, c.dropout),
            nn.GELU(),
            nn.Conv1d(C, FEATURES, 1),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x.transpose(1, 2))
        return self.to_mu(h), self.to_logvar(h).clamp(-20.0, 10.0)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.from_z(z).view(-1, self.config.channels, self.coarse)
        return split_hvo(self.decoder(h).transpose(1, 2))
