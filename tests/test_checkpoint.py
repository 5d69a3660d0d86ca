"""Checkpoints: a round trip gives identical outputs; anything else is refused with a clear message."""

from __future__ import annotations

import json

import pytest
import torch

from pdbridge.core import errors
from pdbridge.core.errors import ExitCode, ModelError
from pdbridge.inference import checkpoint
from pdbridge.models import registry
from pdbridge.models.mlp_vae import MLPVAE, MLPVAEConfig
from pdbridge.models.next_step import NextStep, NextStepConfig

torch.set_num_threads(1)


def tiny_vae() -> MLPVAE:
    torch.manual_seed(0)
    return MLPVAE(MLPVAEConfig(hidden=(32,), z_dim=8))


@pytest.fixture
def vae_path(tmp_path):
    return checkpoint.save(tmp_path / "vae.pt", tiny_vae(), "mlp_vae", metrics={"val_hit_f1": 0.5})


def test_round_trip_gives_identical_outputs(tmp_path):
    x = torch.rand(3, 32, 27)
    vae = tiny_vae().eval()
    nxt = NextStep(NextStepConfig(hidden=(16,))).eval()
    c1 = checkpoint.load(checkpoint.save(tmp_path / "a.pt", vae, "mlp_vae", run={"seed": 3}))
    c2 = checkpoint.load(checkpoint.save(tmp_path / "b.pt", nxt, "next_step"))
    with torch.inference_mode():
        for a, b in zip(vae(x), c1.model(x), strict=True):
            assert torch.equal(a, b)
        for a, b in zip(nxt(x[:, :16]), c2.model(x[:, :16]), strict=True):
            assert torch.equal(a, b)
    assert (c1.name, c1.task, c1.kind, c1.z_dim, c1.steps) == ("a", "vae", "vae", 8, 32)
    assert c1.config == vae.config and c1.run == {"seed": 3}
    assert (c2.kind, c2.steps, c2.z_dim) == ("next_step", 16, 0)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="no such checkpoint file"):
        checkpoint.load(tmp_path / "nope.pt")


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a model\n" * 10)
    with pytest.raises(ModelError, match="not a readable checkpoint"):
        checkpoint.load(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ModelError, match="not a pdbridge checkpoint"):
        checkpoint.load(other)


def test_truncated_file(vae_path):
    data = vae_path.read_bytes()
    vae_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"vae\.pt: not a readable checkpoint \(truncated"):
        checkpoint.load(vae_path)


def test_code_in_the_file_is_refused(tmp_path):
    path = tmp_path / "module.pt"
    torch.save(tiny_vae(), path)  # a pickled module: loading it would run code
    with pytest.raises(ModelError, match=r"refused: holds a Python object \(.*MLPVAE\)"):
        checkpoint.load(path)


def edited(path, tmp_path, edit) -> str:
    data = torch.load(path, weights_only=True)
    edit(data)
    out = tmp_path / "edited.pt"
    torch.save(data, out)
    return out


def test_wrong_version(vae_path, tmp_path):
    path = edited(vae_path, tmp_path, lambda d: d.update(format_version=99))
    with pytest.raises(ModelError, match="format version 99 not supported"):
        checkpoint.load(path)


def test_unknown_model_and_config_field(vae_path, tmp_path):
    path = edited(vae_path, tmp_path, lambda d: d.update(model="wavenet"))
    with pytest.raises(ModelError, match="unknown model 'wavenet'"):
        checkpoint.load(path)
    path = edited(vae_path, tmp_path, lambda d: d["config"].update(zdim=3))
    with pytest.raises(ModelError, match="unknown field.*zdim"):
        checkpoint.load(path)


def test_shape_mismatch(vae_path, tmp_path):
    path = edited(vae_path, tmp_path, lambda d: d["config"].update(z_dim=16))
    with pytest.raises(ModelError, match="weights do not fit the config.*size mismatch"):
        checkpoint.load(path)


def test_layout_mismatch(vae_path, tmp_path):
    path = edited(vae_path, tmp_path, lambda d: d["layout"].update(voices=11))
    with pytest.raises(ModelError, match="layout voices is 11, the model needs 9"):
        checkpoint.load(path)


def test_nan_weights_fail_the_test_forward_pass(vae_path, tmp_path):
    path = edited(vae_path, tmp_path, lambda d: d["state_dict"]["to_mu.bias"].fill_(float("nan")))
    with pytest.raises(ModelError, match="NaN"):
        checkpoint.load(path)


def test_shipped_names_and_aliases(tmp_path, monkeypatch):
    monkeypatch.setenv("PDBRIDGE_MODELS", str(tmp_path))
    checkpoint.save(tmp_path / "mine.pt", tiny_vae(), "mlp_vae")
    (tmp_path / "index.json").write_text(json.dumps({"aliases": {"default": ["mine"]}}))
    assert checkpoint.shipped() == ["mine"]
    assert checkpoint.resolve("default") == [tmp_path / "mine.pt"]
    assert checkpoint.load("default").name == "mine"
    with pytest.raises(ModelError, match="no model named 'other'.*known: default, mine"):
        checkpoint.load("other")


def test_config_from_dict_turns_lists_into_tuples():
    config = registry.config_from_dict("mlp_vae", {"hidden": [64, 32], "z_dim": 4})
    assert config.hidden == (64, 32) and config.z_dim == 4
    assert registry.config_to_dict(config)["hidden"] == [64, 32]


def test_models_command_lists_shipped_models_and_flags_broken_ones(tmp_path, monkeypatch, capsys):
    import argparse

    from pdbridge.cli import models as model_list

    monkeypatch.setenv("PDBRIDGE_MODELS", str(tmp_path))
    checkpoint.save(tmp_path / "good.pt", tiny_vae(), "mlp_vae", metrics={"val_hit_f1": 0.75})
    (tmp_path / "broken.pt").write_bytes(b"\0" * 100)
    (tmp_path / "index.json").write_text(json.dumps({"aliases": {"default": ["good"]}}))
    info = {m["name"]: m for m in model_list.describe()["models"]}
    assert info["good"]["architecture"] == "mlp_vae" and info["good"]["z_dim"] == 8
    assert "not a readable checkpoint" in info["broken"]["error"]
    assert model_list.run(argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert "val hit F1 0.750" in out and "BROKEN" in out and "default        = good" in out


class _OpensAFile:
    """Pickles as `open(marker, "w")`: a file that would run code if unpickled unsafely."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_each_fault_has_its_own_error_class_and_exit_code(vae_path, tmp_path):
    """The CLI exits with the class's code, so a script can tell the faults apart."""
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(vae_path.read_bytes()[:100])
    crafted = tmp_path / "crafted.pt"  # a pdbridge dict whose parts have the wrong types
    torch.save({**torch.load(vae_path, weights_only=True), "layout": [1, 2]}, crafted)
    cases = [
        (tmp_path / "nope.pt", errors.ModelMissingError, ExitCode.MODEL_MISSING),
        (truncated, errors.ModelCorruptError, ExitCode.MODEL_CORRUPT),
        (crafted, errors.ModelCorruptError, ExitCode.MODEL_CORRUPT),
        (
            edited(vae_path, tmp_path, lambda d: d.update(format_version=2)),
            errors.ModelVersionError,
            ExitCode.MODEL_VERSION,
        ),
    ]
    for path, kind, code in cases:
        with pytest.raises(kind) as caught:
            checkpoint.load(path)
        assert caught.value.exit_code == code
        assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    with pytest.raises(errors.ModelMissingError):
        checkpoint.resolve("no_such_shipped_model")
    codes = [c for k, c in vars(ExitCode).items() if k.isupper()]
    assert len(codes) == len(set(codes))


def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "created-by-the-pickle"
    evil = tmp_path / "evil.pt"
    torch.save({"format": checkpoint.FORMAT, "payload": _OpensAFile(marker)}, evil)
    with pytest.raises(errors.UnsafeModelError, match="refused: holds a Python object"):
        checkpoint.load(evil)
    assert not marker.exists()
    torch.load(evil, weights_only=False)  # the control: loaded unsafely, it does run
    assert marker.exists()


class _MakesADir:
    """Pickles as `os.mkdir(marker)`: torch names it posix.mkdir, a global of a blocked module."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


def test_a_pickle_of_a_blocked_module_is_unsafe_not_corrupt(tmp_path):
    # newer torch words it "Trying to load unsupported GLOBAL posix.mkdir whose module posix is
    # blocked", not "Unsupported global: GLOBAL ...": still a Python object, so exit 8, not 6
    marker = tmp_path / "made-by-the-pickle"
    evil = tmp_path / "evil.pt"
    torch.save({"format": checkpoint.FORMAT, "payload": _MakesADir(marker)}, evil)
    with pytest.raises(errors.UnsafeModelError, match=r"holds a Python object \(posix\.mkdir\)") as e:
        checkpoint.load(evil)
    assert e.value.exit_code == ExitCode.MODEL_UNSAFE and "\n" not in str(e.value)
    assert not marker.exists()
    torch.load(evil, weights_only=False)  # the control: loaded unsafely, it does run
    assert marker.is_dir()
