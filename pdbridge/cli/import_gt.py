"""`pdbridge import FILE.pth --out DIR/NAME.pt`: a course Groove Transformer checkpoint as ours.

Reads the file without running code from it, recognises the architecture (the Monotonic Groove
Transformer or the density VAE), rebuilds it in our code with every weight loaded strictly, and
writes a pdbridge checkpoint with its card (`pdbridge.inference.gt_import`). Refused, with a
one-line reason and its own exit code: a full pickle (8), a truncated or corrupt file (6), a file
of another layout (4), no such file (5).

The course repository has no license: keep the imported file for your own use (outside this
repository; e.g. ~/pdbridge-models, served with `pdbridge serve --models-dir ~/pdbridge-models`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("file", type=Path, help="a course checkpoint (.pth)")
    parser.add_argument(
        "--out", type=Path, required=True, help="the pdbridge checkpoint to write (.pt)"
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from pdbridge.inference.gt_import import import_file

    torch.set_num_threads(1)
    ckpt = import_file(args.file, args.out)
    card = ckpt.extras["card"]
    latent = f"latent {ckpt.z_dim}" if ckpt.z_dim else "no latent"
    print(
        f"{args.out}: {ckpt.name} ({ckpt.model_name}, kind {ckpt.kind}, task {ckpt.task}, "
        f"{latent}) from {card['source']['file']} sha256 {card['source']['sha256'][:12]}"
    )
    print(f"  {card['architecture']}")
    return 0
