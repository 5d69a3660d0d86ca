"""The GrooVAE reference and our non-autoregressive VAEs: shapes, the autoregressive decoder's
consistency with its training pass, the Magenta objective, checkpoints, per-voice thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pdbridge.inference import checkpoint
from pdbridge.inference.engine import Controls, Engine
from pdbridge.models import registry
from pdbridge.models.groovae import GrooVAEConfig, groove_objective
from pdbridge.models.hvo import split_hvo

torch.set_num_threads(1)

TINY = {
    "groovae": {"enc_size": 16, "dec_sizes": [16, 16], "z_dim": 8},
    "conv_vae": {"channels": 8, "z_dim": 8},
    "transformer_vae": {"d_model": 16, "heads": 2, "layers": 1, "ff": 16, "z_dim": 8},
}


def tiny(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return registry.build(name, registry.config_from_dict(name, TINY[name])).eval()


def random_patterns(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    hits = (torch.rand(n, 32, 9, generator=g) < 0.2).float()
    vel = hits * torch.rand(n, 32, 9, generator=g)
    off = hits * (torch.rand(n, 32, 9, generator=g) - 0.5)
    return torch.cat([hits, vel, off], dim=-1)


@pytest.mark.parametrize("name", sorted(TINY))
def test_shapes_ranges_and_loss(name):
    model = tiny(name)
    x = random_patterns(3)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        logits, vel, off = model.decode(mu)
    assert mu.shape == logvar.shape == (3, 8)
    assert logits.shape == vel.shape == off.shape == (3, 32, 9)
    assert float(vel.min()) >= 0 and float(vel.max()) <= 1
    assert float(off.abs().max()) <= 0.5
    model.train()
    loss, logs = model.loss(x, x, step=0)
    loss.backward()
    assert math.isfinite(loss.item()) and {"hits", "velocities", "offsets", "kl"} <= set(logs)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_groovae_teacher_forcing_is_causal():
    model = tiny("groovae")
    z = torch.randn(2, 8)
    a = random_patterns(2, seed=1)
    b = a.clone()
    b[:, 20:] = random_patterns(2, seed=2)[:, 20:]
    ra, rb = model.teacher_forced(z, a), model.teacher_forced(z, b)
    # step t reads steps < t only: outputs up to step 20 (which reads step 19) are unchanged
    assert torch.allclose(ra[:, :21], rb[:, :21], atol=1e-6)
    assert not torch.allclose(ra[:, 21:], rb[:, 21:])


def test_groovae_decode_matches_teacher_forcing_on_its_own_outputs():
    """The fast step-by-step decoder is the trained network: fed its own greedy outputs as the
    teacher, the training pass gives the same numbers."""
    model = tiny("groovae")
    z = torch.randn(3, 8)
    with torch.no_grad():
        logits, vel, off = model.decode(z)
        hits = (logits > 0).float()
        fed = torch.cat([hits, vel * hits, off * hits], dim=-1)
        t_logits, t_vel, t_off = split_hvo(model.teacher_forced(z, fed))
    for a, b in ((logits, t_logits), (vel, t_vel), (off, t_off)):
        assert torch.allclose(a, b, atol=1e-5)


def test_objective_free_bits_and_beta():
    config = GrooVAEConfig(beta=0.2, free_bits=48.0)
    parts = {k: torch.tensor(1.0) for k in ("hits", "velocities", "offsets")}
    free_nats = 48.0 * math.log(2.0)
    z_dim = 4
    # KL per example = 0.5 * sum(mu^2) when logvar = 0
    for kl in (free_nats / 2, free_nats + 10.0):
        mu = torch.full((2, z_dim), math.sqrt(2 * kl / z_dim))
        loss, logs = groove_objective(config, parts, mu, torch.zeros(2, z_dim), step=0)
        assert logs["kl"] == pytest.approx(kl, rel=1e-5)
        assert loss.item() == pytest.approx(3.0 + 0.2 * max(0.0, kl - free_nats), rel=1e-5)


@pytest.mark.parametrize("name", sorted(TINY))
def test_checkpoint_round_trip(tmp_path, name):
    model = tiny(name)
    path = checkpoint.save(tmp_path / f"{name}.pt", model, name)
    loaded = checkpoint.load(path)
    x = random_patterns(2)
    with torch.no_grad():
        for a, b in zip(model(x), loaded.model(x), strict=True):
            assert torch.allclose(a, b)


@pytest.mark.parametrize("name", sorted(TINY))
def test_per_voice_thresholds_control_density(tmp_path, name):
    """Raising one voice's threshold never adds hits to it and leaves the other voices alone
    (deterministic decode); 0 forces every step on, 1 silences the voice."""
    engine = Engine([checkpoint.load(checkpoint.save(tmp_path / "m.pt", tiny(name), name))])
    z = np.random.default_rng(0).standard_normal(8).astype(np.float32)
    counts, others = [], []
    for t in (0.0, 0.2, 0.5, 0.8, 1.0):
        thr = np.full(9, 0.5, np.float32)
        thr[0] = t
        out = engine.decode(z, Controls(temperature=0, thresholds=thr))
        counts.append(int(out[:, 0].sum()))
        others.append(out[:, 1:9])
    assert counts[0] == 32 and counts[-1] == 0
    assert counts == sorted(counts, reverse=True)
    assert all(np.array_equal(o, others[0]) for o in others)
