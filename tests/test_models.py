"""The two feedforward models: output ranges, loss terms, KL annealing and free bits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdbridge.core.pattern import tap_array
from pdbridge.models import tasks
from pdbridge.models.mlp_vae import MLPVAE, MLPVAEConfig
from pdbridge.models.next_step import NextStep, NextStepConfig

torch.set_num_threads(1)


def batch(n: int = 4, steps: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    hits = (torch.rand(n, steps, 9, generator=g) < 0.3).float()
    vel = hits * torch.rand(n, steps, 9, generator=g)
    off = hits * (torch.rand(n, steps, 9, generator=g) - 0.5)
    return torch.cat([hits, vel, off], -1)


def test_vae_shapes_and_ranges():
    model = MLPVAE(MLPVAEConfig(hidden=(64, 32), z_dim=8))
    x = batch()
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (4, 8)
    logits, vel, off = model.decode(torch.randn(4, 8) * 10)
    assert logits.shape == vel.shape == off.shape == (4, 32, 9)
    assert vel.min() >= 0 and vel.max() <= 1 and off.abs().max() <= 0.5


def test_vae_loss_terms_and_kl_annealing():
    model = MLPVAE(MLPVAEConfig(hidden=(32,), z_dim=8, beta=0.5, kl_warmup_steps=100))
    x = batch()
    torch.manual_seed(0)
    loss0, logs0 = model.loss(x, x, step=0)
    torch.manual_seed(0)
    loss_full, logs_full = model.loss(x, x, step=10_000)
    # at step 0 the KL costs nothing; after warm-up it costs beta * KL
    assert loss0.item() == pytest.approx(logs0["recon"], rel=1e-5)
    assert loss_full.item() == pytest.approx(logs_full["recon"] + 0.5 * logs_full["kl"], rel=1e-5)
    assert model.kl_weight(50) == pytest.approx(0.25)
    assert logs0["kl"] > 0 and set(logs0) >= {"hits", "velocities", "offsets", "kl", "loss"}
    loss_full.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_free_bits_leave_small_kl_unpenalised():
    config = MLPVAEConfig(hidden=(32,), z_dim=8, kl_warmup_steps=0, free_nats_per_dim=1000.0)
    model = MLPVAE(config)
    x = batch()
    _, logs = model.loss(x, x, step=0)
    # every dimension is far below 1000 nats: the cost is the constant floor, 8 * 1000
    assert logs["loss"] == pytest.approx(logs["recon"] + 8 * 1000.0, rel=1e-4)


def test_velocity_and_offset_errors_count_only_where_there_is_a_hit():
    model = NextStep(NextStepConfig(hidden=(16,)))
    x = batch(steps=16)
    target = torch.zeros(4, 27)  # silence: no hits, so no velocity/offset error at all
    _, logs = model.loss(x, target, step=0)
    assert logs["velocities"] == 0.0 and logs["offsets"] == 0.0 and logs["hits"] > 0


def test_next_step_shapes():
    model = NextStep(NextStepConfig(hidden=(32,)))
    logits, vel, off = model(batch(steps=16))
    assert logits.shape == vel.shape == off.shape == (4, 9)


def test_task_inputs():
    x = batch(2).numpy()
    human = tasks.task_input("humanize", x)
    assert np.all(human[..., 18:] == 0)  # quantized
    assert np.allclose(human[..., 9:18][x[..., :9] > 0], tasks.HUMANIZE_VELOCITY)
    assert np.array_equal(tasks.task_input("drumify", x), tap_array(x))
    assert np.array_equal(tasks.task_input("vae", x), x)
