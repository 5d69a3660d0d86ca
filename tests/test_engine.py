"""The Engine on tiny random-weight checkpoints: shapes, controls, determinism, task routing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdbridge.core.errors import BadInputError, ModelError
from pdbridge.core.pattern import HITS, OFFSETS, VELOCITIES, voice_index
from pdbridge.inference import checkpoint
from pdbridge.inference.engine import Controls, Engine
from pdbridge.inference.hits import draw_hits
from pdbridge.inference.interpolate import slerp
from pdbridge.models.mlp_vae import MLPVAE, MLPVAEConfig
from pdbridge.models.next_step import NextStep, NextStepConfig

torch.set_num_threads(1)
Z = 8


def vae() -> MLPVAE:
    return MLPVAE(MLPVAEConfig(hidden=(32,), z_dim=Z))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    styles = {"funk": {"mu": [3.0] * Z, "std": [0.0] * Z}}
    checkpoint.save(d / "vae.pt", vae(), "mlp_vae", extras={"styles": styles})
    checkpoint.save(d / "vae2.pt", vae(), "mlp_vae")
    checkpoint.save(d / "human.pt", vae(), "mlp_vae", task="humanize")
    checkpoint.save(d / "infill.pt", vae(), "mlp_vae", task="infill")
    checkpoint.save(d / "next.pt", NextStep(NextStepConfig(hidden=(32,))), "next_step")
    return d


@pytest.fixture(scope="module")
def engine(folder):
    return Engine.load([folder / "vae.pt", folder / "vae2.pt", folder / "next.pt"])


def beat(seed: int = 0, steps: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hits = (rng.random((steps, 9)) < 0.3).astype(np.float32)
    return np.concatenate([hits, hits * 0.8, hits * 0.1], axis=-1)


def test_models_lists_what_is_loaded(engine):
    infos = {m.name: m for m in engine.models()}
    assert list(infos) == ["vae", "vae2", "next"]
    assert (infos["vae"].kind, infos["vae"].z_dim, infos["vae"].steps) == ("vae", Z, 32)
    assert infos["vae"].styles == ["funk"] and infos["vae2"].styles == []
    assert (infos["next"].kind, infos["next"].z_dim, infos["next"].steps) == ("next_step", 0, 16)


def test_sample_is_a_clean_pattern_and_the_seed_repeats_it(engine):
    a = engine.sample(Controls(seed=5))
    assert a.shape == (32, 27) and a.dtype == np.float32
    hits = a[:, HITS]
    assert set(np.unique(hits)) <= {0.0, 1.0}
    assert np.all(a[:, VELOCITIES][hits == 0] == 0) and np.all(np.abs(a[:, OFFSETS]) <= 0.5)
    assert np.array_equal(a, engine.sample(Controls(seed=5)))
    assert not np.array_equal(a, engine.sample(Controls(seed=6)))


def test_thresholds_and_temperature():
    logits = np.array([[-3.0, -0.5, 0.0, 0.5, 3.0] + [0.0] * 4])
    rng = np.random.default_rng(0)
    half = np.full(9, 0.5)
    # temperature 0: sigmoid(logit) > threshold
    assert draw_hits(logits, half, 0.0, rng)[0, :5].tolist() == [0, 0, 0, 1, 1]
    low = np.full(9, 0.2)  # logit(0.2) = -1.39: the -0.5 and 0 logits now hit too
    assert draw_hits(logits, low, 0.0, rng)[0, :5].tolist() == [0, 1, 1, 1, 1]
    assert draw_hits(logits, np.zeros(9), 1.0, rng).all()
    assert not draw_hits(logits, np.ones(9), 1.0, rng).any()
    # at temperature 1 a logit of 0 hits about half the time; a high temperature flattens
    many = np.zeros((20000, 9))
    assert draw_hits(many, half, 1.0, rng).mean() == pytest.approx(0.5, abs=0.02)
    strong = np.full((20000, 9), 2.0)
    p1 = draw_hits(strong, half, 1.0, rng).mean()
    p5 = draw_hits(strong, half, 5.0, rng).mean()
    assert p1 == pytest.approx(1 / (1 + np.exp(-2.0)), abs=0.02) and p5 < p1 - 0.2


def test_decode_at_temperature_zero_is_deterministic_and_follows_thresholds(engine):
    z = np.ones(Z, np.float32)
    a = engine.decode(z, Controls(temperature=0))
    assert np.array_equal(a, engine.decode(z, Controls(temperature=0, seed=9)))
    assert engine.decode(z, Controls(temperature=0, thresholds=0.0))[:, HITS].all()
    assert not engine.decode(z, Controls(temperature=0, thresholds=1.0))[:, HITS].any()


def test_encode_and_interpolate(engine):
    a, b = beat(1), beat(2)
    za, zb = engine.encode(a), engine.encode(b)
    assert za.shape == (Z,) and not np.allclose(za, zb)
    np.testing.assert_allclose(engine.interpolate(a, b, 0.0), za, atol=1e-5)
    np.testing.assert_allclose(engine.interpolate(za, zb, 1.0), zb, atol=1e-5)
    np.testing.assert_allclose(engine.interpolate(za, zb, 0.3), slerp(za, zb, 0.3), atol=1e-6)


def test_model_and_style_controls(engine):
    z = np.ones(Z, np.float32)
    c = Controls(temperature=0)
    assert not np.array_equal(engine.decode(z, c), engine.decode(z, Controls(0, model="vae2")))
    # the tiny funk style has std 0: every seed gives the decode of its mean
    funk = engine.sample(Controls(temperature=0, seed=1, style="funk"))
    assert np.array_equal(funk, engine.decode(np.full(Z, 3.0, np.float32), c))
    with pytest.raises(BadInputError, match="no style 'jazz'.*styles: funk"):
        engine.sample(Controls(style="jazz"))
    with pytest.raises(BadInputError, match="no model 'nope' loaded"):
        engine.sample(Controls(model="nope"))
    with pytest.raises(BadInputError, match="does next_step, not vae"):
        engine.sample(Controls(model="next"))


def test_continue_rolls_forward(engine):
    out = engine.continue_(beat(3), 2, Controls(seed=1))
    assert out.shape == (32, 27)
    assert np.array_equal(out, engine.continue_(beat(3), 2, Controls(seed=1)))
    assert engine.continue_(beat(3, steps=5), 1, Controls(temperature=0)).shape == (16, 27)
    with pytest.raises(BadInputError, match="bars"):
        engine.continue_(beat(3), 0)


def test_task_models(engine, folder):
    with pytest.raises(ModelError, match="no humanize model loaded"):
        engine.humanize(beat(1))
    with pytest.raises(ModelError, match="no drumify model loaded"):
        engine.drumify(beat(1))
    with_task = Engine.load([folder / "vae.pt", folder / "human.pt"])
    x = beat(4)
    out = with_task.humanize(x, Controls(seed=0))
    assert np.array_equal(out[:, HITS], x[:, HITS])  # same hits, new velocities and timing
    assert not np.allclose(out[:, VELOCITIES], x[:, VELOCITIES])


def test_infill_writes_only_the_closed_hihat(folder):
    engine = Engine.load([folder / "vae.pt", folder / "infill.pt"])
    with pytest.raises(ModelError, match="no infill model loaded"):
        Engine.load([folder / "vae.pt"]).infill(beat(1))
    x = beat(5)
    hat = voice_index("closed_hihat")
    hat_columns = [HITS.start + hat, VELOCITIES.start + hat, OFFSETS.start + hat]
    others = [c for c in range(27) if c not in hat_columns]
    out = engine.infill(x, Controls(temperature=0.0, thresholds=0.0))  # every step a hat
    assert np.array_equal(out[:, others], x[:, others])  # the rest of the beat untouched
    assert out[:, HITS.start + hat].all()
    # the model never sees the input's own hats: with or without them, the same new hats
    no_hats = x.copy()
    no_hats[:, hat_columns] = 0
    c = Controls(temperature=1.0, seed=3)
    assert np.array_equal(
        engine.infill(x, c)[:, hat_columns], engine.infill(no_hats, c)[:, hat_columns]
    )


def test_bad_input_is_refused(engine):
    with pytest.raises(BadInputError, match="reads 32 steps"):
        engine.encode(beat(1, steps=16))
    with pytest.raises(BadInputError, match=r"\(steps, 27\)"):
        engine.encode(np.zeros((32, 26)))
    with pytest.raises(BadInputError, match="latent vector has 8 values"):
        engine.decode(np.zeros(3))
    bad = beat(1)
    bad[0, 0] = np.nan
    with pytest.raises(BadInputError, match="NaN"):
        engine.encode(bad)
    with pytest.raises(BadInputError, match="temperature"):
        Controls(temperature=-1)
    with pytest.raises(BadInputError, match="thresholds"):
        Controls(thresholds=[0.5] * 3)


def test_slerp():
    a, b = np.array([2.0, 0.0]), np.array([0.0, 2.0])
    mid = slerp(a, b, 0.25)
    # along the arc: a quarter of the angle, and the length kept (a straight line would shrink it)
    assert np.degrees(np.arctan2(mid[1], mid[0])) == pytest.approx(22.5, abs=1e-4)
    assert np.linalg.norm(mid) == pytest.approx(2.0, abs=1e-5)
    np.testing.assert_allclose(slerp(a, b, 0.0), a, atol=1e-6)
    np.testing.assert_allclose(slerp(a, b, 1.0), b, atol=1e-6)
    # parallel vectors and a zero vector fall back to a straight line
    np.testing.assert_allclose(slerp(a, 3 * a, 0.5), 2 * a, atol=1e-6)
    np.testing.assert_allclose(slerp(np.zeros(2), b, 0.25), 0.25 * b, atol=1e-6)


def test_default_alias_loads_the_shipped_models():
    names = checkpoint.aliases().get("default", [])
    if not names or not all(n in checkpoint.shipped() for n in names):
        pytest.skip("no shipped models yet")
    engine = Engine.load(["default"])
    kinds = [m.kind for m in engine.models()]
    assert kinds[0] == "vae" and "next_step" in kinds
    assert engine.sample(Controls(seed=0)).shape == (32, 27)


SMALL = {
    "mlp_vae": {"hidden": [32], "z_dim": 8},
    "conv_vae": {"channels": 8, "z_dim": 8},
    "groovae": {"enc_size": 16, "dec_sizes": [16], "z_dim": 8},
}


def small_model(name: str) -> torch.nn.Module:
    """A random-weight model of each VAE architecture, small enough to build in milliseconds."""
    from pdbridge.models.registry import build, config_from_dict

    return build(name, config_from_dict(name, SMALL[name]))


@pytest.mark.parametrize("name", list(SMALL))
def test_inference_fns_compute_what_the_model_computes(tmp_path, name):
    from pdbridge.inference.freeze import inference_fns

    torch.manual_seed(1)
    model = small_model(name)
    ckpt = checkpoint.load(checkpoint.save(tmp_path / f"{name}.pt", model, name))
    encode, pattern = inference_fns(ckpt)
    frozen = isinstance(pattern, torch.jit.ScriptModule)
    assert frozen == getattr(ckpt.model, "traceable", False)  # feedforward ones are frozen
    x = torch.rand(1, ckpt.steps, 27)
    with torch.no_grad():
        mu = encode(x)[0]
        assert torch.allclose(mu, ckpt.model.encode(x)[0], atol=1e-5)
        # every voice forced on (bias -inf): the pattern carries the decoder's own outputs
        always = torch.full((1, 1, 9), -torch.inf)
        got = pattern(mu + 1.0, torch.zeros(1, ckpt.steps, 9), always)
        logits, vel, off = ckpt.model.decode(mu + 1.0)
        assert torch.equal(got[..., :9], torch.ones_like(logits))
        assert torch.allclose(got[..., 9:18], vel, atol=1e-5)
        assert torch.allclose(got[..., 18:], off, atol=1e-5)
        # bias 0, no noise: a hit exactly where the logit is positive, velocity zeroed elsewhere
        got = pattern(mu + 1.0, torch.zeros(1, ckpt.steps, 9), torch.zeros(1, 1, 9))
        assert torch.equal(got[..., :9], (logits > 0).float())
        assert torch.allclose(got[..., 9:18], vel * (logits > 0), atol=1e-5)


def test_with_model_adds_a_model_and_leaves_the_engine_as_it_was(engine, folder):
    before = [m.name for m in engine.models()]
    bigger = engine.with_model(checkpoint.load(folder / "human.pt"))
    assert [m.name for m in engine.models()] == before  # the running engine is untouched
    assert [m.name for m in bigger.models()] == [*before, "human"]
    stiff = np.zeros((32, 27), np.float32)
    stiff[::4, 0] = 1.0
    assert bigger.humanize(stiff).shape == (32, 27)
    with pytest.raises(ModelError):
        engine.humanize(stiff)


@pytest.mark.parametrize("name", list(SMALL))
def test_decode_many_gives_what_decode_gives_each_latent(tmp_path, name):
    """One model call for several latents, each with its own controls, and two models mixed."""
    torch.manual_seed(2)
    paths = [checkpoint.save(tmp_path / f"{n}.pt", small_model(name), name) for n in ("one", "two")]
    engine = Engine.load([str(p) for p in paths])
    rng = np.random.default_rng(0)
    zs = [rng.standard_normal(8).astype(np.float32) for _ in range(5)]
    zs[4] = zs[0]  # the same latent through the other model
    controls = [
        Controls(temperature=0),
        Controls(seed=7),
        Controls(temperature=0, model="two", thresholds=np.linspace(0.1, 0.9, 9)),
        Controls(seed=8, temperature=2.0),
        Controls(temperature=0, model="two"),
    ]
    together = engine.decode_many(zs, controls)
    for z, c, got in zip(zs, controls, together, strict=True):
        np.testing.assert_allclose(got, engine.decode(z, c), atol=1e-5)
    assert not np.allclose(together[0], together[4])  # the second model really answered
    with pytest.raises(BadInputError):
        engine.decode_many([zs[0], np.zeros(3, np.float32)], controls[:2])


def test_an_unfrozen_engine_answers_alike_until_frozen(tmp_path):
    """`pdbridge serve` starts with the plain models and freezes them in the background."""
    torch.manual_seed(3)
    model = small_model("conv_vae")
    ckpt = checkpoint.load(checkpoint.save(tmp_path / "c.pt", model, "conv_vae"))
    engine = Engine([ckpt], freeze=False)
    z = np.random.default_rng(0).standard_normal(8).astype(np.float32)
    before = engine.decode(z, Controls(temperature=0))
    assert not isinstance(engine._vae_fns["c"].pattern, torch.jit.ScriptModule)
    engine.freeze()
    assert isinstance(engine._vae_fns["c"].pattern, torch.jit.ScriptModule)
    np.testing.assert_allclose(engine.decode(z, Controls(temperature=0)), before, atol=1e-5)
    engine.freeze()  # again: nothing left to do
