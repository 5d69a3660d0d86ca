"""Issue 15, second round: `/sample` from the calibrated prior (`pdbridge.train.prior.
calibrated_prior`: low-rank candidates resampled so the decoded features match the training
windows'), against the k-means mixture before it, on the validation split.

    python scripts/experiments/vae_prior_bank.py models/conv_vae.pt --data ../shared/data/groove \
        [--scales 1.3 1.4 1.5] [--sets 6]

For each candidate spread: the prior is fitted on the train split (as `scripts/reprior.py` fits
it) and `--sets` sample sets of 1,000 are drawn as `pdbridge eval` draws them (seeds 0, 1, ...);
each set's feature overlap with the validation windows, its worst feature, its novelty ratio and
hits per window are printed. The checkpoint is not written.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from pdbridge.core import metrics
from pdbridge.evaluate.evaluation import sample_batch
from pdbridge.inference import checkpoint
from pdbridge.models.tasks import task_input
from pdbridge.train import prior as prior_fit
from pdbridge.train.dataset import DatasetConfig, load_windows


def report(ckpt, name: str, sets: int, train_x: np.ndarray, val_x: np.ndarray) -> None:
    for seed in range(sets):
        s = sample_batch(ckpt, 1000, seed)
        ov, per = metrics.feature_overlap(s, val_x)
        worst, low = metrics.min_feature_overlap(per)
        nov = metrics.novelty_ratio(s, train_x, val_x)
        print(
            f"{name} set {seed}: overlap {ov:.3f} worst {worst} {low:.3f} "
            f"novelty {nov:.2f} hits {metrics.mean_hits(s):.1f}",
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("--data", required=True)
    p.add_argument("--scales", type=float, nargs="+", default=[prior_fit.CANDIDATE_SCALE])
    p.add_argument("--sets", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--clusters", action="store_true", help="also the k-means mixture (scale 1)")
    a = p.parse_args()
    torch.set_num_threads(1)
    w = load_windows(a.data, DatasetConfig(), show_progress=False)
    tr, va = w.where(split="train"), w.where(split="validation")
    ckpt = checkpoint.load(a.checkpoint)
    ckpt.model.eval()
    train_in = task_input(ckpt.task, tr.x)
    if a.clusters:
        ckpt.extras["prior"] = prior_fit.fit_prior(ckpt.model, train_in)
        report(ckpt, "clusters 512 scale 1.0", a.sets, tr.x, va.x)
    for scale in a.scales:
        ckpt.extras["prior"] = prior_fit.calibrated_prior(
            ckpt.model, train_in, tr.x, seed=a.seed, scale=scale
        )
        report(ckpt, f"calibrated scale {scale} seed {a.seed}", a.sets, tr.x, va.x)


if __name__ == "__main__":
    main()
