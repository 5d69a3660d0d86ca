"""`mlp_vae`: the course's feedforward VAE over 2-bar drum patterns.

    (B, 32, 27) pattern -> flatten -> MLP -> mu, logvar (z_dim each)
    z = mu + sigma * eps -> MLP -> (B, 32, 27) -> hit logits, velocities, offsets (each (B, 32, 9))

Loss = hits BCE + velocity/offset squared error where there is a hit + beta * KL(q(z|x) || N(0, I)).
beta ramps up linearly over `kl_warmup_steps` (so the decoder first learns to use z) and each latent
dimension's KL below `free_nats_per_dim` nats is not penalised (so the posterior does not collapse).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pdbridge.core.pattern import FEATURES
from pdbridge.models.hvo import hvo_loss, mlp, reparameterize, split_hvo


@dataclass
class MLPVAEConfig:
    steps: int = 32  # 2 bars of sixteenths
    hidden: tuple[int, ...] = (512, 256)  # encoder sizes; the decoder mirrors them
    z_dim: int = 64
    dropout: float = 0.1
    beta: float = 1.0  # KL weight after warm-up
    kl_warmup_steps: int = 2000  # optimizer steps to ramp beta from 0
    free_nats_per_dim: float = 0.0  # KL (nats) per latent dimension that costs nothing

    # older checkpoints and recipes name it free_bits (GrooVAE's free_bits is bits per example)
    RENAMED = {"free_bits": "free_nats_per_dim"}
    velocity_weight: float = 1.0
    offset_weight: float = 1.0


class MLPVAE(nn.Module):
    traceable = True  # no Python control flow on values: the engine may freeze it

    def __init__(self, config: MLPVAEConfig):
        super().__init__()
        self.config = c = config
        flat = c.steps * FEATURES
        hidden = list(c.hidden)
        self.encoder = nn.Sequential(mlp([flat, *hidden], c.dropout), nn.ReLU())
        self.to_mu = nn.Linear(hidden[-1], c.z_dim)
        self.to_logvar = nn.Linear(hidden[-1], c.z_dim)
        self.decoder = mlp([c.z_dim, *reversed(hidden), flat], c.dropout)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x.flatten(1))
        return self.to_mu(h), self.to_logvar(h).clamp(-10.0, 10.0)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        raw = self.decoder(z).view(-1, self.config.steps, FEATURES)
        return split_hvo(raw)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Deterministic reconstruction (decode the mean): what evaluation measures."""
        return self.decode(self.encode(x)[0])

    def kl_weight(self, step: int) -> float:
        c = self.config
        return c.beta * min(1.0, step / c.kl_warmup_steps) if c.kl_warmup_steps > 0 else c.beta

    def loss(
        self, x_in: torch.Tensor, x_target: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.config
        mu, logvar = self.encode(x_in)
        parts = hvo_loss(*self.decode(reparameterize(mu, logvar)), x_target)
        kl_per_dim = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).mean(0)  # (z_dim,)
        kl = kl_per_dim.sum()
        kl_cost = kl_per_dim.clamp(min=c.free_nats_per_dim).sum()
        recon = (
            parts["hits"]
            + c.velocity_weight * parts["velocities"]
            + c.offset_weight * parts["offsets"]
        )
        loss = recon + self.kl_weight(step) * kl_cost
        logs = {k: v.item() for k, v in parts.items()}
        logs.update(kl=kl.item(), recon=recon.item(), loss=loss.item())
        return loss, logs
