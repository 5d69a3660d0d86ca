"""`groovae`: a reimplementation of Magenta's GrooVAE (Gillick et al., ICML 2019), our yardstick.

    (B, 32, 27) -> bidirectional LSTM -> [last forward h, last backward h] -> mu, sigma (z_dim)
    z -> tanh(dense) -> initial (h, c) of a 2-layer LSTM decoder
    decoder step t reads [output of step t-1, z] and writes 27 values (hits, velocities, offsets)

Training uses teacher forcing (step t reads the real step t-1); decoding feeds each step's own
output back in (hits drawn greedily at 0.5), so a decode runs 32 recurrent steps one after the
other: that sequential loop is the latency our non-autoregressive models remove. The engine's
per-voice thresholds and temperature apply to the logits `decode` returns (as for every VAE); the
steps fed back inside the loop are always the greedy ones.

The objective is Magenta's (`music_vae/base_model.py`), shared by our own VAEs so the comparison
is fair (`groove_objective`): reconstruction + beta * max(KL - free_nats, 0), where KL is summed
over the latent dimensions of each example and free_nats = free_bits * ln 2.

Magenta's `groovae_2bar_*` hyper-parameters and where ours differ (see docs/models.md):
  enc_rnn_size [512] per direction, dec_rnn_size [256, 256], z_size 256, max_beta 0.2 (constant:
  beta_rate 0), free_bits 48, dropout_keep_prob 0.3 on every LSTM layer's input, batch 512,
  Adam lr 1e-3 decaying x0.9999 per step, global-norm clip 1.0.
Differences: the LSTM sizes are config fields (the shipped reference run shrinks them to train
on 2 CPU cores); velocity/offset squared error counts only where the target has a hit (the
project's `hvo_loss`; Magenta also pulls them towards 0 elsewhere); offsets span [-0.5, 0.5].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pdbridge.core.pattern import FEATURES
from pdbridge.models.hvo import hvo_loss, reparameterize, split_hvo


@dataclass
class GrooVAEConfig:
    steps: int = 32  # 2 bars of sixteenths
    enc_size: int = 512  # LSTM units per direction (Magenta: 512)
    dec_sizes: tuple[int, ...] = (256, 256)  # decoder LSTM layers (Magenta: 256, 256)
    z_dim: int = 256  # (Magenta: 256)
    dropout: float = 0.7  # on each LSTM layer's input in training (Magenta: keep prob 0.3)
    beta: float = 0.2  # KL weight (Magenta max_beta 0.2, no warm-up)
    free_bits: float = 48.0  # per example, over all latent dimensions (Magenta: 48)
    kl_warmup_steps: int = 0  # Magenta has none; kept for runs that want one
    hit_weight: float = 1.0  # 0 for humanize: its hits are the input's, only the rest is learnt
    velocity_weight: float = 1.0
    offset_weight: float = 1.0


def groove_objective(
    config, parts: dict[str, torch.Tensor], mu: torch.Tensor, logvar: torch.Tensor, step: int
) -> tuple[torch.Tensor, dict[str, float]]:
    """Magenta's VAE loss from reconstruction parts (`hvo_loss`) and the posterior (mu, logvar).

    `config` needs beta, free_bits, kl_warmup_steps and hit_, velocity_ and offset_weight.
    """
    kl = (0.5 * (mu**2 + logvar.exp() - 1.0 - logvar)).sum(-1)  # (B,) nats per example
    free_nats = config.free_bits * math.log(2.0)
    kl_cost = (kl - free_nats).clamp(min=0.0).mean()
    warm = min(1.0, step / config.kl_warmup_steps) if config.kl_warmup_steps > 0 else 1.0
    recon = (
        config.hit_weight * parts["hits"]
        + config.velocity_weight * parts["velocities"]
        + config.offset_weight * parts["offsets"]
    )
    loss = recon + config.beta * warm * kl_cost
    logs = {k: v.item() for k, v in parts.items()}
    logs.update(kl=kl.mean().item(), recon=recon.item(), loss=loss.item())
    return loss, logs


class GrooveObjectiveVAE(nn.Module):
    """`forward` (decode the mean: what evaluation measures) and `loss` (`groove_objective` on a
    reparameterized latent) for every VAE trained with it. Subclasses define `config`, `encode`
    and `decode`; one whose decoder trains differently (GrooVAE: teacher forcing) overrides
    `training_outputs`."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.decode(self.encode(x)[0])

    def training_outputs(
        self, z: torch.Tensor, x_target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.decode(z)

    def loss(
        self, x_in: torch.Tensor, x_target: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        mu, logvar = self.encode(x_in)
        parts = hvo_loss(*self.training_outputs(reparameterize(mu, logvar), x_target), x_target)
        return groove_objective(self.config, parts, mu, logvar, step)


class GrooVAE(GrooveObjectiveVAE):
    def __init__(self, config: GrooVAEConfig):
        super().__init__()
        self.config = c = config
        self.in_drop = nn.Dropout(c.dropout)
        self.encoder = nn.LSTM(FEATURES, c.enc_size, batch_first=True, bidirectional=True)
        self.to_mu = nn.Linear(2 * c.enc_size, c.z_dim)
        self.to_sigma = nn.Linear(2 * c.enc_size, c.z_dim)
        # One LSTM per layer, so each layer's input gets Magenta's input dropout.
        sizes = [FEATURES + c.z_dim, *c.dec_sizes]
        self.decoder = nn.ModuleList(
            nn.LSTM(a, b, batch_first=True) for a, b in zip(sizes[:-1], sizes[1:], strict=False)
        )
        self.to_state = nn.Linear(c.z_dim, 2 * sum(c.dec_sizes))  # (h, c) of every layer
        self.out = nn.Linear(c.dec_sizes[-1], FEATURES)

    # -- encoder

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, (h, _) = self.encoder(self.in_drop(x))
        final = torch.cat([h[0], h[1]], dim=-1)  # last forward and last backward state
        sigma = F.softplus(self.to_sigma(final)) + 1e-6
        return self.to_mu(final), (2.0 * torch.log(sigma)).clamp(-20.0, 10.0)

    # -- decoder

    def _initial_state(self, z: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        flat = torch.tanh(self.to_state(z))
        states, i = [], 0
        for size in self.config.dec_sizes:
            h, c = flat[:, i : i + size], flat[:, i + size : i + 2 * size]
            states.append((h[None].contiguous(), c[None].contiguous()))
            i += 2 * size
        return states

    def _run(self, inputs: torch.Tensor, states: list) -> tuple[torch.Tensor, list]:
        """Decoder layers over (B, T, 27 + z_dim) inputs from the given states."""
        h = inputs
        new_states = []
        for lstm, state in zip(self.decoder, states, strict=True):
            h, state = lstm(self.in_drop(h), state)
            new_states.append(state)
        return self.out(h), new_states

    def teacher_forced(self, z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Raw outputs (B, T, 27) where step t reads the real step t-1 (training)."""
        previous = F.pad(target[:, :-1], (0, 0, 1, 0))  # step 0 reads silence
        zs = z[:, None].expand(-1, target.shape[1], -1)
        raw, _ = self._run(torch.cat([previous, zs], dim=-1), self._initial_state(z))
        return raw

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Autoregressive: each step reads the previous step's greedy output.

        One `torch.lstm_cell` per layer and step on the trained LSTMs' weights: the same maths as
        `nn.LSTM`, without its per-call overhead (a fair, fast reference).
        """
        states = [(h[0], c[0]) for h, c in self._initial_state(z)]
        step_in = z.new_zeros(z.shape[0], FEATURES)
        outputs = []
        for _ in range(self.config.steps):
            h = torch.cat([step_in, z], dim=-1)
            for i, lstm in enumerate(self.decoder):
                states[i] = torch.lstm_cell(
                    h,
                    states[i],
                    lstm.weight_ih_l0,
                    lstm.weight_hh_l0,
                    lstm.bias_ih_l0,
                    lstm.bias_hh_l0,
                )
                h = states[i][0]
            raw = self.out(h)
            outputs.append(raw)
            logits, vel, off = split_hvo(raw)
            hits = (logits > 0).to(z.dtype)
            step_in = torch.cat([hits, vel * hits, off * hits], dim=-1)
        return split_hvo(torch.stack(outputs, dim=1))

    def training_outputs(
        self, z: torch.Tensor, x_target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher forcing: each decoder step reads the real previous step."""
        return split_hvo(self.teacher_forced(z, x_target))
