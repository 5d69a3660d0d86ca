"""`pdbridge eval MODEL --data DIR --split NAME [--json]`: how good is a model, in numbers.

On the split's 2-bar 4/4 windows:

- reconstruction (VAE-kind models): encode the mean, decode, hit threshold 0.5; hit F1, velocity
  MAE (MIDI units) and timing MAE (ms at each window's tempo) over true-positive hits. A drumify
  model reads its task's input and is scored against the real performance; humanize, which keeps
  its input's hits, has only its task scores (`pdbridge.evaluate.task_metrics`).
- direct models (a course Groove Transformer: groove in, beat out): their task scores only.
- next_step: predict every step of each window's second bar from the 16 steps before it (hit
  threshold 0.5); baseline: copy the step one bar earlier.
- sampling (models with a latent: generative VAEs, the course's density VAE): `SAMPLE_SETS`
  sets of `SAMPLES` samples at temperature 1, drawn as `/sample` draws them (the checkpoint's
  training prior if it has one), against the split's windows: feature overlap (each set's), the
  feature that overlaps least, mean hits per window, the novelty ratio against the training
  windows and the ceiling (`sampling`).
- feel (pattern task models, issue 15): the task's scores at temperature 0 and 1 through the
  engine, with spread ratios against the real drumming (`pdbridge.evaluate.feel`).
- latency: engine calls at batch 1 on one CPU thread, frozen as served, median in microseconds;
  for a task model the whole request (e.g. `drumify_p50`) and its decode alone (`decode_p50`:
  the latent mean -> a pattern, or a direct model's input -> a pattern).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from pdbridge.core import metrics
from pdbridge.core.errors import BadInputError
from pdbridge.core.pattern import clean_array, default_thresholds
from pdbridge.core.progress import progress
from pdbridge.evaluate.feel import feel_scores
from pdbridge.evaluate.task_metrics import task_scores
from pdbridge.inference.checkpoint import Checkpoint
from pdbridge.inference.engine import Controls, Engine, configure_torch
from pdbridge.inference.hits import draw_hits
from pdbridge.inference.prior import prior_latents
from pdbridge.models.tasks import TASKS

SAMPLES = 1000
SAMPLE_SEED = 0
SAMPLE_SETS = 3  # overlap moves about 0.01 between sets of 1,000: report several
LATENCY_CALLS = 300
BATCH = 512


def evaluate(
    ckpt: Checkpoint,
    x: np.ndarray,
    bpm: np.ndarray,
    latency: bool = True,
    train_x: np.ndarray | None = None,
) -> dict:
    """All metrics for one loaded model on windows `x` (N, 32, 27) with tempos `bpm` (N,)."""
    if len(x) == 0:
        raise BadInputError("no windows to evaluate")
    result: dict[str, Any] = {
        "model": ckpt.name,
        "architecture": ckpt.model_name,
        "task": ckpt.task,
        "windows": int(len(x)),
        "data_mean_hits": metrics.mean_hits(x),
    }
    ckpt.model.eval()
    record = TASKS[ckpt.task]
    if ckpt.kind in ("vae", "direct"):
        if ckpt.kind == "vae" and not record.all_hits:  # humanize keeps its input's hits
            result["reconstruction"] = reconstruction(ckpt, x, bpm)
        if record.baseline is not None:  # without train windows: no baseline, a note says so
            result[ckpt.task] = task_scores(ckpt, x, bpm, train_x)
        if record.request is not None or record.serves is not None:  # a pattern task
            result["feel"] = feel_scores(ckpt, x, bpm)
        if record.latent:
            result["sampling"] = sampling(ckpt, x, train_x)
    else:
        result["next_step"] = next_step_scores(ckpt, x)
    if latency:
        result["latency_us"] = measure_latency(ckpt, x[0])
    result["size_mb"] = ckpt.path.stat().st_size / 1e6 if ckpt.path else None
    return result


@torch.inference_mode()
def reconstruction(ckpt: Checkpoint, x: np.ndarray, bpm: np.ndarray) -> dict[str, float]:
    x_in = TASKS[ckpt.task].model_input(x)
    preds = []
    for i in progress(range(0, len(x), BATCH), "eval: reconstruction", unit="batch"):
        mu, _ = ckpt.model.encode(torch.from_numpy(np.ascontiguousarray(x_in[i : i + BATCH])))
        logits, vel, off = (o.numpy() for o in ckpt.model.decode(mu))
        preds.append(clean_array(np.concatenate([(logits > 0), vel, off], axis=-1)))
    return reconstruction_scores(np.concatenate(preds), x, bpm)


def reconstruction_scores(pred: np.ndarray, x: np.ndarray, bpm: np.ndarray) -> dict[str, float]:
    """How closely reconstructions `pred` follow the windows `x`: hits, errors and the feel."""
    return {
        "hit_f1": metrics.hit_f1(pred, x),
        "velocity_mae": metrics.velocity_mae(pred, x),
        "timing_mae_ms": metrics.timing_mae_ms(pred, x, bpm),
        # the feel: do the reconstructed offsets and velocities follow the input's, as widely?
        "offset_corr": metrics.hit_correlation(pred, x, "offsets"),
        "velocity_corr": metrics.hit_correlation(pred, x, "velocities"),
        "offset_spread_ratio": metrics.spread_ratio(pred, x, "offsets")[0],
        "velocity_spread_ratio": metrics.spread_ratio(pred, x, "velocities")[0],
    }


def sampling(ckpt: Checkpoint, x: np.ndarray, train_x: np.ndarray | None) -> dict[str, Any]:
    """`SAMPLE_SETS` sets of `SAMPLES` samples at temperature 1 (seeds `SAMPLE_SEED` + i)
    against the windows `x`: feature overlap (of the first set, and each set's), the feature that
    overlaps least, hits per window; with training windows, the novelty ratio (samples' nearest
    training beat vs held-out beats', `metrics.novelty_ratio`) and `ceiling_overlap`, the overlap
    of `SAMPLES` random training windows with `x`: what real beats score."""
    sets = [sample_batch(ckpt, SAMPLES, SAMPLE_SEED + i) for i in range(SAMPLE_SETS)]
    scored = [metrics.feature_overlap(s, x) for s in sets]
    overlap, per_feature = scored[0]
    worst, worst_overlap = metrics.min_feature_overlap(per_feature)
    out: dict[str, Any] = {
        "overlap": overlap,
        "overlap_sets": [o for o, _ in scored],
        "min_feature_overlap": worst_overlap,
        "min_feature": worst,
        "samples": SAMPLES,
        "sample_mean_hits": metrics.mean_hits(sets[0]),
        "data_mean_hits": metrics.mean_hits(x),
        "per_feature": per_feature,
        "prior": "training mixture" if ckpt.extras.get("prior") else "N(0, I)",
    }
    if train_x is not None and len(train_x):
        out["novelty_ratio"] = metrics.novelty_ratio(sets[0], train_x, x)
        out["novelty_ratio_sets"] = [metrics.novelty_ratio(s, train_x, x) for s in sets]
        out["ceiling_overlap"] = metrics.feature_overlap(
            metrics.random_windows(train_x, SAMPLES, SAMPLE_SEED), x
        )[0]
    return out


@torch.inference_mode()
def sample_batch(ckpt: Checkpoint, n: int, seed: int, temperature: float = 1.0) -> np.ndarray:
    """`n` samples as `/sample` draws them: latents from the checkpoint's prior (its training
    mixture, `pdbridge.inference.prior`, else N(0, I)), hits drawn as the engine draws them
    (threshold 0.5)."""
    rng = np.random.default_rng(seed)
    z = torch.from_numpy(prior_latents(ckpt.extras, ckpt.z_dim, n, rng))
    logits, vel, off = (o.numpy() for o in ckpt.model.decode(z))
    hits = draw_hits(logits, default_thresholds(), temperature, rng)
    return clean_array(np.concatenate([hits, vel, off], axis=-1))


@torch.inference_mode()
def next_step_scores(ckpt: Checkpoint, x: np.ndarray) -> dict[str, float]:
    context = ckpt.steps
    steps = x.shape[1]
    if steps <= context:
        raise BadInputError(f"windows of {steps} steps leave nothing to predict after {context}")
    preds, targets = [], []
    for t in progress(range(context, steps), "eval: next step", unit="step"):
        window = torch.from_numpy(np.ascontiguousarray(x[:, t - context : t]))
        logits, vel, off = (o.numpy() for o in ckpt.model(window))
        preds.append(clean_array(np.concatenate([(logits > 0), vel, off], axis=-1)))
        targets.append(x[:, t])
    pred, target = np.stack(preds, 1), np.stack(targets, 1)
    baseline = x[:, context - 16 : steps - 16] if context >= 16 else None
    tp, fp, fn = metrics.hit_counts(pred, target)
    out = {
        "hit_f1": metrics.f1_from_counts(tp, fp, fn),
        "velocity_mae": metrics.velocity_mae(pred, target),
        "predicted_steps": int(pred.shape[0] * pred.shape[1]),
    }
    if baseline is not None:
        out["baseline_hit_f1"] = metrics.hit_f1(baseline, target)
    return out


def measure_latency(ckpt: Checkpoint, pattern: np.ndarray) -> dict[str, float]:
    """Median microseconds per engine call, batch 1, on one thread, torch set up as the server
    runs it (`configure_torch`)."""
    threads, mkldnn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    configure_torch(1)
    try:
        engine = Engine([ckpt])
        controls = Controls(temperature=0.0, seed=0)
        if ckpt.kind == "vae" and ckpt.task == "vae":
            z = engine.encode(pattern)
            calls = {
                "encode_p50": lambda: engine.encode(pattern),
                "decode_p50": lambda: engine.decode(z, controls),
                "sample_p50": lambda: engine.sample(controls),
            }
        elif ckpt.kind in ("vae", "direct"):
            x_in = TASKS[ckpt.task].model_input(pattern)
            if ckpt.kind == "vae":  # the latent mean the task's request decodes
                with torch.inference_mode():
                    encode = engine._vae_fns[ckpt.name].encode
                    mu = encode(torch.from_numpy(np.ascontiguousarray(x_in[None])))[0][0].numpy()
            calls = {
                f"{ckpt.task}_p50": lambda: engine.transform(ckpt.task, pattern, controls),
                "decode_p50": (  # the model's output -> a pattern, without the encoder
                    (lambda: engine._run_direct(ckpt, x_in, controls))
                    if ckpt.kind == "direct"
                    else (lambda: engine._decode(ckpt, mu, controls))
                ),
            }
        else:
            calls = {"continue_1bar_p50": lambda: engine.continue_(pattern, 1, controls)}
        return {name: _p50_us(fn) for name, fn in calls.items()}
    finally:
        torch.set_num_threads(threads)
        torch.backends.mkldnn.enabled = mkldnn


def _p50_us(fn) -> float:
    for _ in range(20):  # warm up
        fn()
    times = []
    for _ in range(LATENCY_CALLS):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return float(np.median(times) / 1000.0)
