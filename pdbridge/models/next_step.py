"""`next_step`: given the last bar (16 steps), predict the next sixteenth.

    (B, 16, 27) -> flatten -> MLP -> (B, 27) -> hit logits, velocities, offsets (each (B, 9))

Same loss family as the VAE (hits BCE, velocity/offset squared error where there is a hit), no
latent. To continue a beat, the engine feeds each predicted step back in (autoregression).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pdbridge.core.pattern import FEATURES
from pdbridge.models.hvo import hvo_loss, mlp, split_hvo


@dataclass
class NextStepConfig:
    context: int = 16  # steps of history the model sees (one bar)
    hidden: tuple[int, ...] = (512, 256)
    dropout: float = 0.1
    velocity_weight: float = 1.0
    offset_weight: float = 1.0


class NextStep(nn.Module):
    def __init__(self, config: NextStepConfig):
        super().__init__()
        self.config = c = config
        self.net = mlp([c.context * FEATURES, *c.hidden, FEATURES], c.dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return split_hvo(self.net(x.flatten(1)))

    def loss(
        self, x_in: torch.Tensor, x_target: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.config
        parts = hvo_loss(*self(x_in), x_target)
        loss = (
            parts["hits"]
            + c.velocity_weight * parts["velocities"]
            + c.offset_weight * parts["offsets"]
        )
        logs = {k: v.item() for k, v in parts.items()}
        logs["loss"] = loss.item()
        return loss, logs
