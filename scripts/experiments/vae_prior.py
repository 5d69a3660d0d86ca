"""Issue 15: the default VAE's reconstruction feel, and sampling from a mixture over training
posteriors (`extras["prior"]`) with the spread chosen on validation.

    python scripts/experiments/vae_prior.py CHECKPOINT --data DIR [--scales 0.2 0.4] [--write]

For each spread s: a component is a training window's latent mean, sampled as
mu_k + s * sd * eps, with sd the per-dimension spread of the training latent means. Reports
feature overlap (mean and worst feature), novelty ratio and hits per window over several sample
sets; `--write` stores the prior with the first scale in the checkpoint.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from pdbridge.core import metrics
from pdbridge.core.pattern import NUM_VOICES, clean_array
from pdbridge.evaluate.evaluation import reconstruction_scores
from pdbridge.inference import checkpoint
from pdbridge.inference.hits import draw_hits
from pdbridge.train.dataset import DatasetConfig, load_windows
from pdbridge.train.styles import kmeans, latent_means

COMPONENTS = 4096


def recon(ckpt, x, bpm):
    with torch.no_grad():
        mu = torch.from_numpy(latent_means(ckpt.model, x))
        logits, vel, off = (o.numpy() for o in ckpt.model.decode(mu))
    pred = clean_array(np.concatenate([(logits > 0), vel, off], -1))
    return reconstruction_scores(pred, x, bpm)


def clustered(train_mu: np.ndarray, k: int, scale: float, seed: int = 0) -> dict:
    """k-means of the training latents; each cluster's mean and per-dimension spread x scale."""
    assign = kmeans(train_mu, k, seed)
    ks = [j for j in range(k) if (assign == j).sum() >= 2]
    mu = np.stack([train_mu[assign == j].mean(0) for j in ks])
    sd = np.stack([train_mu[assign == j].std(0) for j in ks])
    weight = np.array([(assign == j).sum() for j in ks], np.float32)
    return {
        "weight": torch.from_numpy(weight),
        "mu": torch.from_numpy(mu.astype(np.float32)).half(),
        "std": torch.from_numpy((scale * sd).astype(np.float32)).half(),
    }


def prior(
    train_mu: np.ndarray, scale: float, seed: int = 0, full: bool = False, clusters: int = 0
) -> dict:
    if clusters:
        return clustered(train_mu, clusters, scale, seed)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(train_mu), size=min(COMPONENTS, len(train_mu)), replace=False)
    sd = train_mu.std(0)
    if full:  # noise along the principal axes of the training latents, each with its spread
        vals, vecs = np.linalg.eigh(np.cov(train_mu.T))
        factor = vecs * np.sqrt(np.clip(vals, 0, None))[None]
        return {
            "weight": torch.ones(len(pick)),
            "mu": torch.from_numpy(train_mu[pick].astype(np.float32)).half(),
            "factor": torch.from_numpy((scale * factor).astype(np.float32)),
        }
    return {
        "weight": torch.ones(len(pick)),
        "mu": torch.from_numpy(train_mu[pick].astype(np.float32)).half(),
        "std": torch.from_numpy(np.tile(scale * sd, (len(pick), 1)).astype(np.float32)).half(),
    }


def neighbours(mu: np.ndarray, m: int) -> np.ndarray:
    """(K, m) indices of each component's m nearest other components (Euclidean)."""
    sq = (mu**2).sum(1)
    d = sq[:, None] - 2 * mu @ mu.T + sq[None]
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, 1)[:, :m]


def sample(ckpt, comps, n, seed, temperature=1.0, mix=0.0, m=8, bias=None):
    """Pick a component k; with `mix` > 0, move towards one of its m nearest components by a
    uniform fraction of up to `mix`; add the component's noise."""
    rng = np.random.default_rng(seed)
    mu = comps["mu"].float().numpy()
    std = comps["std"].float().numpy() if "std" in comps else None
    w = comps["weight"].numpy().astype(np.float64)
    k = rng.choice(len(mu), size=n, p=w / w.sum())
    eps = rng.standard_normal((n, mu.shape[1])).astype(np.float32)
    if "factor" in comps:
        z = mu[k] + eps @ comps["factor"].numpy().T
    else:
        z = mu[k] + std[k] * eps
    if mix > 0:
        nb = comps.get("neighbours")
        if nb is None:
            nb = comps["neighbours"] = neighbours(mu, m)
        j = nb[k, rng.integers(nb.shape[1], size=n)]
        z = z + rng.uniform(0, mix, (n, 1)).astype(np.float32) * (mu[j] - mu[k])
    with torch.no_grad():
        logits, vel, off = (o.numpy() for o in ckpt.model.decode(torch.from_numpy(z)))
    if bias is not None:
        logits = logits + bias
    hits = draw_hits(logits, np.full(NUM_VOICES, 0.5), temperature, rng)
    return clean_array(np.concatenate([hits, vel, off], -1))


def calibrate(ckpt, comps, train_x, mix=0.0, m=8, rounds=3):
    """Per-voice logit shifts so that samples hit each voice as often as the training data."""
    want = (train_x[..., :NUM_VOICES] >= 0.5).mean((0, 1))
    bias = np.zeros(NUM_VOICES, np.float32)
    for r in range(rounds):
        smp = sample(ckpt, comps, 2000, 100 + r, mix=mix, m=m, bias=bias)
        got = (smp[..., :NUM_VOICES] >= 0.5).mean((0, 1))
        bias += np.log(np.maximum(want, 1e-4) / np.maximum(got, 1e-4)).astype(np.float32)
    return bias


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("--data", required=True)
    p.add_argument("--scales", type=float, nargs="+", default=[0.0, 0.2, 0.4, 0.6])
    p.add_argument("--sets", type=int, default=3)
    p.add_argument("--mix", type=float, nargs="+", default=[0.0])
    p.add_argument("--neighbours", type=int, default=8)
    p.add_argument("--calibrate", action="store_true", help="per-voice hit-rate calibration")
    p.add_argument("--clusters", type=int, default=0, help="k-means components (0: windows)")
    p.add_argument("--full", action="store_true", help="noise along the latents' principal axes")
    p.add_argument("--write", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    w = load_windows(a.data, DatasetConfig())
    tr, va = w.where(split="train"), w.where(split="validation")
    ckpt = checkpoint.load(a.checkpoint)
    ckpt.model.eval()
    out = {"reconstruction": recon(ckpt, va.x, va.bpm)}
    print(json.dumps(out["reconstruction"]))
    train_mu = latent_means(ckpt.model, tr.x)
    ceiling = metrics.feature_overlap(metrics.random_windows(tr.x, 1000, 0), va.x)
    print("ceiling_overlap", round(ceiling[0], 4), "min", metrics.min_feature_overlap(ceiling[1]))
    for s, mix in [(s, mix) for s in a.scales for mix in a.mix]:
        comps = prior(train_mu, s, full=a.full, clusters=a.clusters)
        rows = []
        bias = calibrate(ckpt, comps, tr.x, mix, a.neighbours) if a.calibrate else None
        if bias is not None:
            print("bias", np.round(bias, 2).tolist())
        for seed in range(a.sets):
            smp = sample(ckpt, comps, 1000, seed, mix=mix, m=a.neighbours, bias=bias)
            ov, per = metrics.feature_overlap(smp, va.x)
            rows.append(
                (ov, *metrics.min_feature_overlap(per), metrics.novelty_ratio(smp, tr.x, va.x),
                 metrics.mean_hits(smp))
            )
        print(f"scale {s} mix {mix}: " + "; ".join(
            f"overlap {r[0]:.3f} min {r[1]} {r[2]:.3f} novelty {r[3]:.2f} hits {r[4]:.1f}"
            for r in rows))
    if a.write:
        data = checkpoint.read(a.checkpoint)
        extras = dict(data.get("extras") or {})
        extras["prior"] = {
            "components": prior(train_mu, a.scales[0], full=a.full, clusters=a.clusters), "scale": a.scales[0]
        }
        checkpoint.save(
            a.checkpoint, ckpt.model, data["model"], metrics=data.get("metrics", {}),
            extras=extras, task=data["task"], run=data.get("run", {}),
        )
        print("wrote prior to", a.checkpoint)


if __name__ == "__main__":
    main()
