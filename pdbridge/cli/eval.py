"""`pdbridge eval MODEL --data DIR --split NAME [--json]` (`pdbridge.evaluate.evaluation`)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import torch

from pdbridge.cli.options import input_dir
from pdbridge.core.errors import BadInputError
from pdbridge.evaluate.evaluation import evaluate
from pdbridge.evaluate.task_metrics import scored_tasks
from pdbridge.inference import checkpoint


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument(
        "model", help="a shipped model name (see `pdbridge models`), default, or a .pt"
    )
    parser.add_argument("--data", type=input_dir, required=True, help="dataset folder")
    parser.add_argument(
        "--split", default="validation", help="split to evaluate (default validation)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency measurement")


def _clean(value: Any) -> Any:
    """NaN (no true positives) -> null, so the output is valid JSON."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run(args: argparse.Namespace) -> int:
    from pdbridge.train.dataset import DatasetConfig, load_windows

    torch.set_num_threads(1)
    ckpt = checkpoint.load(args.model)
    windows = load_windows(args.data, DatasetConfig(), show_progress=not args.json)
    split = windows.where(split=args.split)
    if len(split) == 0:
        have = ", ".join(sorted(windows.counts("split"))) or "none"
        raise BadInputError(f"{args.data}: no 4/4 windows in split {args.split!r}; splits: {have}")
    train_x = windows.where(split="train").x
    result = _clean(evaluate(ckpt, split.x, split.bpm, not args.no_latency, train_x))
    result["split"] = args.split
    if args.json:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(format_table(result))
    return 0


def format_table(result: dict) -> str:
    lines = [f"{result['model']} ({result['architecture']}, task {result['task']}) on "
             f"{result['windows']} {result['split']} windows"]  # fmt: skip

    def row(name: str, value: Any, unit: str = "") -> None:
        text = (
            "n/a" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
        )
        lines.append(f"  {name:<28} {text} {unit}".rstrip())  # a space even after a long name

    if "reconstruction" in result:
        r = result["reconstruction"]
        lines.append("reconstruction (latent mean, threshold 0.5)")
        row("hit F1", r["hit_f1"])
        row("velocity MAE", r["velocity_mae"], "MIDI")
        row("timing MAE", r["timing_mae_ms"], "ms")
        for key in ("offset_corr", "velocity_corr", "offset_spread_ratio", "velocity_spread_ratio"):
            if key in r:
                row(key, r[key])
    if "next_step" in result:
        r = result["next_step"]
        lines.append("next step (threshold 0.5)")
        row("hit F1", r["hit_f1"])
        row("baseline (copy 1 bar back)", r.get("baseline_hit_f1"))
    for task in scored_tasks():
        if task in result:
            note = result[task].get("baseline_note")
            lines.append(f"{task} (through the engine){'' if note else ' vs baseline'}")
            for key, value in result[task].items():
                if not key.startswith("baseline_"):
                    row(key, value)
                    if note is None:
                        row(f"  baseline {key}", result[task].get(f"baseline_{key}"))
            if note is not None:
                lines.append(f"  ({note})")
    if "feel" in result:
        lines.append("feel (through the engine; _t0 temperature 0, _t1 temperature 1)")
        for key, value in result["feel"].items():
            row(key, value)
    if "sampling" in result:
        r = result["sampling"]
        lines.append(f"sampling ({r['samples']} samples, temperature 1, prior {r['prior']})")
        row("feature overlap", r["overlap"])
        if "overlap_sets" in r:
            row("  each sample set", ", ".join(f"{o:.3f}" for o in r["overlap_sets"]))
            row("min feature overlap", r["min_feature_overlap"], r["min_feature"])
        for key in ("ceiling_overlap", "novelty_ratio"):
            if key in r:
                row(key, r[key])
        row("mean hits, samples", r["sample_mean_hits"])
        row("mean hits, data", r["data_mean_hits"])
    if "latency_us" in result:
        lines.append("latency (batch 1, one thread, median)")
        for name, value in result["latency_us"].items():
            row(name.removesuffix("_p50"), value, "us")
    if result.get("size_mb") is not None:
        row("checkpoint size", result["size_mb"], "MB")
    return "\n".join(lines)
