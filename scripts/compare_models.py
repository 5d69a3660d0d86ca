"""The validation comparison of issue 6, in one run: VAEs, task models and style sampling.

    python scripts/compare_models.py --data ../shared/data/groove \
        --vae mlp_vae --vae runs/i6/groovae/best.pt --vae groove_conv \
        --reference groovae --humanize humanize --drumify drumify --styles groove_conv \
        --markdown runs/i6/comparison.md --json runs/i6/comparison.json

Every figure comes from `pdbridge.evaluate.evaluation` (reconstruction, sampling overlap, latency at batch 1
on one thread, median) and `pdbridge.evaluate.task_metrics` / `pdbridge.train.styles`, measured here in one
process; latencies are timed in interleaved rounds (median of the rounds), so they compare even
while the machine's load drifts. Models are shipped names or checkpoint paths; a model is named in
the table by its file's stem (`best.pt` by its run folder).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from pdbridge.evaluate import evaluation as evaluate
from pdbridge.evaluate import style_check as styles
from pdbridge.evaluate import task_metrics
from pdbridge.inference import checkpoint
from pdbridge.inference.engine import configure_torch
from pdbridge.train.dataset import DatasetConfig, load_windows


def label(ckpt: checkpoint.Checkpoint) -> str:
    path = ckpt.path
    return path.parent.name if path and path.stem in ("best", "last") else ckpt.name


def vae_row(ckpt: checkpoint.Checkpoint, x, bpm) -> dict:
    r = evaluate.evaluate(ckpt, x, bpm, latency=False)
    return {
        "model": label(ckpt),
        "architecture": ckpt.model_name,
        "params": sum(p.numel() for p in ckpt.model.parameters()),
        "size_mb": r["size_mb"],
        "hit_f1": r["reconstruction"]["hit_f1"],
        "velocity_mae": r["reconstruction"]["velocity_mae"],
        "timing_mae_ms": r["reconstruction"]["timing_mae_ms"],
        "sampling_overlap": r["sampling"]["overlap"],
        "train_minutes": ckpt.metrics.get("seconds", math.nan) / 60.0,
        "best_epoch": ckpt.metrics.get("epoch"),
        "config": {k: v for k, v in ckpt.run.get("train", {}).items() if k != "model"},
    }


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def vae_table(rows: list[dict], reference: dict | None) -> str:
    head = (
        "| model | arch | params | ckpt MB | decode p50 us | encode p50 us | hit F1 | vel MAE "
        "| timing MAE ms | sampling overlap | train min (best epoch) | decode speed-up | F1 - ref |"
    )
    lines = [head, "|" + " --- |" * 13]
    for r in rows:
        speed = reference["decode_p50_us"] / r["decode_p50_us"] if reference else math.nan
        delta = r["hit_f1"] - reference["hit_f1"] if reference else math.nan
        lines.append(
            f"| {r['model']} | {r['architecture']} | {fmt(r['params'])} | {fmt(r['size_mb'], 2)} "
            f"| {fmt(r['decode_p50_us'], 0)} | {fmt(r['encode_p50_us'], 0)} | {fmt(r['hit_f1'])} "
            f"| {fmt(r['velocity_mae'], 2)} | {fmt(r['timing_mae_ms'], 2)} "
            f"| {fmt(r['sampling_overlap'])} | {fmt(r['train_minutes'], 1)} ({r['best_epoch']}) "
            f"| {fmt(speed, 1)}x | {delta:+.3f} |"
        )
    return "\n".join(lines)


def task_table(results: dict[str, dict]) -> str:
    lines = ["| task | model | metric | model | baseline | change |", "|" + " --- |" * 6]
    for task, r in results.items():
        keys = ["hit_f1"] if "hit_f1" in r else []
        keys += ["velocity_mae", "timing_mae_ms"]
        for k in keys:
            m, b = r[k], r[f"baseline_{k}"]
            change = (m - b) / b * 100.0
            lines.append(f"| {task} | {r['model']} | {k} | {fmt(m)} | {fmt(b)} | {change:+.1f}% |")
    return "\n".join(lines)


def style_table(model: str, split: str, checks: list[styles.StyleCheck]) -> str:
    real = checks and checks[0].real_closer is not None
    lines = [
        f"Style sampling with `{model}` against {split} windows "
        f"({len(checks)} styles with >= 50 {split} windows)"
        + (
            "; the last two columns put real training windows of the style in place of the "
            "samples (a style whose real windows fail cannot pass with any model)"
            if real
            else ""
        ),
        "",
        "| style | train windows | overlap with own | nearest other style | its overlap "
        "| prior samples vs own | closer to own |"
        + (" real: own vs nearest | real closer |" if real else ""),
        "|" + " --- |" * (9 if real else 7),
    ]
    for c in checks:
        line = (
            f"| {c.style} | {c.train_windows} | {c.own:.3f} | {c.nearest_other} "
            f"| {c.nearest_other_overlap:.3f} | {c.prior_own:.3f} | {'yes' if c.closer else 'NO'} |"
        )
        if real:
            line += (
                f" {c.real_own:.3f} vs {c.real_nearest_other_overlap:.3f} "
                f"| {'yes' if c.real_closer else 'NO'} |"
            )
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--split", default="validation")
    p.add_argument("--vae", action="append", default=[], help="a VAE to compare (repeatable)")
    p.add_argument("--reference", help="the row (model label) that speed-up and F1 compare to")
    p.add_argument("--humanize", help="a humanize model")
    p.add_argument("--drumify", help="a drumify model")
    p.add_argument("--infill", help="an infill (new closed hi-hats) model")
    p.add_argument("--styles", help="a VAE whose style sampling to check")
    p.add_argument("--style-samples", type=int, default=400)
    p.add_argument("--latency-rounds", type=int, default=5)
    p.add_argument("--markdown", type=Path)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    configure_torch(1)  # as the server runs the models
    windows = load_windows(args.data, DatasetConfig(), show_progress=False)
    train, val = windows.where(split="train"), windows.where(split=args.split)
    out: dict = {"split": args.split, "windows": len(val), "vae": [], "tasks": {}}
    parts = []

    ckpts = [checkpoint.load(name) for name in args.vae]
    for ckpt in ckpts:
        out["vae"].append(vae_row(ckpt, val.x, val.bpm))
        print(f"measured {out['vae'][-1]['model']}", file=sys.stderr)
    # Latency in interleaved rounds: the machine's load drifts, so every model is timed in every
    # round and the median over rounds is kept (each round: evaluate's 300-call median).
    rounds = {id(c): [] for c in ckpts}
    for _ in range(args.latency_rounds):
        for ckpt in ckpts:
            rounds[id(ckpt)].append(evaluate.measure_latency(ckpt, val.x[0]))
    for ckpt, row in zip(ckpts, out["vae"], strict=True):
        for key in ("decode", "encode"):
            row[f"{key}_p50_us"] = float(np.median([r[f"{key}_p50"] for r in rounds[id(ckpt)]]))
    if out["vae"]:
        ref = next((r for r in out["vae"] if r["model"] == args.reference), None)
        parts.append(vae_table(out["vae"], ref))

    for task in task_metrics.scored_tasks():
        name = getattr(args, task)
        if name:
            ckpt = checkpoint.load(name)
            scores = task_metrics.task_scores(ckpt, val.x, val.bpm, train.x)
            out["tasks"][task] = {"model": label(ckpt), **scores}
    if out["tasks"]:
        parts.append(task_table(out["tasks"]))

    if args.styles:
        # against the training windows the style statistics describe, and against held-out ones
        ckpt = checkpoint.load(args.styles)
        out["styles"] = {"model": label(ckpt)}
        for name, w in (("train", train), (args.split, val)):
            real = (train.x, train.style) if w is val else None
            checks = styles.check_styles(ckpt, w.x, w.style, n=args.style_samples, real=real)
            out["styles"][name] = [
                c.__dict__ | {"closer": c.closer, "real_closer": c.real_closer} for c in checks
            ]
            parts.append(style_table(label(ckpt), name, checks))

    text = f"On {len(val)} {args.split} windows.\n\n" + "\n\n".join(parts)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
