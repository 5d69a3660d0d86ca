"""What every drum model shares: the HVO output heads and the HVO loss.

A model ends in a linear layer with 27 outputs per step (9 hit logits, 9 velocity, 9 offset
pre-activations); `split_hvo` turns them into the ranges of the pattern layout, and `hvo_loss`
is the reconstruction loss of GrooVAE: cross-entropy on hits, squared error on velocities and
offsets only where the target has a hit (elsewhere they are 0 by definition and carry no signal).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NUM_VOICES = 9


def split_hvo(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(..., 27) raw outputs -> hit logits, velocities in [0, 1], offsets in [-0.5, 0.5]."""
    logits, vel, off = raw.split(NUM_VOICES, dim=-1)
    return logits, torch.sigmoid(vel), 0.5 * torch.tanh(off)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A latent drawn from N(mu, exp(logvar)) that gradients flow through (the VAE trick)."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def hvo_loss(
    logits: torch.Tensor,
    velocities: torch.Tensor,
    offsets: torch.Tensor,
    target: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Per-example sums (over steps and voices), averaged over the batch.

    `target` is (..., 27) in the pattern layout, the outputs (..., 9).
    """
    hits, t_vel, t_off = target.split(NUM_VOICES, dim=-1)
    batch = target.shape[0]
    hit = F.binary_cross_entropy_with_logits(logits, hits, reduction="sum") / batch
    vel = (hits * (velocities - t_vel) ** 2).sum() / batch
    off = (hits * (offsets - t_off) ** 2).sum() / batch
    return {"hits": hit, "velocities": vel, "offsets": off}


def mlp(sizes: list[int], dropout: float) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU and dropout between them (not after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)
