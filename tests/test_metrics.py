"""Metrics on hand-made cases where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from pdbridge.core import metrics
from pdbridge.core.pattern import HITS, OFFSETS, VELOCITIES


def pattern(hits: dict[tuple[int, int], tuple[float, float]], steps: int = 32) -> np.ndarray:
    """(steps, 27) from {(step, voice): (velocity, offset)}."""
    a = np.zeros((steps, 27), np.float32)
    for (s, v), (vel, off) in hits.items():
        a[s, HITS.start + v] = 1
        a[s, VELOCITIES.start + v] = vel
        a[s, OFFSETS.start + v] = off
    return a


def test_hit_f1_counts_every_cell():
    true = pattern({(0, 0): (1, 0), (4, 1): (1, 0), (8, 0): (1, 0)})
    assert metrics.hit_f1(true, true) == 1.0
    # 2 true positives, 1 false positive, 1 false negative: 2*2 / (2*2 + 1 + 1)
    pred = pattern({(0, 0): (1, 0), (4, 1): (1, 0), (9, 2): (1, 0)})
    assert metrics.hit_f1(pred, true) == pytest.approx(4 / 6)
    assert metrics.hit_counts(pred, true) == (2, 1, 1)
    assert metrics.hit_f1(np.zeros_like(true), true) == 0.0
    assert metrics.hit_f1(np.zeros_like(true), np.zeros_like(true)) == 1.0


def test_velocity_mae_is_in_midi_units_over_true_positives_only():
    true = pattern({(0, 0): (0.5, 0), (4, 1): (0.8, 0)})
    # errors 0.1 and 0.3 on the true positives; the false positive's velocity must not count
    pred = pattern({(0, 0): (0.6, 0), (4, 1): (0.5, 0), (6, 3): (1.0, 0)})
    assert metrics.velocity_mae(pred, true) == pytest.approx(0.2 * 127, rel=1e-5)
    assert np.isnan(metrics.velocity_mae(np.zeros_like(true), true))


def test_timing_mae_uses_each_windows_tempo():
    true = np.stack([pattern({(0, 0): (1, 0.0)}), pattern({(0, 0): (1, 0.0)})])
    pred = np.stack([pattern({(0, 0): (1, 0.25)}), pattern({(0, 0): (1, -0.5)})])
    # a sixteenth is 125 ms at 120 bpm and 250 ms at 60 bpm: errors 31.25 ms and 125 ms
    assert metrics.ms_per_step(120.0) == pytest.approx(125.0)
    got = metrics.timing_mae_ms(pred, true, np.array([120.0, 60.0]))
    assert got == pytest.approx((31.25 + 125.0) / 2)


def test_syncopation_longuet_higgins_lee():
    on_beats = pattern({(s, 0): (1, 0) for s in (0, 4, 8, 12, 16, 20, 24, 28)})
    assert metrics.syncopation(on_beats[None])[0] == 0
    # an onset on the last sixteenth before the half bar (weight -4), silence over the half bar
    # (weight -1) and on to the end of the bar: one syncopation of 3
    anticipation = pattern({(0, 0): (1, 0), (7, 1): (1, 0)})
    assert metrics.syncopation(anticipation[None])[0] == 3
    # every step played: no rest, no syncopation
    full = pattern({(s, 2): (1, 0) for s in range(32)})
    assert metrics.syncopation(full[None])[0] == 0


def test_features_of_a_known_pattern():
    a = pattern({(0, 0): (0.5, 0.1), (8, 0): (1.0, -0.3), (4, 1): (0.6, 0.2)})
    f = metrics.pattern_features(a[None])
    assert f["hits_kick"][0] == 2 and f["hits_snare"][0] == 1 and f["hits_ride"][0] == 0
    assert f["density"][0] == 3
    assert f["mean_velocity"][0] == pytest.approx(0.7)
    assert f["mean_offset"][0] == pytest.approx(0.0, abs=1e-6)
    assert metrics.pattern_features(np.zeros((1, 32, 27)))["mean_velocity"][0] == 0


def test_overlap_area_on_known_distributions():
    assert metrics.overlap_area(np.array([1, 2, 3]), np.array([3, 2, 1])) == pytest.approx(1.0)
    assert metrics.overlap_area(np.array([0, 0]), np.array([5, 5])) == 0.0
    # integer counts: {1, 2} vs {2, 3} share half their mass
    assert metrics.overlap_area(np.array([1, 2]), np.array([2, 3])) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 5000), rng.normal(0, 1, 5000)
    assert metrics.overlap_area(a, b) > 0.9
    assert metrics.overlap_area(a, b + 10) < 0.01


def test_feature_overlap_of_a_set_with_itself_is_one_and_with_silence_is_low():
    rng = np.random.default_rng(1)
    hits = (rng.random((200, 32, 9)) < 0.15).astype(np.float32)
    x = np.concatenate([hits, hits * 0.7, hits * 0.1], axis=-1)
    mean, per = metrics.feature_overlap(x, x)
    assert mean == pytest.approx(1.0) and set(per) >= {"density", "syncopation", "hits_kick"}
    sparse = x.copy()
    sparse[..., HITS] *= rng.random((200, 32, 9)) < 0.2
    assert metrics.feature_overlap(sparse, x)[0] < 0.6
    assert metrics.mean_hits(x) == pytest.approx(hits.sum() / 200)


# ---------------------------------------------------------------------------- pdbridge eval


def test_evaluate_gives_the_keys_the_issue_names(tmp_path, monkeypatch):
    import torch

    from pdbridge.evaluate import evaluation as evaluate
    from pdbridge.inference import checkpoint
    from pdbridge.models.mlp_vae import MLPVAE, MLPVAEConfig
    from pdbridge.models.next_step import NextStep, NextStepConfig

    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    bar = (rng.random((20, 16, 9)) < 0.2).astype(np.float32)
    hits = np.concatenate([bar, bar], axis=1)  # each window plays the same bar twice
    x = np.concatenate([hits, hits * 0.7, hits * 0.1], axis=-1)
    bpm = np.full(20, 100.0)

    vae = checkpoint.save(tmp_path / "v.pt", MLPVAE(MLPVAEConfig(hidden=(16,), z_dim=4)), "mlp_vae")
    r = evaluate.evaluate(checkpoint.load(vae), x, bpm, latency=False, train_x=x[:10])
    assert r["windows"] == 20
    assert set(r["reconstruction"]) == {
        "hit_f1", "velocity_mae", "timing_mae_ms",
        "offset_corr", "velocity_corr", "offset_spread_ratio", "velocity_spread_ratio",
    }  # fmt: skip
    s = r["sampling"]
    assert 0 <= s["overlap"] <= 1 and s["samples"] == evaluate.SAMPLES
    assert len(s["overlap_sets"]) == evaluate.SAMPLE_SETS and s["overlap_sets"][0] == s["overlap"]
    assert s["min_feature_overlap"] == s["per_feature"][s["min_feature"]] <= s["overlap"]
    assert s["novelty_ratio"] > 0 and 0 <= s["ceiling_overlap"] <= 1

    monkeypatch.setattr(
        evaluate, "LATENCY_CALLS", 5
    )  # the figure itself comes from `pdbridge eval`
    nxt = checkpoint.save(tmp_path / "n.pt", NextStep(NextStepConfig(hidden=(16,))), "next_step")
    r = evaluate.evaluate(checkpoint.load(nxt), x, bpm, latency=True)
    # the second bar repeats the first: copying one bar back is perfect
    assert r["next_step"]["baseline_hit_f1"] == 1.0
    assert 0 <= r["next_step"]["hit_f1"] <= 1 and r["next_step"]["predicted_steps"] == 20 * 16
    assert r["latency_us"]["continue_1bar_p50"] > 0


# ---------------------------------------------------------------------------- feel (issue 15)


def _random_windows(n: int, seed: int, offset_scale: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.zeros((n, 32, 27), np.float32)
    hits = rng.random((n, 32, 9)) < 0.2
    a[..., HITS] = hits
    a[..., VELOCITIES] = hits * rng.uniform(0.2, 1.0, (n, 32, 9))
    a[..., OFFSETS] = hits * np.clip(rng.normal(0, offset_scale, (n, 32, 9)), -0.5, 0.5)
    return a


def test_hit_correlation_over_true_positives():
    true = _random_windows(20, 0)
    assert metrics.hit_correlation(true, true, "offsets") == pytest.approx(1.0)
    flipped = true.copy()
    flipped[..., OFFSETS] *= -1
    assert metrics.hit_correlation(flipped, true, "offsets") == pytest.approx(-1.0)
    # velocities scaled and shifted correlate perfectly; a constant has no correlation
    scaled = true.copy()
    scaled[..., VELOCITIES] = true[..., HITS] * (0.5 * true[..., VELOCITIES] + 0.1)
    assert metrics.hit_correlation(scaled, true, "velocities") == pytest.approx(1.0)
    flat = true.copy()
    flat[..., VELOCITIES] = true[..., HITS] * 0.7
    assert np.isnan(metrics.hit_correlation(flat, true, "velocities"))
    with pytest.raises(ValueError):
        metrics.hit_correlation(true, true, "hits")


def test_spread_ratio_halves_when_offsets_are_halved():
    true = _random_windows(200, 1)
    half = true.copy()
    half[..., OFFSETS] *= 0.5
    ratio, per = metrics.spread_ratio(half, true, "offsets")
    assert ratio == pytest.approx(0.5, rel=1e-4)
    assert set(per) == set(metrics.VOICES)  # every voice has enough hits here
    # averaging every hit to the mean: no spread at all
    mean = true.copy()
    mean[..., OFFSETS] = true[..., HITS] * 0.02
    assert metrics.spread_ratio(mean, true, "offsets")[0] == pytest.approx(0.0, abs=1e-6)
    # a voice with too few hits is left out
    sparse = true.copy()
    sparse[..., HITS.start + 8] = 0
    sparse[..., OFFSETS.start + 8] = 0
    sparse[0, 0, HITS.start + 8] = 1
    assert "ride" not in metrics.spread_ratio(sparse, true, "offsets")[1]


def test_within_window_spread_ignores_drift_between_windows():
    true = _random_windows(100, 2, offset_scale=0.05)
    hits = true[..., HITS]
    # every window shifted by its own constant: the overall spread grows, the within-window not
    drifted = true.copy()
    drifted[..., OFFSETS] = hits * (true[..., OFFSETS] + np.linspace(-0.3, 0.3, 100)[:, None, None])
    assert metrics.within_window_spread_ratio(drifted, true) == pytest.approx(1.0, rel=1e-4)
    assert metrics.spread_ratio(drifted, true)[0] > 2.0
    # one offset per window (a shifted grid): no variation inside the windows
    shifted = true.copy()
    shifted[..., OFFSETS] = hits * np.linspace(-0.3, 0.3, 100)[:, None, None]
    assert metrics.within_window_spread_ratio(shifted, true) == pytest.approx(0.0, abs=1e-6)


def test_nearest_hamming_and_novelty_ratio():
    train = _random_windows(50, 3)
    assert (metrics.nearest_hamming(train, train) == 0).all()
    one_off = train[:5].copy()
    one_off[:, 0, HITS.start] = 1 - one_off[:, 0, HITS.start]
    assert (metrics.nearest_hamming(one_off, train) == 1).all()
    held_out = _random_windows(40, 4)
    # copies of training windows are not novel; unseen windows from the same source are 1
    assert metrics.novelty_ratio(train[:40], train, held_out) == 0.0
    assert metrics.novelty_ratio(held_out, train, held_out) == 1.0
    # every cell played is further from these beats than the held-out beats are: a stranger
    full = np.zeros_like(held_out)
    full[..., HITS] = 1
    assert metrics.novelty_ratio(full, train, held_out) > 2.0


def test_min_feature_overlap_and_random_windows():
    assert metrics.min_feature_overlap({"a": 0.9, "b": 0.4, "c": 0.7}) == ("b", 0.4)
    x = _random_windows(30, 5)
    picked = metrics.random_windows(x, 10, seed=1)
    assert picked.shape == (10, 32, 27)
    assert np.array_equal(picked, metrics.random_windows(x, 10, seed=1))
    assert len(metrics.random_windows(x, 100)) == 30
