"""Styles: what a model knows of each style, which styles it knows, and a check of both.

A VAE checkpoint carries per-style latent statistics in `extras["styles"]`, computed from the
latent means of each style's training windows (`style_statistics`, called by the trainer):

    {"rock": {"mu": [...], "std": [...], "windows": 5395,
              "components": {"weight": [...], "mu": tensor (k, z_dim), "std": tensor (k, z_dim)}}}

`mu`/`std` describe the style as one Gaussian. One Gaussian per style is too blunt: on GMD its
samples were closer to a neighbouring style than to their own for 2 of the 5 largest styles. So
each style also gets a small mixture (k-means of its latents, each cluster's mean and spread,
weighted by size); the engine picks a component by weight and samples `mu_k + std_k * eps`.

`python -m pdbridge.train.styles CHECKPOINT --data DIR` (re)computes the statistics of a checkpoint in
place. `check_styles` tests the result: samples asked for in a style should be closer (feature
overlap, `pdbridge.core.metrics`) to that style's real windows than to any other style's.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pdbridge.core import metrics
from pdbridge.inference import checkpoint
from pdbridge.inference.checkpoint import Checkpoint
from pdbridge.inference.engine import Controls, Engine

MIN_STYLE_WINDOWS = 20  # styles with fewer training windows get no statistics
COMPONENTS = 16  # mixture components per style (fewer for small styles)
KMEANS_ITERATIONS = 25


@torch.no_grad()
def latent_means(model: torch.nn.Module, x_in: torch.Tensor | np.ndarray) -> np.ndarray:
    """The encoder's latent means of (N, steps, 27) model inputs, (N, z_dim)."""
    model.eval()
    x_in = torch.as_tensor(np.asarray(x_in, np.float32))
    return torch.cat(
        [model.encode(x_in[i : i + 1024])[0] for i in range(0, len(x_in), 1024)]
    ).numpy()


def kmeans(z: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Cluster index of each row of `z` after Lloyd's k-means from `k` distinct random rows."""
    rng = np.random.default_rng(seed)
    centres = z[rng.choice(len(z), size=k, replace=False)].astype(np.float64)
    for _ in range(KMEANS_ITERATIONS):
        d = (z**2).sum(1)[:, None] - 2 * z @ centres.T + (centres**2).sum(1)[None]
        assign = d.argmin(1)
        for j in range(k):
            if (assign == j).any():
                centres[j] = z[assign == j].mean(0)
    return assign


def style_statistics(
    model: torch.nn.Module,
    x_in: torch.Tensor | np.ndarray,
    styles: np.ndarray,
    components: int = COMPONENTS,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Per style with >= MIN_STYLE_WINDOWS windows: its Gaussian and its mixture (plain lists)."""
    mus = latent_means(model, x_in).astype(np.float64)
    styles = np.asarray(styles)
    out: dict[str, dict[str, Any]] = {}
    for style in sorted(set(styles.tolist())):
        z = mus[styles == style]
        if len(z) < MIN_STYLE_WINDOWS:
            continue
        # at least ~10 windows per component, so each spread is estimated from a few patterns
        k = max(1, min(components, len(z) // 10))
        assign = kmeans(z, k, seed)
        comps = [z[assign == j] for j in range(k) if (assign == j).sum() >= 2]
        out[style] = {
            "mu": z.mean(0).tolist(),
            "std": z.std(0, ddof=1).tolist(),
            "windows": int(len(z)),
            # tensors, not lists: 16 x z_dim floats per style would make lists weigh megabytes
            "components": {
                "weight": [len(c) / sum(map(len, comps)) for c in comps],
                "mu": torch.tensor(np.stack([c.mean(0) for c in comps]), dtype=torch.float32),
                "std": torch.tensor(
                    np.stack([c.std(0, ddof=1) for c in comps]), dtype=torch.float32
                ),
            },
        }
    return out


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


# ---------------------------------------------------------------------------- python -m


def main(argv: list[str] | None = None) -> int:
    from pdbridge.models.registry import task_input
    from pdbridge.train.dataset import DatasetConfig, load_windows

    p = argparse.ArgumentParser(
        prog="python -m pdbridge.train.styles",
        description="(re)compute a VAE checkpoint's style statistics from a dataset's train split",
    )
    p.add_argument("checkpoint", help="checkpoint file, rewritten in place")
    p.add_argument("--data", required=True, help="dataset folder (GMD layout)")
    p.add_argument("--components", type=int, default=COMPONENTS)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    ckpt = checkpoint.load(args.checkpoint)
    train = load_windows(args.data, DatasetConfig(), show_progress=False).where(split="train")
    stats = style_statistics(
        ckpt.model, task_input(ckpt.task, train.x), train.style, args.components
    )
    checkpoint.save(
        ckpt.path,
        ckpt.model,
        ckpt.model_name,
        task=ckpt.task,
        metrics=ckpt.metrics,
        run=ckpt.run,
        extras=ckpt.extras | {"styles": stats},
    )
    print(f"{ckpt.path}: statistics for {len(stats)} styles: {', '.join(stats)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
