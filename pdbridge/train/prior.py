"""A VAE's prior over its training beats, for `/sample` (`pdbridge.inference.prior` draws it).

`prior_mixture` clusters the latent means of the training windows with k-means and keeps each
cluster's mean, its per-dimension spread times `scale`, and its size as the weight: a mixture
that covers the region of the latent space real beats map to, and nothing else. `scale` sets how
far samples stray from the training beats: 0 gives the cluster centres (close to copies), large
values leave the data's region. It is chosen on the validation split with
`scripts/experiments/vae_prior.py` (novelty ratio about 1 at the best feature overlap).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pdbridge.train.styles import kmeans, latent_means

CLUSTERS = 512
SCALE = 1.0


def prior_mixture(
    train_mu: np.ndarray, clusters: int = CLUSTERS, scale: float = SCALE, seed: int = 0
) -> dict[str, Any]:
    """{"components": {"weight", "mu", "std"}, "clusters", "scale"} from training latent means
    (N, z_dim): k-means clusters with at least 2 windows each. Means and spreads are stored as
    float16 (half the size; far below the spread of the latents)."""
    z = np.asarray(train_mu, np.float64)
    assign = kmeans(z, min(clusters, len(z)), seed)
    groups = [z[assign == j] for j in range(assign.max() + 1) if (assign == j).sum() >= 2]
    return {
        "components": {
            "weight": torch.tensor([len(g) for g in groups], dtype=torch.float32),
            "mu": torch.tensor(np.stack([g.mean(0) for g in groups]), dtype=torch.float16),
            "std": torch.tensor(
                np.stack([scale * g.std(0, ddof=1) for g in groups]), dtype=torch.float16
            ),
        },
        "clusters": len(groups),
        "scale": float(scale),
    }


def fit_prior(
    model: torch.nn.Module,
    train_in: np.ndarray,
    clusters: int = CLUSTERS,
    scale: float = SCALE,
    seed: int = 0,
) -> dict[str, Any]:
    """`prior_mixture` of the model's latent means of `train_in` (its task inputs)."""
    return prior_mixture(latent_means(model, train_in), clusters, scale, seed)
