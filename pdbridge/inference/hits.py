"""Drawing hits from a model's logits, the one implementation (engine, frozen graphs, eval).

A hit is drawn as Bernoulli(sigmoid((logit - logit(threshold)) / temperature)), written as
`temperature * L < logit - logit(threshold)` with L a standard logistic variate (L = logit(U)
for a uniform U): the noise is drawn in numpy (seeded per request), the comparison runs in
torch, inside the frozen graph for the VAEs. Thresholds 0 and 1 give a bias of -inf / +inf:
always / never, at any temperature.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from pdbridge.core.pattern import NUM_VOICES


def hit_noise(rng: np.random.Generator, steps: int, temperature: float) -> np.ndarray:
    """(1, steps, 9) float32: temperature x standard logistic noise; zeros at temperature 0."""
    if temperature <= 0:
        return np.zeros((1, steps, NUM_VOICES), np.float32)
    noise = rng.logistic(size=(1, steps, NUM_VOICES))
    return (noise * temperature if temperature != 1 else noise).astype(np.float32)


def spread_noise(rng: np.random.Generator, steps: int, temperature: float) -> np.ndarray:
    """(1, steps, 18) float32: temperature x standard Laplace noise for the velocities (first 9)
    and offsets of a model with a scale per hit (`assemble_spread`); zeros at temperature 0.
    Drawn after the hit noise from the same generator, so a seed fixes both."""
    if temperature <= 0:
        return np.zeros((1, steps, 2 * NUM_VOICES), np.float32)
    noise = rng.laplace(size=(1, steps, 2 * NUM_VOICES))
    return (noise * temperature if temperature != 1 else noise).astype(np.float32)


def threshold_bias(thresholds: np.ndarray) -> torch.Tensor:
    """logit(threshold) per voice as a (1, 1, 9) tensor, -inf at 0 and +inf at 1. Cached:
    thresholds change when a performer moves a slider, not on every request. Read-only."""
    return _threshold_bias(np.asarray(thresholds, np.float32).tobytes())


@functools.lru_cache(maxsize=256)
def _threshold_bias(thresholds: bytes) -> torch.Tensor:
    thr = np.frombuffer(thresholds, np.float32).astype(np.float64)
    with np.errstate(divide="ignore"):
        bias = np.log(thr) - np.log1p(-thr)  # -inf at 0, +inf at 1
    return torch.from_numpy(bias.astype(np.float32)).reshape(1, 1, NUM_VOICES)


def assemble(
    logits: torch.Tensor,
    vel: torch.Tensor,
    off: torch.Tensor,
    noise: torch.Tensor,
    bias: torch.Tensor,
) -> torch.Tensor:
    """Model outputs (..., 9) x 3 -> patterns (..., 27): hits drawn, velocities and offsets
    (already in range: the models' one output head, `split_hvo`) zeroed where there is none."""
    hits = (noise < logits - bias).to(vel.dtype)
    return torch.cat((hits, vel * hits, off * hits), -1)


def assemble_spread(
    logits: torch.Tensor,
    vel: torch.Tensor,
    off: torch.Tensor,
    vel_scale: torch.Tensor,
    off_scale: torch.Tensor,
    noise: torch.Tensor,
    bias: torch.Tensor,
    spread: torch.Tensor,
) -> torch.Tensor:
    """`assemble` for a model that gives each velocity and offset a Laplace scale: each is
    drawn as location + scale x `spread` (temperature x standard Laplace noise, see
    `spread_noise`), kept in range (velocity at least 1 MIDI step, offsets within half a step)."""
    vel_noise, off_noise = spread.split(NUM_VOICES, dim=-1)
    vel = (vel + vel_scale * vel_noise).clamp(1.0 / 127.0, 1.0)
    off = (off + off_scale * off_noise).clamp(-0.5, 0.5)
    return assemble(logits, vel, off, noise, bias)


def draw_hits(
    logits: np.ndarray, thresholds: np.ndarray, temperature: float, rng: np.random.Generator
) -> np.ndarray:
    """Hits (0/1 float32) for logits (..., 9), drawn as the engine draws them."""
    logits = np.asarray(logits, np.float32)
    rows = logits.reshape(1, -1, NUM_VOICES)
    noise = hit_noise(rng, rows.shape[1], temperature)
    hits = torch.from_numpy(noise) < torch.from_numpy(rows) - threshold_bias(thresholds)
    return hits.numpy().reshape(logits.shape).astype(np.float32)
