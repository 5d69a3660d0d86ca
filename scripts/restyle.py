"""(Re)compute a VAE checkpoint's style statistics from a dataset's train split, rewriting the
checkpoint in place (`pdbridge train` computes them for every new checkpoint; this is for older
ones). Run from the repository root:

    python scripts/restyle.py models/conv_vae.pt --data ../shared/data/groove
"""

from __future__ import annotations

import argparse
import sys

import torch

from pdbridge.inference import checkpoint
from pdbridge.models.tasks import task_input
from pdbridge.train.dataset import DatasetConfig, load_windows
from pdbridge.train.styles import COMPONENTS, style_statistics


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python scripts/restyle.py",
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
    checkpoint.save_with_extras(ckpt, styles=stats)
    print(f"{ckpt.path}: statistics for {len(stats)} styles: {', '.join(stats)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
