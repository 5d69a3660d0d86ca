"""`feel_net`: a task model that sees its input directly and gives a distribution per hit.

    task input (B, 32, 27) -> per-step linear -> [dilated residual block] x N (+ a summary of
    the whole window added to every step) -> per step and voice: a hit logit, a velocity and an
    offset (the most likely value each) and a Laplace scale for each of those two

A direct model (kind "direct"): one forward pass from the task input to the whole answer, no
latent. Why: the VAE task models (`conv_vae` trained on humanize/drumify/infill) squeeze their
input through a latent, so their decoder no longer knows exactly where the input's hits were or
how late they came; the course's Groove Transformer, which maps its input to its output step by
step, drumifies with better timing. And a model trained on squared error predicts the average
performance, which is tidy: its outputs had a third to a half of real drummers' spread.

The loss, per window (summed over steps and voices where the target has a hit):
- hits: binary cross-entropy (weight `hit_weight`);
- velocity and offset *locations*: absolute error in musical units (MIDI velocity steps, and ms
  at 120 bpm), scaled by `velocity_weight` / `offset_weight` per 10 units, so both count next to
  the hits. Absolute error makes the location the median: temperature 0 gives the most likely
  performance and the lowest absolute error;
- their *scales*: the Laplace negative log-likelihood with the location held fixed (detached),
  so the scale learns how far real drummers stray from the location without pulling it.

Temperature t draws `location + t * scale * L` per hit, with L standard Laplace noise from the
request's seed (`pdbridge.inference.hits.assemble_spread`): t = 1 has the spread of real
drummers, t = 0 none.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pdbridge.models.hvo import NUM_VOICES

FEATURES = 27
MIN_SCALE = 1e-3  # the smallest Laplace scale (velocity units or steps): keeps the NLL finite
MIDI = 127.0  # velocity 1.0 in MIDI steps
MS_PER_STEP = 125.0  # a sixteenth at 120 bpm: offsets in ms for the loss


@dataclass
class FeelNetConfig:
    steps: int = 32
    channels: int = 64
    blocks: int = 6
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1)  # one per block, cycled if fewer
    dropout: float = 0.2
    hit_weight: float = 1.0  # 0 for humanize: its hits are the input's
    velocity_weight: float = 1.0  # per 10 MIDI steps of absolute error
    offset_weight: float = 1.0  # per 10 ms (at 120 bpm) of absolute error
    scale_weight: float = 1.0  # the scales' negative log-likelihood


class DilatedBlock(nn.Module):
    """x + W2 gelu(W1 [x(t - d), x(t), x(t + d)]): a dilated convolution of width 3 over the
    steps, then a per-step mix, with a skip. Works time-major, (B, steps, C).

    Written as shifted copies and one matrix product rather than `nn.Conv1d(dilation=d)`:
    the same numbers, but torch's dilated and small 1-D convolution kernels (the ones it uses
    with oneDNN off, as the server runs it) cost 0.1-2 ms per layer at batch 1.
    """

    def __init__(self, channels: int, dilation: int, dropout: float):
        super().__init__()
        self.dilation = dilation
        self.conv = nn.Linear(3 * channels, channels)
        self.mix = nn.Linear(channels, channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.dilation
        h = F.gelu(x)
        before = F.pad(h[:, :-d], (0, 0, d, 0))  # step t reads t - d (zeros before the start)
        after = F.pad(h[:, d:], (0, 0, 0, d))  # and t + d (zeros past the end)
        h = self.conv(torch.cat((before, h, after), dim=-1))
        return x + self.mix(self.drop(F.gelu(h)))


def laplace_nll(target: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """-log Laplace(target; loc, scale), elementwise."""
    return (target - loc).abs() / scale + torch.log(2.0 * scale)


class FeelNet(nn.Module):
    traceable = True  # no Python control flow on values: the engine may freeze it
    spread = True  # `forward_spread` gives a Laplace scale per velocity and offset

    def __init__(self, config: FeelNetConfig):
        super().__init__()
        self.config = c = config
        C = c.channels
        self.embed = nn.Linear(FEATURES, C)
        self.summary = nn.Linear(C, C)  # the whole window, added to every step
        dil = c.dilations or (1,)
        self.blocks = nn.ModuleList(
            DilatedBlock(C, dil[i % len(dil)], c.dropout) for i in range(c.blocks)
        )
        self.head = nn.Linear(C, 5 * NUM_VOICES)

    def forward_spread(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, steps, 27) task input -> hit logits, velocity and offset locations, velocity and
        offset Laplace scales, each (B, steps, 9)."""
        h = self.embed(x)
        h = h + self.summary(h.mean(1))[:, None]
        for block in self.blocks:
            h = block(h)
        logits, vel, off, vel_s, off_s = self.head(F.gelu(h)).split(NUM_VOICES, dim=-1)
        return (
            logits,
            torch.sigmoid(vel),
            0.5 * torch.tanh(off),
            F.softplus(vel_s) + MIN_SCALE,
            F.softplus(off_s) + MIN_SCALE,
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Hit logits and the most likely velocities and offsets, each (B, steps, 9)."""
        logits, vel, off, _, _ = self.forward_spread(x)
        return logits, vel, off

    def loss(
        self, x_in: torch.Tensor, x_target: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.config
        logits, vel, off, vel_s, off_s = self.forward_spread(x_in)
        hits, t_vel, t_off = x_target.split(NUM_VOICES, dim=-1)
        batch = x_target.shape[0]
        vel_err, off_err = (vel - t_vel).abs(), (off - t_off).abs()
        parts = {
            "hits": F.binary_cross_entropy_with_logits(logits, hits, reduction="sum") / batch,
            "velocities": (hits * vel_err).sum() * MIDI / 10.0 / batch,
            "offsets": (hits * off_err).sum() * MS_PER_STEP / 10.0 / batch,
            "scales": (
                hits * (laplace_nll(t_vel, vel.detach(), vel_s) + laplace_nll(t_off, off.detach(), off_s))
            ).sum()
            / batch,
        }
        loss = (
            c.hit_weight * parts["hits"]
            + c.velocity_weight * parts["velocities"]
            + c.offset_weight * parts["offsets"]
            + c.scale_weight * parts["scales"]
        )
        logs = {k: v.item() for k, v in parts.items()}
        logs["loss"] = loss.item()
        return loss, logs
