"""Listing a model's styles and checking that sampling in a style resembles that style."""

from __future__ import annotations

import numpy as np
import torch

from pdbridge.evaluate import style_check as styles
from pdbridge.inference import checkpoint
from pdbridge.inference.engine import Controls, Engine
from pdbridge.models import registry
from pdbridge.train.styles import latent_means, style_statistics

torch.set_num_threads(1)
Z = 8


def styled_checkpoint(tmp_path, stats: dict) -> checkpoint.Checkpoint:
    torch.manual_seed(0)
    config = registry.config_from_dict("conv_vae", {"channels": 8, "z_dim": Z})
    model = registry.build("conv_vae", config)
    # a strong output bias spread: different latents give clearly different densities
    with torch.no_grad():
        model.from_z.weight.mul_(4.0)
    path = checkpoint.save(tmp_path / "styled.pt", model, "conv_vae", extras={"styles": stats})
    return checkpoint.load(path)


def stats(mu: float, std: float, windows: int) -> dict:
    return {"mu": [mu] * Z, "std": [std] * Z, "windows": windows}


def test_known_styles_largest_first(tmp_path):
    ckpt = styled_checkpoint(
        tmp_path, {"jazz": stats(0, 1, 30), "rock": stats(0, 1, 500), "funk": stats(0, 1, 90)}
    )
    assert styles.known_styles(ckpt) == [("rock", 500), ("funk", 90), ("jazz", 30)]
    assert [m.styles for m in Engine([ckpt]).models()] == [["funk", "jazz", "rock"]]


def test_style_samples_follow_the_style_statistics(tmp_path):
    ckpt = styled_checkpoint(tmp_path, {"a": stats(2.0, 0.0, 100), "b": stats(-2.0, 0.3, 100)})
    engine = Engine([ckpt])
    a = styles.style_samples(engine, "a", 5, temperature=0)
    # std 0: every sample in style "a" is the decoded style mean
    expected = engine.decode(np.full(Z, 2.0, np.float32), Controls(temperature=0))
    assert a.shape == (5, 32, 27) and all(np.array_equal(p, expected) for p in a)
    b = styles.style_samples(engine, "b", 5, temperature=0)
    assert len({p.tobytes() for p in b}) == 5  # std > 0: five different latents


def test_check_styles_finds_each_style_closest_to_its_own_windows(tmp_path):
    ckpt = styled_checkpoint(
        tmp_path,
        {"a": stats(3.0, 0.2, 300), "b": stats(-3.0, 0.2, 200), "rare": stats(0.0, 1.0, 10)},
    )
    engine = Engine([ckpt])
    # "real" windows of each style: other samples of that style, so each style must win
    x = np.concatenate(
        [styles.style_samples(engine, s, 120, seed=1000) for s in ("a", "b", "rare")]
    )
    labels = np.array(["a"] * 120 + ["b"] * 120 + ["rare"] * 120)
    checks = styles.check_styles(ckpt, x, labels, n=120, min_windows=50)
    assert [c.style for c in checks] == ["a", "b", "rare"]
    by = {c.style: c for c in checks}
    assert by["a"].nearest_other in ("b", "rare") and by["a"].closer and by["b"].closer
    assert by["a"].own > by["a"].nearest_other_overlap
    assert by["a"].real_closer is None  # no real windows given: not checked
    # too few windows in x: the style is not checked
    checks = styles.check_styles(ckpt, x[:240], labels[:240], n=60, min_windows=50)
    assert [c.style for c in checks] == ["a", "b"]


def test_check_styles_with_real_windows_tells_a_style_whose_held_out_windows_moved(tmp_path):
    ckpt = styled_checkpoint(tmp_path, {"a": stats(3.0, 0.2, 300), "b": stats(-3.0, 0.2, 200)})
    engine = Engine([ckpt])
    a, b = (styles.style_samples(engine, s, 100, seed=2000) for s in ("a", "b"))
    train_x, train_labels = np.concatenate([a, b]), np.array(["a"] * 100 + ["b"] * 100)
    # held-out windows labelled "a" that look like "b" (and the other way round): real training
    # windows of "a" lose to "b" as the samples do, so the failure is the data's
    held_x = np.concatenate([b[:60], a[:60]])
    held_labels = np.array(["a"] * 60 + ["b"] * 60)
    checks = styles.check_styles(
        ckpt, held_x, held_labels, n=80, min_windows=50, real=(train_x, train_labels)
    )
    by = {c.style: c for c in checks}
    assert not by["a"].closer and by["a"].real_closer is False
    # and on windows that do resemble their style, real windows pass
    checks = styles.check_styles(
        ckpt, train_x, train_labels, n=80, min_windows=50, real=(train_x, train_labels)
    )
    assert all(c.real_closer for c in checks)


def test_style_statistics_mixture_covers_each_style(tmp_path):
    ckpt = styled_checkpoint(tmp_path, {})
    rng = np.random.default_rng(0)
    # two styles of synthetic windows; "tiny" has too few windows to get statistics
    x = (rng.random((260, 32, 27)) < 0.15).astype(np.float32)
    labels = np.array(["a"] * 200 + ["b"] * 50 + ["tiny"] * 10)
    stats = style_statistics(ckpt.model, x, labels, components=4)
    assert sorted(stats) == ["a", "b"]
    mix = stats["a"]["components"]
    assert len(mix["mu"]) == 4 and np.isclose(sum(mix["weight"]), 1.0)
    assert len(stats["b"]["components"]["mu"]) == 4  # 50 windows: at most 5 components
    z = latent_means(ckpt.model, x[:200])
    assert np.allclose(stats["a"]["mu"], z.mean(0), atol=1e-5)
    # the mixture's weighted mean is the style's mean
    weighted = np.average(np.asarray(mix["mu"]), axis=0, weights=mix["weight"])
    assert np.allclose(weighted, stats["a"]["mu"], atol=1e-5)


def test_engine_samples_a_style_from_its_mixture_components(tmp_path):
    far = {"weight": [0.5, 0.5], "mu": [[4.0] * Z, [-4.0] * Z], "std": [[0.0] * Z, [0.0] * Z]}
    ckpt = styled_checkpoint(tmp_path, {"m": stats(0.0, 1.0, 100) | {"components": far}})
    engine = Engine([ckpt])
    decoded = {
        engine.decode(np.full(Z, v, np.float32), Controls(temperature=0)).tobytes()
        for v in (4.0, -4.0)
    }
    samples = {p.tobytes() for p in styles.style_samples(engine, "m", 40, temperature=0)}
    assert samples == decoded  # every sample is one of the two components, and both occur
