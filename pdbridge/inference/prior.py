"""Where `/sample` draws its latents: N(0, I), or a VAE's own prior over its training beats.

A VAE whose latent carries a performance in detail (the default `conv_vae`: timing within a
few ms) leaves most of N(0, I) to latents no training window maps to, and decodes them to beats
unlike the data ("strangers"). Such a checkpoint stores a mixture in `extras["prior"]` (fitted
by `pdbridge.train.prior`):

    {"components": {"weight": (K,), "mu": (K, z_dim), "std": (K, z_dim)}, "method": ...,
     "clusters": K, "scale": s, ...}

the same layout as a style's mixture (`pdbridge.train.styles`): a sample picks a component by
weight and draws `mu_k + std_k * eps`. Method `clusters`: k-means clusters of the training
windows' latent means, each with its own spread times `s`. Method `calibrated` (the default
VAE's since issue 15's second round): latents drawn around the training latents along each
cluster's principal axes and resampled so that the patterns they decode have the training
windows' feature histograms, each with a small spread. Either way chosen on validation so that
samples are neither copies of training beats nor strangers (novelty ratio about 1,
`pdbridge.core.metrics.novelty_ratio`). Drawing costs the same for both.
"""

from __future__ import annotations

import numpy as np
import torch


def mixture_latents(
    mix: dict, n: int, rng: np.random.Generator, eps: np.ndarray | None = None
) -> np.ndarray:
    """(n, z_dim) float32 latents from a mixture {"weight", "mu", "std"} (tensors or lists):
    a component per row picked by weight, then mu_k + std_k * eps (eps drawn if not given)."""
    weight = np.asarray(mix["weight"], np.float64)
    k = torch.from_numpy(rng.choice(len(weight), size=n, p=weight / weight.sum()))
    mu = torch.as_tensor(mix["mu"])[k].float().numpy()
    std = torch.as_tensor(mix["std"])[k].float().numpy()
    if eps is None:
        eps = rng.standard_normal(mu.shape).astype(np.float32)
    return (mu + std * eps).astype(np.float32)


def prior_latents(
    extras: dict, z_dim: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """(n, z_dim) latents to sample from: the checkpoint's prior if it has one, else N(0, I)."""
    eps = rng.standard_normal((n, z_dim)).astype(np.float32)
    prior = extras.get("prior")
    if not prior:
        return eps
    return mixture_latents(prior["components"], n, rng, eps)
