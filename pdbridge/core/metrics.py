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


# ---------------------------------------------------------------------------- feel (issue 15)
#
# A model that predicts each hit's average timing and velocity has a low MAE and sounds like a
# machine: these measure whether its outputs carry the performance's feel (correlation with the
# real values, spread next to the real spread) and whether its samples are neither copies of the
# training beats nor strangers to them (novelty).

MIN_VOICE_HITS = 30  # a voice's spread counts only where both sets have this many hits of it


def _column(a: np.ndarray, what: str) -> slice:
    if what not in ("offsets", "velocities"):
        raise ValueError(f"what must be 'offsets' or 'velocities'; got {what!r}")
    return OFFSETS if what == "offsets" else VELOCITIES


def hit_correlation(pred: np.ndarray, true: np.ndarray, what: str = "offsets") -> float:
    """Pearson correlation of `what` ("offsets" or "velocities") between prediction and truth
    over the true-positive hits (NaN with fewer than 2 or no variation)."""
    pred, true = np.asarray(pred), np.asarray(true)
    tp = _hits(pred) & _hits(true)
    cols = _column(pred, what)
    p, t = pred[..., cols][tp].astype(np.float64), true[..., cols][tp].astype(np.float64)
    if len(p) < 2 or p.std() == 0 or t.std() == 0:
        return float("nan")
    return float(np.corrcoef(p, t)[0, 1])


def voice_spreads(a: np.ndarray, what: str = "offsets") -> tuple[np.ndarray, np.ndarray]:
    """Per voice, the standard deviation of `what` over the set's hits and the number of hits,
    each (9,) (std NaN for a voice without hits)."""
    a = np.asarray(a)
    hits = _hits(a).reshape(-1, len(VOICES))
    values = a[..., _column(a, what)].reshape(-1, len(VOICES))
    std = np.full(len(VOICES), np.nan)
    count = hits.sum(0)
    for v in range(len(VOICES)):
        if count[v]:
            std[v] = values[hits[:, v], v].astype(np.float64).std()
    return std, count


def spread_ratio(
    pred: np.ndarray, true: np.ndarray, what: str = "offsets", min_hits: int = MIN_VOICE_HITS
) -> tuple[float, dict[str, float]]:
    """How wide `pred`'s velocities or offsets spread next to `true`'s: per voice, the standard
    deviation over the set's hits divided by the real one; the mean over the voices with at least
    `min_hits` hits in both sets (and a real spread above 0), and each such voice's ratio.
    1 = as varied as the real drumming, below 1 = tidier (averaged), above 1 = wilder."""
    ps, pc = voice_spreads(pred, what)
    ts, tc = voice_spreads(true, what)
    per = {
        VOICES[v]: float(ps[v] / ts[v])
        for v in range(len(VOICES))
        if pc[v] >= min_hits and tc[v] >= min_hits and ts[v] > 0
    }
    return (float(np.mean(list(per.values()))) if per else float("nan")), per


def within_window_spread(a: np.ndarray, what: str = "offsets") -> float:
    """The mean over windows (with at least 2 hits) of the standard deviation of `what` over
    each window's hits, all voices together: the variation inside one performance, without its
    drift from window to window."""
    a = np.asarray(a)
    hits = _hits(a).reshape(len(a), -1)
    values = a[..., _column(a, what)].reshape(len(a), -1).astype(np.float64)
    n = hits.sum(1)
    keep = n >= 2
    if not keep.any():
        return float("nan")
    mean = (values * hits).sum(1) / np.maximum(n, 1)
    var = (((values - mean[:, None]) ** 2) * hits).sum(1) / np.maximum(n, 1)
    return float(np.sqrt(var[keep]).mean())


def within_window_spread_ratio(pred: np.ndarray, true: np.ndarray, what: str = "offsets") -> float:
    """`within_window_spread` of `pred` over that of `true` (1 = as varied inside a window)."""
    real = within_window_spread(true, what)
    if not real > 0:  # no real spread (a quantized, one-velocity performance): no ratio
        return float("nan")
    return within_window_spread(pred, what) / real


def nearest_hamming(a: np.ndarray, b: np.ndarray, chunk: int = 512) -> np.ndarray:
    """For each pattern of `a`, the Hamming distance of its hit grid (steps x 9 cells) to the
    nearest hit grid of `b`, (N,) int."""
    ha = _hits(a).reshape(len(a), -1).astype(np.float32)
    hb = _hits(b).reshape(len(b), -1).astype(np.float32)
    nb = hb.sum(1)
    out = np.empty(len(ha), np.int64)
    for i in range(0, len(ha), chunk):
        x = ha[i : i + chunk]
        # |x - y| summed = |x| + |y| - 2 x.y for 0/1 vectors
        d = x.sum(1)[:, None] + nb[None, :] - 2.0 * (x @ hb.T)
        out[i : i + chunk] = np.rint(d.min(1)).astype(np.int64)
    return out


def novelty_ratio(samples: np.ndarray, train: np.ndarray, held_out: np.ndarray) -> float:
    """The median Hamming distance of the samples' hit grids to their nearest training window,
    over the same median for held-out real windows: about 1 = as far from the training beats as
    unseen real beats are; well below 1 = copies of training beats; well above = strangers."""
    reference = float(np.median(nearest_hamming(held_out, train)))
    return float(np.median(nearest_hamming(samples, train))) / max(reference, 1e-9)


def min_feature_overlap(per_feature: dict[str, float]) -> tuple[str, float]:
    """The feature of `feature_overlap`'s per-feature dict that overlaps least, and its overlap."""
    name = min(per_feature, key=per_feature.get)
    return name, float(per_feature[name])


def random_windows(x: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """`n` windows of `x` drawn without replacement (all of them if `x` has fewer), seeded: the
    real-data reference of a sampling figure (e.g. `ceiling_overlap`)."""
    rng = np.random.default_rng(seed)
    return x[rng.choice(len(x), size=min(n, len(x)), replace=False)]
