"""Issue 14's comparison, in one command: the four course Groove Transformer checkpoints against
our drumify model, on one split, through the engine exactly as served.

    .venv/bin/python scripts/compare_gt.py --data ../shared/data/groove --split validation \
        [--gt-dir ../shared/groove-transformer] [--ours drumify] [--markdown out.md] [--json out.json]

Each course file (`*.pth` in --gt-dir) is imported into a temporary folder with `pdbridge import`'s
own function (`pdbridge.inference.gt_import.import_file`: nothing is written into the repository;
the files have no license) and loaded back as any checkpoint; then `pdbridge eval`'s function
scores all five (`pdbridge.evaluate.evaluation.evaluate`): drumify at temperature 0 (hits at
threshold 0.5) against the real performances, and the drumify baseline (the training window with
the nearest tapped rhythm). Latency: the engine's frozen models at batch 1 on one thread, median
(`decode_p50`: the beat from the model's output without the encoder; `drumify_p50`: the whole
/drumify request), timed in interleaved rounds so the figures compare while the load drifts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from pdbridge.core import metrics
from pdbridge.evaluate import evaluation
from pdbridge.evaluate.task_metrics import DETERMINISTIC
from pdbridge.inference import checkpoint
from pdbridge.inference.engine import Engine, configure_torch
from pdbridge.inference.gt_import import import_file
from pdbridge.models.tasks import TASKS
from pdbridge.train.dataset import DatasetConfig, load_windows

ROUNDS = 5


def latency(ckpts: list[checkpoint.Checkpoint], pattern: np.ndarray) -> dict[str, dict]:
    """{name: {request_p50, decode_p50}}: medians over interleaved rounds of `measure_latency`."""
    rounds: dict[str, list[dict]] = {c.name: [] for c in ckpts}
    for _ in range(ROUNDS):
        for c in ckpts:
            rounds[c.name].append(evaluation.measure_latency(c, pattern))
    out = {}
    for name, rs in rounds.items():
        request = [v for r in rs for k, v in r.items() if k != "decode_p50"]
        out[name] = {
            "request_p50": float(np.median(request)),
            "decode_p50": float(np.median([r["decode_p50"] for r in rs])),
        }
    return out


def mean_hits(ckpt: checkpoint.Checkpoint, x: np.ndarray) -> float:
    engine = Engine([ckpt])
    return metrics.mean_hits(np.stack([engine.transform(ckpt.task, w, DETERMINISTIC) for w in x]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="the Groove MIDI Dataset folder")
    p.add_argument("--split", default="validation")
    p.add_argument("--gt-dir", type=Path, default=Path("../shared/groove-transformer"))
    p.add_argument("--ours", default="drumify", help="our drumify model (name or .pt)")
    p.add_argument("--markdown", type=Path, help="also write the table here")
    p.add_argument("--json", type=Path, help="also write every figure here")
    a = p.parse_args()
    configure_torch(1)

    windows = load_windows(a.data, DatasetConfig())
    split, train_x = windows.where(split=a.split), windows.where(split="train").x
    course = sorted(a.gt_dir.glob("*.pth"))
    if not course:
        print(f"no .pth files in {a.gt_dir}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="pdbridge-gt-") as tmp:
        ckpts = [import_file(f, Path(tmp) / f"{f.stem}.pt") for f in course]
        ckpts.append(checkpoint.load(a.ours))
        results = {}
        for c in ckpts:
            r = evaluation.evaluate(c, split.x, split.bpm, latency=False, train_x=train_x)
            r["scores"] = r[c.task]
            r["mean_hits"] = mean_hits(c, split.x)
            r["source"] = c.extras.get("card", {}).get("source", {}).get("file")
            results[c.name] = r
            print(f"{c.name}: {r['scores']}", file=sys.stderr)
        for name, lat in latency(ckpts, split.x[0]).items():
            results[name]["latency_us"] = lat
    table = markdown(results, len(split.x), a.split, float(metrics.mean_hits(split.x)))
    print(table)
    if a.markdown:
        a.markdown.write_text(table + "\n")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, default=float) + "\n")
    return 0


def markdown(results: dict, n: int, split: str, data_hits: float) -> str:
    lines = [
        f"Drumify on the {n} {split} windows (temperature 0, hits at 0.5; velocity MAE in MIDI "
        "units, timing MAE in ms over true-positive hits; latency frozen, batch 1, one thread, "
        "median):",
        "",
        "| model | kind (task) | hit F1 | velocity MAE | timing MAE (ms) | hits / window | "
        "decode p50 (us) | /drumify p50 (us) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        s, lat = r["scores"], r["latency_us"]
        kind = f"{TASKS[r['task']].kind} ({r['task']})"
        lines.append(
            f"| {name} | {kind} | {s['hit_f1']:.3f} | {s['velocity_mae']:.1f} | "
            f"{s['timing_mae_ms']:.1f} | {r['mean_hits']:.1f} | {lat['decode_p50']:.0f} | "
            f"{lat['request_p50']:.0f} |"
        )
    s = next(iter(results.values()))["scores"]
    lines.append(
        f"| baseline: nearest tapped rhythm | - | {s['baseline_hit_f1']:.3f} | "
        f"{s['baseline_velocity_mae']:.1f} | {s['baseline_timing_mae_ms']:.1f} | "
        f"(data: {data_hits:.1f}) | - | - |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
