"""Styles: which a model knows, and whether sampling in a style sounds like that style.

A VAE checkpoint carries per-style latent statistics (`extras["styles"]`, written by the trainer
from its training windows: the mean and spread of the latent means of each style's windows); the
engine samples a style as `mu + std * eps`. This module lists those styles and checks them:
samples asked for in a style should be closer (feature overlap, `pdbridge.metrics`) to that
style's real windows than to any other style's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pdbridge import metrics
from pdbridge.checkpoint import Checkpoint
from pdbridge.engine import Controls, Engine


def known_styles(ckpt: Checkpoint) -> list[tuple[str, int]]:
    """(style, training windows) for every style the checkpoint can sample, largest first."""
    styles = ckpt.extras.get("styles", {})
    return sorted(
        ((name, int(s.get("windows", 0))) for name, s in styles.items()),
        key=lambda t: (-t[1], t[0]),
    )


def style_samples(
    engine: Engine, style: str | None, n: int, seed: int = 0, temperature: float = 1.0
) -> np.ndarray:
    """`n` patterns sampled in `style` (None: from the prior) through the engine, (n, 32, 27)."""
    return np.stack(
        [
            engine.sample(Controls(temperature=temperature, style=style, seed=seed + i))
            for i in range(n)
        ]
    )


@dataclass
class StyleCheck:
    style: str
    train_windows: int
    own: float  # feature overlap of the style's samples with its own windows
    nearest_other: str  # the other style whose windows overlap the samples most
    nearest_other_overlap: float
    prior_own: float  # overlap of prior (style-free) samples with this style's windows

    @property
    def closer(self) -> bool:
        return self.own > self.nearest_other_overlap


def check_styles(
    ckpt: Checkpoint,
    x: np.ndarray,
    styles: np.ndarray,
    n: int = 400,
    min_windows: int = 50,
    seed: int = 0,
) -> list[StyleCheck]:
    """For each known style with at least `min_windows` windows in `x` (labelled by `styles`),
    sample `n` patterns in it and compare them with the windows of every such style."""
    engine = Engine([ckpt])
    counts = {name: int((styles == name).sum()) for name, _ in known_styles(ckpt)}
    names = [name for name, _ in known_styles(ckpt) if counts[name] >= min_windows]
    prior = style_samples(engine, None, n, seed)
    out = []
    for name in names:
        samples = style_samples(engine, name, n, seed)
        overlaps = {
            other: metrics.feature_overlap(samples, x[styles == other])[0] for other in names
        }
        others = {k: v for k, v in overlaps.items() if k != name}
        nearest = max(others, key=others.get) if others else ""
        out.append(
            StyleCheck(
                style=name,
                train_windows=dict(known_styles(ckpt))[name],
                own=overlaps[name],
                nearest_other=nearest,
                nearest_other_overlap=others.get(nearest, float("nan")),
                prior_own=metrics.feature_overlap(prior, x[styles == name])[0],
            )
        )
    return out
