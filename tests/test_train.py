"""The trainer on a tiny generated dataset: files, learning, determinism, resume."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from pdbridge.cli.train import config_from_args
from pdbridge.core.errors import BadInputError, UsageError
from pdbridge.inference import checkpoint
from pdbridge.train.trainer import TrainConfig, train

torch.set_num_threads(1)
TINY = {
    "mlp_vae": {"hidden": [32], "z_dim": 8, "kl_warmup_steps": 10, "dropout": 0.0},
    "next_step": {"hidden": [32], "dropout": 0.0},
}


def grooves(n: int, seed: int) -> np.ndarray:
    """Rock beats with random hi-hat gaps and loudness: learnable, not trivial."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 32, 27), np.float32)
    x[:, 0::8, 0] = 1  # kick on 1 and 3
    x[:, 4::8, 1] = 1  # snare on 2 and 4
    x[:, 0::2, 2] = rng.random((n, 16)) < 0.9  # closed hi-hat on eighths
    x[..., 9:18] = x[..., :9] * rng.uniform(0.4, 1.0, (n, 32, 9))
    x[..., 18:] = x[..., :9] * rng.uniform(-0.1, 0.1, (n, 32, 9))
    return x


def config(model: str, epochs: int = 2) -> TrainConfig:
    return TrainConfig(
        model=model, model_config=dict(TINY[model]), epochs=epochs, batch_size=16, threads=1
    )


@pytest.mark.parametrize("model", ["mlp_vae", "next_step"])
def test_train_writes_a_run_that_loads_and_learns(model, tmp_path):
    styles = np.array(["rock"] * 40 + ["funk"] * 24)
    run = train(
        config(model, epochs=4), grooves(64, 0), grooves(16, 1), tmp_path / "run",
        train_styles=styles, show_progress=False,
    )  # fmt: skip
    for name in ("best.pt", "last.pt", "history.json", "losses.png", "config.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    best = checkpoint.load(run.best_path)
    assert best.model_name == model and best.run["train"]["epochs"] == 4
    assert best.metrics["epoch"] == min(run.history, key=lambda h: h["val_loss"])["epoch"]
    assert run.history[-1]["train_loss"] < run.history[0]["train_loss"]
    assert len(json.loads((tmp_path / "run" / "history.json").read_text())) == 4
    if model == "mlp_vae":
        assert sorted(best.extras["styles"]) == ["funk", "rock"]
        assert len(best.extras["styles"]["rock"]["mu"]) == 8


def weights(path) -> dict[str, torch.Tensor]:
    return checkpoint.read(path)["state_dict"]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_and_resume_continues_exactly(tmp_path):
    data = grooves(48, 0), grooves(16, 1)
    train(config("mlp_vae"), *data, tmp_path / "a", show_progress=False)
    train(config("mlp_vae"), *data, tmp_path / "b", show_progress=False)
    assert same(weights(tmp_path / "a" / "last.pt"), weights(tmp_path / "b" / "last.pt"))

    other = config("mlp_vae")
    other.seed = 1
    train(other, *data, tmp_path / "c", show_progress=False)
    assert not same(weights(tmp_path / "a" / "last.pt"), weights(tmp_path / "c" / "last.pt"))

    # one epoch, then resume for the second: the same weights as two epochs straight
    train(config("mlp_vae", epochs=1), *data, tmp_path / "d", show_progress=False)
    with pytest.raises(BadInputError, match="already holds a run; pass --resume"):
        train(config("mlp_vae"), *data, tmp_path / "d", show_progress=False)
    run = train(config("mlp_vae"), *data, tmp_path / "d", resume=True, show_progress=False)
    assert [h["epoch"] for h in run.history] == [1, 2]
    assert same(weights(tmp_path / "a" / "last.pt"), weights(tmp_path / "d" / "last.pt"))

    changed = config("mlp_vae")
    changed.lr = 0.5
    with pytest.raises(BadInputError, match="lr=0.001, not 0.5"):
        train(changed, *data, tmp_path / "d", resume=True, show_progress=False)


def test_command_line_config(tmp_path):
    def args(model: str, *sets: str) -> argparse.Namespace:
        return argparse.Namespace(
            model=model, epochs=3, batch_size=None, lr=None, seed=7, threads=None, set=list(sets)
        )

    c = config_from_args(args("mlp_vae", "z_dim=16", "hidden=[128, 64]"))
    assert (c.epochs, c.seed, c.model_config) == (3, 7, {"z_dim": 16, "hidden": [128, 64]})
    # a typo in --set or the model name is a usage error naming the argument (exit 2)
    with pytest.raises(UsageError, match="argument --set: .*unknown field.*zdim"):
        config_from_args(args("mlp_vae", "zdim=16"))
    with pytest.raises(UsageError, match="argument model: unknown model"):
        config_from_args(args("wavenet"))
    with pytest.raises(UsageError, match="argument --set: .*parameters; at most"):
        config_from_args(args("mlp_vae", "hidden=[100000, 100000]"))
    recipe = tmp_path / "recipe.json"
    recipe.write_text(
        json.dumps({"model": "next_step", "epochs": 9, "model_config": {"context": 8}})
    )
    c = config_from_args(args(str(recipe)))
    assert (c.model, c.epochs, c.model_config["context"]) == ("next_step", 3, 8)
    recipe.write_text(json.dumps({"model": "next_step", "epoch": 9}))
    with pytest.raises(BadInputError, match="unknown field.*epoch"):
        config_from_args(args(str(recipe)))
