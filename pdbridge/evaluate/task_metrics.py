"""How good are the humanize and drumify models, against the simplest thing that could work.

Both are scored on real performances (`x`, the targets) through the engine, exactly as served:
the model reads its task's input (`task_input`) and its answer is compared with `x`.

- humanize: the quantized, fixed-velocity beat in, the same hits out with velocities and timing.
  Velocity MAE (MIDI units) and timing MAE (ms) over the hits. Baseline: for every (step, voice),
  the mean velocity and mean offset of that step and voice's hits in the training windows.
- drumify: the tapped rhythm (all voices collapsed into one) in, a full kit out (hits at
  threshold 0.5, deterministic). Hit F1, velocity and timing MAE over true-positive hits.
  Baseline: the training window whose tapped rhythm is nearest in Hamming distance, as is.
- infill: the beat without its closed hi-hat in, the same beat with new closed hi-hats out.
  Scored on that voice alone: hit F1, velocity and timing MAE over true-positive hits.
  Baseline: the closed hi-hat of the training window whose other voices' hits are nearest in
  Hamming distance.
"""

from __future__ import annotations

import numpy as np

from pdbridge.core import metrics
from pdbridge.core.pattern import HITS, OFFSETS, VELOCITIES, VOICES, drop_voices_array, tap_array
from pdbridge.inference.checkpoint import Checkpoint
from pdbridge.inference.engine import Controls, Engine
from pdbridge.models.registry import INFILL_VOICE

DETERMINISTIC = Controls(temperature=0.0, seed=0)


def nearest_hits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each row of `a` (N, cells), the index of the row of `b` (M, cells) nearest in Hamming
    distance (both 0/1; ties go to the first)."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    distance = a @ (1.0 - b).T + (1.0 - a) @ b.T  # (N, M) cells that differ
    return distance.argmin(1)


def _engine_outputs(ckpt: Checkpoint, task: str, x: np.ndarray) -> np.ndarray:
    engine = Engine([ckpt])
    verb = getattr(engine, task)
    return np.stack([verb(w, DETERMINISTIC) for w in x])


# ---------------------------------------------------------------------------- humanize


def step_voice_means(train_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean velocity and mean offset of the hits at each (step, voice) over `train_x`, each
    (steps, 9); a cell that never has a hit takes its voice's mean over all steps."""
    hits = train_x[..., HITS]
    count = hits.sum(0)
    voice_count = np.maximum(hits.sum((0, 1)), 1)
    out = []
    for cols in (VELOCITIES, OFFSETS):
        total = (train_x[..., cols] * hits).sum(0)
        voice_mean = total.sum(0) / voice_count
        out.append(np.where(count > 0, total / np.maximum(count, 1), voice_mean).astype(np.float32))
    return out[0], out[1]


def humanize_baseline(x: np.ndarray, train_x: np.ndarray) -> np.ndarray:
    """`x`'s hits, each with its (step, voice) mean velocity and offset from the training data."""
    vel, off = step_voice_means(train_x)
    hits = x[..., HITS]
    return np.concatenate([hits, hits * vel, hits * off], axis=-1).astype(np.float32)


def humanize_scores(
    ckpt: Checkpoint, x: np.ndarray, bpm: np.ndarray, train_x: np.ndarray
) -> dict[str, float]:
    pred = _engine_outputs(ckpt, "humanize", x)
    base = humanize_baseline(x, train_x)
    return {
        "velocity_mae": metrics.velocity_mae(pred, x),
        "timing_mae_ms": metrics.timing_mae_ms(pred, x, bpm),
        "baseline_velocity_mae": metrics.velocity_mae(base, x),
        "baseline_timing_mae_ms": metrics.timing_mae_ms(base, x, bpm),
    }


# ---------------------------------------------------------------------------- drumify


def tapped_rhythm(x: np.ndarray) -> np.ndarray:
    """(N, steps) bool: the steps where the tapped version of each window has a hit."""
    return tap_array(x)[..., HITS.start] >= 0.5


def nearest_tap(x: np.ndarray, train_x: np.ndarray) -> np.ndarray:
    """For each window of `x`, the index of the training window with the nearest tapped rhythm
    (Hamming distance; ties go to the first)."""
    return nearest_hits(tapped_rhythm(x), tapped_rhythm(train_x))


def drumify_baseline(x: np.ndarray, train_x: np.ndarray) -> np.ndarray:
    return train_x[nearest_tap(x, train_x)]


def drumify_scores(
    ckpt: Checkpoint, x: np.ndarray, bpm: np.ndarray, train_x: np.ndarray
) -> dict[str, float]:
    pred = _engine_outputs(ckpt, "drumify", x)
    base = drumify_baseline(x, train_x)
    return {
        "hit_f1": metrics.hit_f1(pred, x),
        "velocity_mae": metrics.velocity_mae(pred, x),
        "timing_mae_ms": metrics.timing_mae_ms(pred, x, bpm),
        "baseline_hit_f1": metrics.hit_f1(base, x),
        "baseline_velocity_mae": metrics.velocity_mae(base, x),
        "baseline_timing_mae_ms": metrics.timing_mae_ms(base, x, bpm),
    }


# ---------------------------------------------------------------------------- infill

OTHER_VOICES = [v for v in VOICES if v != INFILL_VOICE]


def infill_only(a: np.ndarray) -> np.ndarray:
    """Only the infilled voice (the others silenced): metrics on it alone."""
    return drop_voices_array(a, OTHER_VOICES)


def infill_baseline(x: np.ndarray, train_x: np.ndarray) -> np.ndarray:
    """`x` with the infilled voice of the training window whose other voices are nearest."""

    def others(a: np.ndarray) -> np.ndarray:
        return drop_voices_array(a, [INFILL_VOICE])[..., HITS].reshape(len(a), -1) >= 0.5

    nearest = train_x[nearest_hits(others(x), others(train_x))]
    return drop_voices_array(x, [INFILL_VOICE]) + infill_only(nearest)


def infill_scores(
    ckpt: Checkpoint, x: np.ndarray, bpm: np.ndarray, train_x: np.ndarray
) -> dict[str, float]:
    pred = infill_only(_engine_outputs(ckpt, "infill", x))
    base = infill_only(infill_baseline(x, train_x))
    want = infill_only(x)
    return {
        "hit_f1": metrics.hit_f1(pred, want),
        "velocity_mae": metrics.velocity_mae(pred, want),
        "timing_mae_ms": metrics.timing_mae_ms(pred, want, bpm),
        "baseline_hit_f1": metrics.hit_f1(base, want),
        "baseline_velocity_mae": metrics.velocity_mae(base, want),
        "baseline_timing_mae_ms": metrics.timing_mae_ms(base, want, bpm),
    }


TASK_SCORES = {"humanize": humanize_scores, "drumify": drumify_scores, "infill": infill_scores}
