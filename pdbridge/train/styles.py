"""Styles: what a model knows of each style, computed from its training windows.

A VAE checkpoint carries per-style latent statistics in `extras["styles"]`, computed from the
latent means of each style's training windows (`style_statistics`, called by the trainer):

    {"rock": {"mu": [...], "std": [...], "windows": 5395,
              "components": {"weight": [...], "mu": tensor (k, z_dim), "std": tensor (k, z_dim)}}}

`mu`/`std` describe the style as one Gaussian. One Gaussian per style is too blunt: on GMD its
samples were closer to a neighbouring style than to their own for 2 of the 5 largest styles. So
each style also gets a small mixture (k-means of its latents, each cluster's mean and spread,
weighted by size); the engine picks a component by weight and samples `mu_k + std_k * eps`.

`scripts/restyle.py CHECKPOINT --data DIR` (re)computes the statistics of an older checkpoint;
`pdbridge.evaluate.style_check` tests the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

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
