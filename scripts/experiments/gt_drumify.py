"""Issue 15: the course's Groove Transformer checkpoints (MGT, drumify) on our validation
windows, scored as `pdbridge eval` scores a drumify model at temperature 0 (hits at 0.5).

    python scripts/experiments/gt_drumify.py --data DIR [--gt-dir ../shared/groove-transformer]

The checkpoint files are read in place (never copied: they are not ours to redistribute).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from pdbridge.core import metrics
from pdbridge.core.pattern import clean_array
from pdbridge.models.groove_transformer import groove_input
from pdbridge.models.gt_file import read_gt_checkpoint
from pdbridge.train.dataset import DatasetConfig, load_windows


def scores(pred: np.ndarray, x: np.ndarray, bpm: np.ndarray) -> dict[str, float]:
    return {
        "hit_f1": metrics.hit_f1(pred, x),
        "timing_mae_ms": metrics.timing_mae_ms(pred, x, bpm),
        "velocity_mae": metrics.velocity_mae(pred, x),
        "hits_per_window": metrics.mean_hits(pred),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--gt-dir", default="../shared/groove-transformer")
    a = p.parse_args()
    torch.set_num_threads(1)
    va = load_windows(a.data, DatasetConfig()).where(split="validation")
    out = {"data_hits_per_window": metrics.mean_hits(va.x)}
    for path in sorted(Path(a.gt_dir).glob("*.pth")):
        kind, _, model = read_gt_checkpoint(path)
        if kind != "mgt":
            continue
        with torch.no_grad():
            logits, vel, off = (o.numpy() for o in model(torch.from_numpy(groove_input(va.x))))
        pred = clean_array(np.concatenate([logits > 0, vel, off], -1))
        out[path.stem] = scores(pred, va.x, va.bpm)
        print(path.stem, json.dumps(out[path.stem]))


if __name__ == "__main__":
    main()
