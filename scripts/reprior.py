"""Fit a VAE checkpoint's sampling prior (`pdbridge.train.prior`) on a dataset's train split and
write it into the checkpoint in place (`extras["prior"]`; `/sample` draws from it). Run from the
repository root:

    python scripts/reprior.py models/conv_vae.pt --data ../shared/data/groove

`--method calibrated` (the default): candidates from per-cluster low-rank Gaussians, resampled by
how real their decoded features look (`calibrated_prior`); `--method clusters`: the k-means
mixture with `--clusters` and `--scale` (`prior_mixture`, the prior before it).
"""

from __future__ import annotations

import argparse
import sys

import torch

from pdbridge.inference import checkpoint
from pdbridge.models.tasks import task_input
from pdbridge.train.dataset import DatasetConfig, load_windows
from pdbridge.train.prior import BANK, CANDIDATES, CLUSTERS, SCALE, calibrated_prior, fit_prior


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python scripts/reprior.py",
        description="fit a VAE checkpoint's sampling prior on a dataset's train split",
    )
    p.add_argument("checkpoint", help="checkpoint file, rewritten in place")
    p.add_argument("--data", required=True, help="dataset folder (GMD layout)")
    p.add_argument("--method", choices=("calibrated", "clusters"), default="calibrated")
    p.add_argument("--clusters", type=int, default=CLUSTERS, help="clusters: k-means components")
    p.add_argument("--scale", type=float, default=SCALE, help="clusters: each spread times this")
    p.add_argument("--candidates", type=int, default=CANDIDATES, help="calibrated: latents tried")
    p.add_argument("--bank", type=int, default=BANK, help="calibrated: draws kept")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    ckpt = checkpoint.load(args.checkpoint)
    train = load_windows(args.data, DatasetConfig(), show_progress=False).where(split="train")
    train_in = task_input(ckpt.task, train.x)
    if args.method == "calibrated":
        prior = calibrated_prior(
            ckpt.model, train_in, train.x, args.candidates, args.bank, seed=args.seed
        )
    else:
        prior = fit_prior(ckpt.model, train_in, args.clusters, args.scale, args.seed)
    checkpoint.save(
        ckpt.path,
        ckpt.model,
        ckpt.model_name,
        task=ckpt.task,
        metrics=ckpt.metrics,
        run=ckpt.run,
        extras=ckpt.extras | {"prior": prior},
    )
    print(f"{ckpt.path}: {args.method} prior of {prior['clusters']} components")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
