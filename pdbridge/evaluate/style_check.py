"""Do a model's styles sample like their own style? `check_styles` samples each style the
checkpoint knows (`pdbridge.train.styles` computes what it knows at training time) and compares
the samples with the real windows of every style: they should be closer (feature overlap,
`pdbridge.core.metrics`) to their own style's windows than to any other's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pdbridge.core import metrics
from pdbridge.inference.checkpoint import Checkpoint
from pdbridge.inference.engine import Controls, Engine


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
    # The same test with real training windows of the style in place of samples (when asked):
    # held-out windows of a style can be unlike its training windows, and then no model passes.
    real_own: float = float("nan")
    real_nearest_other_overlap: float = float("nan")

    @property
    def closer(self) -> bool:
        return self.own > self.nearest_other_overlap

    @property
    def real_closer(self) -> bool | None:
        if np.isnan(self.real_own):
            return None
        return self.real_own > self.real_nearest_other_overlap


def _overlaps(patterns: np.ndarray, x: np.ndarray, styles: np.ndarray, names: list[str]):
    return {name: metrics.feature_overlap(patterns, x[styles == name])[0] for name in names}


def check_styles(
    ckpt: Checkpoint,
    x: np.ndarray,
    styles: np.ndarray,
    n: int = 400,
    min_windows: int = 50,
    seed: int = 0,
    real: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[StyleCheck]:
    """For each known style with at least `min_windows` windows in `x` (labelled by `styles`),
    sample `n` patterns in it and compare them with the windows of every such style. With
    `real = (train_x, train_styles)`, also compare `n` real training windows of each style."""
    engine = Engine([ckpt])
    counts = {name: int((styles == name).sum()) for name, _ in known_styles(ckpt)}
    names = [name for name, _ in known_styles(ckpt) if counts[name] >= min_windows]
    prior = style_samples(engine, None, n, seed)
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        overlaps = _overlaps(style_samples(engine, name, n, seed), x, styles, names)
        others = {k: v for k, v in overlaps.items() if k != name}
        nearest = max(others, key=others.get) if others else ""
        check = StyleCheck(
            style=name,
            train_windows=dict(known_styles(ckpt))[name],
            own=overlaps[name],
            nearest_other=nearest,
            nearest_other_overlap=others.get(nearest, float("nan")),
            prior_own=metrics.feature_overlap(prior, x[styles == name])[0],
        )
        if real is not None:
            mine = real[0][real[1] == name]
            pick = mine[rng.choice(len(mine), size=n, replace=len(mine) < n)]
            real_overlaps = _overlaps(pick, x, styles, names)
            check.real_own = real_overlaps.pop(name)
            check.real_nearest_other_overlap = max(real_overlaps.values(), default=float("nan"))
        out.append(check)
    return out
