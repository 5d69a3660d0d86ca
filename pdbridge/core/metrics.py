"""Evaluation metrics on pattern arrays, pure numpy.

Arrays are in the pattern layout, `(..., steps, 27)`: 9 hits, 9 velocities, 9 offsets per step.

- `hit_f1`: F1 of predicted vs true hits, counted over every (window, step, voice) cell.
- `velocity_mae`: mean |velocity error| in MIDI units (0..127), over true-positive hits only.
- `timing_mae_ms`: mean |offset error| in milliseconds at each window's tempo, over true positives.
- `feature_overlap`: how alike two sets of patterns are, as in Yang & Lerch (2020), "On the
  evaluation of generative models in music": per musical feature, the overlapping area of the two
  sets' distributions, estimated with histograms on shared bins (unit-width bins for the integer
  counts, `CONTINUOUS_BINS` equal bins over the pooled range for the real-valued features), then
  the mean over features. 1 = identical distributions, 0 = disjoint.
"""

from __future__ import annotations

import numpy as np

from pdbridge.core.pattern import HITS, OFFSETS, STEPS_PER_BAR, VELOCITIES, VOICES

CONTINUOUS_BINS = 30

# Metrical weights of the 16 sixteenths of a 4/4 bar (Longuet-Higgins & Lee): bar 0, half bar -1,
# beats -2, eighths -3, sixteenths -4.
METRICAL_WEIGHTS = np.array([0, -4, -3, -4, -2, -4, -3, -4, -1, -4, -3, -4, -2, -4, -3, -4])


def _hits(a: np.ndarray) -> np.ndarray:
    return np.asarray(a)[..., HITS] >= 0.5


def hit_counts(pred: np.ndarray, true: np.ndarray) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of hits."""
    p, t = _hits(pred), _hits(true)
    return int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())


def f1_from_counts(tp: int, fp: int, fn: int) -> float:
    """F1 = 2TP / (2TP + FP + FN); 1.0 when there is nothing to find and nothing was found."""
    denom = 2 * tp + fp + fn
    return 1.0 if denom == 0 else 2 * tp / denom


def hit_f1(pred: np.ndarray, true: np.ndarray) -> float:
    return f1_from_counts(*hit_counts(pred, true))


def velocity_mae(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean absolute velocity error in MIDI units over true-positive hits (NaN if there are none)."""
    pred, true = np.asarray(pred), np.asarray(true)
    tp = _hits(pred) & _hits(true)
    if not tp.any():
        return float("nan")
    err = np.abs(pred[..., VELOCITIES] - true[..., VELOCITIES])[tp]
    return float(err.mean() * 127.0)


def ms_per_step(bpm: np.ndarray | float) -> np.ndarray:
    """Milliseconds per sixteenth note at `bpm` quarter notes per minute."""
    return 60_000.0 / np.asarray(bpm, np.float64) / 4.0


def timing_mae_ms(pred: np.ndarray, true: np.ndarray, bpm: np.ndarray | float) -> float:
    """Mean absolute timing error in ms over true-positive hits; `bpm` per window or one for all."""
    pred, true = np.asarray(pred), np.asarray(true)
    tp = _hits(pred) & _hits(true)
    if not tp.any():
        return float("nan")
    step_ms = ms_per_step(bpm)
    # broadcast one tempo per window over its (steps, voices)
    step_ms = np.broadcast_to(step_ms.reshape(step_ms.shape + (1,) * 2), tp.shape)
    err = np.abs(pred[..., OFFSETS] - true[..., OFFSETS]) * step_ms
    return float(err[tp].mean())


# ---------------------------------------------------------------------------- musical features


def syncopation(a: np.ndarray) -> np.ndarray:
    """Longuet-Higgins & Lee syncopation of each pattern's onsets (all voices together), (N,).

    An onset on a weak position followed by silence over a stronger position counts the weight
    difference; silence runs to the next onset or the end of the bar. Summed over the bars.
    """
    onsets = _hits(a).any(-1)  # (N, steps)
    n, steps = onsets.shape
    bars = onsets.reshape(n, steps // STEPS_PER_BAR, STEPS_PER_BAR)
    total = np.zeros(n)
    for i in range(STEPS_PER_BAR):
        strongest_rest = np.full(bars.shape[:2], -np.inf)
        silent = np.ones(bars.shape[:2], bool)  # no onset yet after position i
        for j in range(i + 1, STEPS_PER_BAR):
            silent &= ~bars[:, :, j]
            strongest_rest = np.where(
                silent, np.maximum(strongest_rest, METRICAL_WEIGHTS[j]), strongest_rest
            )
        gain = np.clip(strongest_rest - METRICAL_WEIGHTS[i], 0, None)
        total += np.where(bars[:, :, i], gain, 0).sum(-1)
    return total


def pattern_features(a: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pattern features, each (N,): hits per voice, total hits, syncopation, mean velocity
    and mean offset (over the pattern's hits; 0 for an empty pattern)."""
    a = np.asarray(a, np.float32)
    hits = _hits(a)
    n_hits = hits.sum((-2, -1))
    safe = np.maximum(n_hits, 1)
    feats: dict[str, np.ndarray] = {
        f"hits_{v}": hits[..., i].sum(-1).astype(np.float64) for i, v in enumerate(VOICES)
    }
    feats["density"] = n_hits.astype(np.float64)
    feats["syncopation"] = syncopation(a)
    feats["mean_velocity"] = (a[..., VELOCITIES] * hits).sum((-2, -1)) / safe
    feats["mean_offset"] = (a[..., OFFSETS] * hits).sum((-2, -1)) / safe
    return feats


def overlap_area(a: np.ndarray, b: np.ndarray) -> float:
    """Overlapping area of two samples' distributions, from histograms on shared bins."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    if hi == lo:
        return 1.0
    integer = np.all(a == np.round(a)) and np.all(b == np.round(b))
    if integer:
        edges = np.arange(lo, hi + 2) - 0.5
    else:
        edges = np.linspace(lo, hi, CONTINUOUS_BINS + 1)
    pa = np.histogram(a, edges)[0] / len(a)
    pb = np.histogram(b, edges)[0] / len(b)
    return float(np.minimum(pa, pb).sum())


def feature_overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, dict[str, float]]:
    """Mean overlap over the features of `pattern_features`, and each feature's overlap."""
    fa, fb = pattern_features(a), pattern_features(b)
    per = {k: overlap_area(fa[k], fb[k]) for k in fa}
    return float(np.mean(list(per.values()))), per


def mean_hits(a: np.ndarray) -> float:
    """Mean number of hits per pattern."""
    return float(_hits(a).sum((-2, -1)).mean())
