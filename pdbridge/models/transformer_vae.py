"""`transformer_vae`: a small transformer over the 32 steps, encoder and non-autoregressive decoder.

    (B, 32, 27) -> linear + position -> N self-attention layers -> mean over steps -> mu, logvar
    z -> linear, added to a learned embedding of each of the 32 positions -> N layers -> (B, 32, 27)

Every step of the decoder sees every other step at once (no causal mask, no recurrence), so a
decode is a few matrix products. The objective is GrooVAE's (`groove_objective`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pdbridge.core.pattern import FEATURES
from pdbridge.models.groovae import GrooveObjectiveVAE
from pdbridge.models.hvo import split_hvo


@dataclass
class TransformerVAEConfig:
    steps: int = 32
    d_model: int = 128
    heads: int = 4
    layers: int = 2  # in the encoder and again in the decoder
    ff: int = 256
    z_dim: int = 256
    dropout: float = 0.1
    beta: float = 0.2
    free_bits: float = 48.0
    kl_warmup_steps: int = 0
    hit_weight: float = 1.0  # 0 for humanize: its hits are the input's, only the rest is learnt
    velocity_weight: float = 1.0
    offset_weight: float = 1.0


def _stack(c: TransformerVAEConfig) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        c.d_model, c.heads, c.ff, c.dropout, activation="gelu", batch_first=True
    )
    return nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False)


class TransformerVAE(GrooveObjectiveVAE):
    def __init__(self, config: TransformerVAEConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Linear(FEATURES, c.d_model)
        self.enc_pos = nn.Parameter(0.02 * torch.randn(c.steps, c.d_model))
        self.encoder = _stack(c)
        self.to_mu = nn.Linear(c.d_model, c.z_dim)
        self.to_logvar = nn.Linear(c.d_model, c.z_dim)
        self.from_z = nn.Linear(c.z_dim, c.d_model)
        self.dec_pos = nn.Parameter(0.02 * torch.randn(c.steps, c.d_model))
        self.decoder = _stack(c)
        self.out = nn.Linear(c.d_model, FEATURES)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(self.embed(x) + self.enc_pos).mean(1)
        return self.to_mu(h), self.to_logvar(h).clamp(-20.0, 10.0)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.decoder(self.from_z(z)[:, None] + self.dec_pos)
        return split_hvo(self.out(h))
