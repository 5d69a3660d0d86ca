"""Issue 15: feel_net (a distribution per hit, drawn at the request's temperature and seed) in
the engine, frozen and not, and `/sample` from a checkpoint's training prior."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdbridge.core.pattern import HITS, OFFSETS, VELOCITIES
from pdbridge.inference import checkpoint
from pdbridge.inference.engine import Controls, Engine
from pdbridge.inference.hits import spread_noise
from pdbridge.inference.prior import mixture_latents, prior_latents
from pdbridge.models.feel_net import FeelNet, FeelNetConfig
from pdbridge.models.mlp_vae import MLPVAE, MLPVAEConfig
from pdbridge.train.prior import (
    BANK,
    calibrated_prior,
    lowrank_candidates,
    prior_mixture,
    rake_weights,
)

torch.set_num_threads(1)


def beat(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hits = (rng.random((32, 9)) < 0.3).astype(np.float32)
    return np.concatenate([hits, hits * 0.8, hits * 0.1], axis=-1)


def feel_net() -> FeelNet:
    torch.manual_seed(0)
    model = FeelNet(FeelNetConfig(channels=16, blocks=2, dilations=(1, 4)))
    with torch.no_grad():  # scales well above zero, so the noise shows
        model.head.bias[36:].fill_(0.0)
    return model


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    d = tmp_path_factory.mktemp("feel")
    checkpoint.save(d / "hum.pt", feel_net(), "feel_net", task="feel_humanize")
    checkpoint.save(d / "drum.pt", feel_net(), "feel_net", task="feel_drumify")
    paths = [d / "hum.pt", d / "drum.pt"]
    return Engine.load(paths, freeze=False), Engine.load(paths, freeze=True)


def test_feel_net_outputs_and_loss():
    model = feel_net()
    x = torch.from_numpy(np.stack([beat(0), beat(1)]))
    logits, vel, off, vel_s, off_s = model.forward_spread(x)
    assert all(t.shape == (2, 32, 9) for t in (logits, vel, off, vel_s, off_s))
    assert (vel_s > 0).all() and (off_s > 0).all()
    assert (off.abs() <= 0.5).all() and ((vel >= 0) & (vel <= 1)).all()
    loss, logs = model.loss(x, x, 0)
    assert torch.isfinite(loss) and set(logs) >= {"hits", "velocities", "offsets", "scales"}
    loss.backward()  # the scales learn only from their own term: locations are held fixed there
    assert all(p.grad is not None for p in model.parameters())


def test_humanize_temperature_zero_is_the_most_likely_performance(engines):
    plain, frozen = engines
    x = beat(3)
    a = plain.humanize(x, Controls(temperature=0.0, seed=1))
    b = plain.humanize(x, Controls(temperature=0.0, seed=2))
    assert np.array_equal(a, b)
    assert np.array_equal(a[:, HITS], x[:, HITS])  # humanize keeps the input's hits
    assert np.allclose(frozen.humanize(x, Controls(temperature=0.0, seed=1)), a, atol=1e-5)


def test_humanize_temperature_one_draws_with_the_seed(engines):
    plain, frozen = engines
    x = beat(4)
    t0 = plain.humanize(x, Controls(temperature=0.0))
    a = plain.humanize(x, Controls(temperature=1.0, seed=7))
    assert np.array_equal(a, plain.humanize(x, Controls(temperature=1.0, seed=7)))
    assert not np.array_equal(a, plain.humanize(x, Controls(temperature=1.0, seed=8)))
    assert np.array_equal(a[:, HITS], x[:, HITS])
    hit = x[:, HITS] > 0
    spread_t1 = np.abs(a[:, OFFSETS] - t0[:, OFFSETS])[hit].mean()
    half = plain.humanize(x, Controls(temperature=0.5, seed=7))
    spread_half = np.abs(half[:, OFFSETS] - t0[:, OFFSETS])[hit].mean()
    assert 0 < spread_half < spread_t1  # the temperature scales the spread
    v = a[:, VELOCITIES][hit]
    assert (v >= 1 / 127 - 1e-6).all() and (v <= 1).all()
    assert (np.abs(a[:, OFFSETS]) <= 0.5).all()
    # the frozen graph draws the same performance from the same seed
    assert np.allclose(frozen.humanize(x, Controls(temperature=1.0, seed=7)), a, atol=1e-5)


def test_drumify_honours_temperature_and_seed(engines):
    plain, _ = engines
    x = beat(5)
    assert np.array_equal(
        plain.drumify(x, Controls(temperature=1.0, seed=3)),
        plain.drumify(x, Controls(temperature=1.0, seed=3)),
    )
    assert not np.array_equal(
        plain.drumify(x, Controls(temperature=1.0, seed=3)),
        plain.drumify(x, Controls(temperature=1.0, seed=4)),
    )


def test_spread_noise_is_zero_at_temperature_zero():
    rng = np.random.default_rng(0)
    assert not spread_noise(rng, 32, 0.0).any()
    assert spread_noise(rng, 32, 1.0).shape == (1, 32, 18)


def test_prior_mixture_and_its_latents():
    rng = np.random.default_rng(0)
    # two tight clusters of latents, far apart
    z = np.concatenate([rng.normal(-5, 0.1, (50, 4)), rng.normal(5, 0.1, (50, 4))])
    prior = prior_mixture(z, clusters=2, scale=0.0)
    assert prior["clusters"] == 2 and float(prior["components"]["weight"].sum()) == 100
    drawn = mixture_latents(prior["components"], 200, rng)
    # scale 0: every latent is one of the two centres
    assert np.allclose(np.abs(drawn), 5.0, atol=0.1)
    assert (drawn[:, 0] < 0).any() and (drawn[:, 0] > 0).any()
    wide = mixture_latents(prior_mixture(z, 2, scale=1.0)["components"], 500, rng)
    assert 0.05 < np.abs(np.abs(wide) - 5.0).mean() < 0.2  # about each cluster's own spread
    # no prior: N(0, I), the same numbers as before the prior existed
    eps = prior_latents({}, 4, 3, np.random.default_rng(1))
    assert np.array_equal(eps, np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32))


def test_sample_draws_from_the_checkpoint_prior(tmp_path):
    torch.manual_seed(0)
    model = MLPVAE(MLPVAEConfig(hidden=(32,), z_dim=4))
    centre = np.full((1, 4), 6.0)
    prior = prior_mixture(np.repeat(centre, 3, 0), clusters=1, scale=0.0)
    checkpoint.save(tmp_path / "v.pt", model, "mlp_vae", extras={"prior": prior})
    engine = Engine.load([tmp_path / "v.pt"])
    got = engine.sample(Controls(temperature=0.0, seed=1))
    want = engine.decode(centre[0].astype(np.float32), Controls(temperature=0.0))
    assert np.allclose(got, want, atol=1e-5)


def test_eval_reports_the_feel_of_a_task_model(tmp_path):
    from pdbridge.evaluate.evaluation import evaluate

    path = checkpoint.save(tmp_path / "h.pt", feel_net(), "feel_net", task="feel_humanize")
    x = np.stack([beat(i) for i in range(12)])
    rng = np.random.default_rng(0)
    x[..., OFFSETS] = x[..., HITS] * rng.normal(0, 0.1, (12, 32, 9))
    x[..., VELOCITIES] = x[..., HITS] * rng.uniform(0.3, 1.0, (12, 32, 9))
    r = evaluate(checkpoint.load(path), x, np.full(12, 120.0), latency=False, train_x=x)
    feel = r["feel"]
    for t in ("t0", "t1"):
        for key in ("velocity_mae", "timing_mae_ms", "offset_spread_ratio",
                    "velocity_spread_ratio", "within_window_spread_ratio"):  # fmt: skip
            assert np.isfinite(feel[f"{key}_{t}"])
    assert "hit_f1_t0" not in feel  # humanize keeps its input's hits
    assert feel["within_window_spread_ratio_t1"] > feel["within_window_spread_ratio_t0"]
    assert "timing_mae_ms" in r["feel_humanize"] and "baseline_timing_mae_ms" in r["feel_humanize"]


def test_rake_weights_match_each_features_histogram():
    rng = np.random.default_rng(0)
    real = np.stack([rng.choice([2.0, 3.0], 400, p=[0.7, 0.3]), rng.normal(0.5, 0.05, 400)], 1)
    # candidates: the count spread over 0..5, the continuous feature wider than the real one
    cand = np.stack([rng.integers(0, 6, 3000).astype(float), rng.normal(0.5, 0.2, 3000)], 1)
    w = rake_weights(real, cand[None])
    assert w.shape == (3000,) and np.isclose(w.sum(), 1.0)
    on = lambda v: w[cand[:, 0] == v].sum()  # noqa: E731
    share = (real[:, 0] == 2.0).mean()  # the real sample's own share of 2s
    assert abs(on(2.0) - share) < 0.01 and abs(on(3.0) - (1 - share)) < 0.01
    assert on(0.0) + on(5.0) < 0.01
    spread = np.sqrt((w * (cand[:, 1] - 0.5) ** 2).sum())
    assert spread < 0.08  # pulled in from 0.2 towards the real 0.05
    # uniform weights where candidates already look real
    same = rake_weights(real, real[None])
    assert np.allclose(same, 1 / len(real))


def test_lowrank_candidates_stay_on_each_clusters_axes():
    rng = np.random.default_rng(0)
    # two clusters of latents, each spread along one axis of 6 dimensions
    a = np.zeros((60, 6)) + rng.normal(0, 1, (60, 1)) * np.eye(6)[0] + 10
    b = np.zeros((60, 6)) + rng.normal(0, 1, (60, 1)) * np.eye(6)[1] - 10
    z = lowrank_candidates(np.concatenate([a, b]), 500, clusters=2, rank=1, scale=1.0)
    assert z.shape == (500, 6) and z.dtype == np.float32
    near_a = z[:, 2] > 0
    assert 0.3 < near_a.mean() < 0.7
    # off-axis dimensions stay at the cluster's centre; the axis carries the cluster's spread
    assert np.allclose(z[near_a][:, 1:], 10, atol=1e-4)
    assert np.allclose(z[~near_a][:, [0, 2, 3, 4, 5]], -10, atol=1e-4)
    assert 0.7 < z[near_a][:, 0].std() < 1.3


def test_calibrated_prior_is_a_mixture_the_engine_samples(tmp_path):
    torch.manual_seed(0)
    model = MLPVAE(MLPVAEConfig(hidden=(32,), z_dim=4))
    x = np.stack([beat(i) for i in range(40)])
    prior = calibrated_prior(model, x, x, candidates=400, bank=64, seed=0)
    comps = prior["components"]
    assert prior["method"] == "calibrated" and float(comps["weight"].sum()) == 64
    assert comps["mu"].shape == (prior["clusters"], 4) == comps["std"].shape
    again = calibrated_prior(model, x, x, candidates=400, bank=64, seed=0)
    assert torch.equal(again["components"]["mu"], comps["mu"])  # the recipe reproduces it
    checkpoint.save(tmp_path / "v.pt", model, "mlp_vae", extras={"prior": prior})
    engine = Engine.load([tmp_path / "v.pt"])
    one = engine.sample(Controls(temperature=1.0, seed=3))
    assert one.shape == (32, 27)
    assert np.array_equal(one, engine.sample(Controls(temperature=1.0, seed=3)))
    # every latent drawn lies near one of the bank's components (spread `jitter`)
    drawn = prior_latents({"prior": prior}, 4, 200, np.random.default_rng(0))
    mu = comps["mu"].float().numpy()
    gap = np.abs(drawn[:, None] - mu[None]).max(-1).min(1)
    assert gap.max() < 6 * prior["jitter"]


def test_the_default_vae_ships_the_calibrated_prior():
    path = checkpoint.models_dir() / "conv_vae.pt"
    if not path.exists():
        pytest.skip("the shipped models are not in this checkout")
    ckpt = checkpoint.load(path)
    prior = ckpt.extras["prior"]
    comps = prior["components"]
    assert prior["method"] == "calibrated" and float(comps["weight"].sum()) == BANK
    assert (
        comps["mu"].shape == (prior["clusters"], ckpt.z_dim) and comps["mu"].dtype == torch.float16
    )
    assert path.stat().st_size < 10e6
    # the prior's latents decode to beats about as busy as the training windows (37-38 hits)
    z = torch.from_numpy(prior_latents(ckpt.extras, ckpt.z_dim, 300, np.random.default_rng(0)))
    with torch.no_grad():
        logits = ckpt.model.decode(z)[0]
    assert 33 < float((logits > 0).sum((1, 2)).float().mean()) < 41
