"""A VAE's prior over its training beats, for `/sample` (`pdbridge.inference.prior` draws it).

Two fits, both stored as a mixture `{"components": {"weight", "mu", "std"}, ...}`:

- `prior_mixture` (`method: "clusters"`) clusters the latent means of the training windows with
  k-means and keeps each cluster's mean, its per-dimension spread times `scale`, and its size as
  the weight: a mixture that covers the region of the latent space real beats map to.
- `calibrated_prior` (`method: "calibrated"`, the default since issue 15's second round) draws
  many candidate latents from per-cluster low-rank Gaussians (each cluster's own principal axes,
  so a candidate moves the way the cluster's beats differ, not along every dimension), decodes
  each `DRAWS` times as `/sample` would (temperature 1), and weights them so that the histogram
  of every musical feature of the drawn patterns (`metrics.pattern_features`, on the bins
  `feature_overlap` compares) matches the training windows' (raking, `rake_weights`). `bank`
  candidates resampled by those weights become the components (each kept once, weighted by its count), with a
  posterior-sized spread `jitter`. The decoder is not touched, so reconstruction stays as it
  was; only the training split is read.

Chosen on the validation split with `scripts/experiments/vae_prior.py` and
`scripts/experiments/vae_prior_bank.py` (see docs/models.md, "Feel").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pdbridge.core import metrics
from pdbridge.core.pattern import clean_array, default_thresholds
from pdbridge.inference.hits import draw_hits
from pdbridge.train.styles import kmeans, latent_means

CLUSTERS = 512
SCALE = 1.0

# the calibrated prior
CANDIDATES = 80_000
CANDIDATE_CLUSTERS = 128
RANK = 32
CANDIDATE_SCALE = 1.4
BANK = 4096
JITTER = 0.06  # about the encoder's median posterior standard deviation on training windows
DRAWS = 3
RAKE_ROUNDS = 10


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
        "method": "clusters",
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


def lowrank_candidates(
    train_mu: np.ndarray,
    n: int,
    clusters: int = CANDIDATE_CLUSTERS,
    rank: int = RANK,
    scale: float = CANDIDATE_SCALE,
    seed: int = 0,
) -> np.ndarray:
    """(n, z_dim) latents: a k-means cluster of the training latents picked by size, then its
    mean + scale x its covariance's top `rank` principal axes (each with its spread) x N(0, 1)."""
    z = np.asarray(train_mu, np.float64)
    assign = kmeans(z, min(clusters, max(1, len(z) // 8)), seed)  # a few windows per cluster
    groups = [z[assign == j] for j in range(assign.max() + 1) if (assign == j).sum() >= 2]
    rng = np.random.default_rng(seed)
    sizes = np.array([len(g) for g in groups], np.float64)
    pick = rng.choice(len(groups), size=n, p=sizes / sizes.sum())
    out = np.empty((n, z.shape[1]))
    for j in np.unique(pick):
        g = groups[j]
        centred = g - g.mean(0)
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        r = min(rank, len(s))
        axes = vt[:r].T * (s[:r] / np.sqrt(len(g) - 1))  # (z_dim, r)
        rows = np.flatnonzero(pick == j)
        out[rows] = g.mean(0) + scale * rng.standard_normal((len(rows), r)) @ axes.T
    return out.astype(np.float32)


@torch.inference_mode()
def decode_samples(model: torch.nn.Module, z: np.ndarray, seed: int) -> np.ndarray:
    """Patterns decoded from latents `z` as `/sample` draws them (temperature 1, threshold 0.5)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(0, len(z), 2048):
        logits, vel, off = (o.numpy() for o in model.decode(torch.from_numpy(z[i : i + 2048])))
        hits = draw_hits(logits, default_thresholds(), 1.0, rng)
        out.append(clean_array(np.concatenate([hits, vel, off], -1)))
    return np.concatenate(out)


def feature_matrix(patterns: np.ndarray) -> np.ndarray:
    """(N, features) of `metrics.pattern_features`, in a fixed order."""
    feats = metrics.pattern_features(patterns)
    return np.stack([feats[k] for k in sorted(feats)], 1)


def _edges(real: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Histogram bins as `metrics.overlap_area` draws them: unit bins for integer counts, else
    `metrics.CONTINUOUS_BINS` equal bins over the pooled range."""
    lo, hi = min(real.min(), cand.min()), max(real.max(), cand.max())
    if np.all(real == np.round(real)) and np.all(cand == np.round(cand)):
        return np.arange(lo, hi + 2) - 0.5
    return np.linspace(lo, hi, metrics.CONTINUOUS_BINS + 1)


def rake_weights(real: np.ndarray, cand: np.ndarray, rounds: int = RAKE_ROUNDS) -> np.ndarray:
    """(N,) weights of N candidates, each seen in D decoded draws (`cand`: (D, N, features)),
    so that the weighted histogram of every feature matches the real rows' (`real`: (M,
    features)): iterative proportional fitting (raking) over the features' histograms, one
    feature at a time, a candidate's factor the mean over its draws (the draw `/sample` makes is
    a new one). Factors are kept within 0.2..5 per step."""
    d, n, nf = cand.shape
    w = np.full(n, 1.0 / n)
    bins, want = [], []
    for j in range(nf):
        e = _edges(real[:, j], cand[..., j])
        bins.append(np.clip(np.digitize(cand[..., j], e) - 1, 0, len(e) - 2))
        want.append(np.histogram(real[:, j], e)[0] / len(real))
    for _ in range(rounds):
        for j in range(nf):
            mass = np.bincount(bins[j].ravel(), weights=np.tile(w, d), minlength=len(want[j]))
            mass /= mass.sum()
            factor = np.clip(np.where(mass > 0, want[j] / np.maximum(mass, 1e-12), 1.0), 0.2, 5)
            w = w * factor[bins[j]].mean(0)
            w /= w.sum()
    return w


def calibrated_prior(
    model: torch.nn.Module,
    train_in: np.ndarray,
    train_x: np.ndarray,
    candidates: int = CANDIDATES,
    bank: int = BANK,
    jitter: float = JITTER,
    seed: int = 0,
    scale: float = CANDIDATE_SCALE,
) -> dict[str, Any]:
    """The calibrated mixture (module docstring) from the training windows: `train_in` the
    model's task inputs (encoded), `train_x` the patterns whose features the samples match."""
    model.eval()
    z = lowrank_candidates(latent_means(model, train_in), candidates, scale=scale, seed=seed)
    cand_f = np.stack(
        [feature_matrix(decode_samples(model, z, seed + 1 + d)) for d in range(DRAWS)]
    )
    weight = rake_weights(feature_matrix(train_x), cand_f)
    drawn = np.random.default_rng(seed + 2).choice(len(z), size=bank, p=weight / weight.sum())
    keep, count = np.unique(drawn, return_counts=True)
    mu = torch.tensor(z[keep], dtype=torch.float16)
    return {
        "components": {
            "weight": torch.tensor(count, dtype=torch.float32),
            "mu": mu,
            "std": torch.full(mu.shape, jitter, dtype=torch.float16),
        },
        "method": "calibrated",
        "clusters": len(keep),
        "scale": float(scale),
        "jitter": float(jitter),
        "effective_candidates": float(1.0 / (weight**2).sum()),
    }
