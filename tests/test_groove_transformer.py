"""The course's Groove Transformer models: our re-implementation against the original's outputs,
the architecture recognition, and the file reader's refusals.

The checkpoints and fixtures live beside the repository in ../shared/groove-transformer (CI has
them; they are never copied into the repository: no license). Those tests skip only when the
folder is absent; everything else uses synthetic state dicts of the same layouts.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from pdbridge.core.errors import (
    ExitCode,
    ModelCorruptError,
    ModelLayoutError,
    ModelMissingError,
    UnsafeModelError,
)
from pdbridge.models.groove_transformer import (
    DensityVAE,
    DensityVAEConfig,
    GrooveTransformer,
    GrooveTransformerConfig,
    config_from_params,
    count_hits,
    density_input,
    density_value,
    from_state_dict,
    groove_input,
    params_from_config,
    recognise,
)
from pdbridge.models.gt_file import read_gt_checkpoint

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared" / "groove-transformer"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"{SHARED} absent (the course checkpoints are not in the repo)"
)

# name -> (kind, state-dict keys, parameters without the position table), from the README
CHECKPOINTS = {
    "colorful_sweep_41": ("mgt", 139, 212_939),
    "solar_shadow_247": ("mgt", 91, 502_923),
    "cool_25_ep200": ("density_vae", 231, 243_395),  # in a "Density1D" folder, but Density2D
    "summer_13_ep290": ("density_vae", 87, 452_955),
}
TOL = 1e-4


def _hits(logits: torch.Tensor) -> np.ndarray:
    return (logits > 0).numpy().astype(np.uint8)  # sigmoid(logit) > 0.5, strictly


@pytest.fixture(scope="module")
def fixtures() -> dict[str, np.ndarray]:
    with np.load(SHARED / "fixtures.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


# ---------------------------------------------------------------------------- (a) the real files


@needs_shared
@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_checkpoint_reproduces_fixtures(name, fixtures):
    kind, n_keys, n_params = CHECKPOINTS[name]
    got_kind, config, model = read_gt_checkpoint(SHARED / f"{name}.pth")
    assert got_kind == kind
    state = torch.load(SHARED / f"{name}.pth", map_location="cpu", weights_only=True)
    sd = state["model_state_dict"]
    assert len(sd) == n_keys
    result = model.load_state_dict(sd, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert sum(p.numel() for p in model.parameters()) == n_params
    assert config == config_from_params(state["params"], sd)

    pattern = fixtures["validation/pattern"]
    want = {k.split("/", 1)[1]: v for k, v in fixtures.items() if k.startswith(name + "/")}
    groove = groove_input(pattern)
    diffs: dict[str, float] = {}

    def close(key: str, value: torch.Tensor) -> None:
        diffs[key] = float(np.abs(value.numpy() - want[key]).max())

    with torch.no_grad():
        if kind == "mgt":
            assert np.array_equal(groove, want["input"])  # bit for bit
            logits, vel, off = model(torch.from_numpy(want["input"]))
            for key, value in (("hit_logits", logits), ("velocities", vel), ("offsets", off)):
                close(key, value)
            assert np.array_equal(_hits(logits), want["hits"])
        else:
            density = density_value(count_hits(pattern))
            assert density.dtype == np.float32
            assert np.array_equal(density, want["density"])
            assert np.array_equal(density_input(groove, density), want["input"])
            mu, logvar = model.encode(torch.from_numpy(want["input"]))
            close("mu", mu)
            close("logvar", logvar)
            logits, vel, off = model.decode(mu)
            for key, value in (("hit_logits", logits), ("velocities", vel), ("offsets", off)):
                close(key, value)
            assert np.array_equal(_hits(logits), want["hits"])
            z = mu + torch.from_numpy(want["eps"]) * torch.exp(0.5 * logvar)
            close("z_sampled", z)
            logits_z = model.decode(torch.from_numpy(want["z_sampled"]))[0]
            close("hit_logits_z_sampled", logits_z)
            assert np.array_equal(_hits(logits_z), want["hits_z_sampled"])
    print(name, {k: f"{v:.2e}" for k, v in diffs.items()})
    assert all(v <= TOL for v in diffs.values()), diffs


@needs_shared
def test_shared_folder_is_complete():
    # The folder being there means the fixture tests must run, not skip quietly.
    for name in [*CHECKPOINTS, "fixtures"]:
        assert (SHARED / f"{name}.npz" if name == "fixtures" else SHARED / f"{name}.pth").is_file()


# ---------------------------------------------------------------------------- input convention


def _pattern(steps: int = 32) -> np.ndarray:
    return np.zeros((steps, 27), np.float32)


def _hit(p: np.ndarray, step: int, voice: int, vel: float, off: float) -> None:
    p[step, voice], p[step, 9 + voice], p[step, 18 + voice] = 1.0, vel, off


def test_groove_input_loudest_hit_and_ties_to_lower_voice():
    p = _pattern()
    _hit(p, 0, 0, 0.5, 0.1)  # kick, quieter
    _hit(p, 0, 1, 0.9, -0.2)  # snare, loudest
    _hit(p, 3, 4, 0.7, 0.3)  # tie: tom (4) and ride (8) equally loud; the tom wins
    _hit(p, 3, 8, 0.7, -0.4)
    _hit(p, 5, 2, 0.0, 0.25)  # a hit of velocity 0 still makes a groove step
    g = groove_input(p[None])[0]
    assert g.dtype == np.float32 and g.shape == (32, 27)
    assert (g[0, 2], g[0, 11], g[0, 20]) == (1.0, np.float32(0.9), np.float32(-0.2))
    assert (g[3, 2], g[3, 11], g[3, 20]) == (1.0, np.float32(0.7), np.float32(0.3))
    assert (g[5, 2], g[5, 11], g[5, 20]) == (1.0, 0.0, np.float32(0.25))
    others = np.delete(g, [2, 11, 20], axis=1)
    assert not others.any()
    assert not np.delete(g, [0, 3, 5], axis=0).any()  # steps without hits are all zeros


def test_density_value_and_input():
    assert density_value(1) == 0.0 and density_value(75) == 1.0
    assert density_value(149) == 2.0  # not clipped
    counts = np.arange(1, 200)
    want = ((counts / 288 - 1 / 288) / (75 / 288 - 1 / 288)).astype(np.float32)
    assert np.array_equal(density_value(counts), want)
    g = groove_input(np.random.default_rng(0).random((3, 32, 27)).astype(np.float32))
    x = density_input(g, np.array([0.0, 0.5, 1.0], np.float32))
    assert x.shape == (3, 32, 28) and x.dtype == np.float32
    assert np.array_equal(x[..., :27], g)
    assert np.array_equal(x[:, :, 27], np.repeat([[0.0], [0.5], [1.0]], 32, axis=1))
    assert density_input(g[0], 0.25).shape == (32, 28)


# ---------------------------------------------------------------------------- (b) synthetic layouts

SMALL = {
    "mgt": GrooveTransformerConfig(d_model=12, nhead=3, dim_feedforward=8, num_encoder_layers=2),
    "density_vae": DensityVAEConfig(
        d_model_enc=8, d_model_dec=12, nhead_enc=2, nhead_dec=3, dim_feedforward_enc=8,
        dim_feedforward_dec=16, num_encoder_layers=2, num_decoder_layers=3, latent_dim=6,
    ),
}  # fmt: skip


def synthetic(kind: str, seed: int = 0, **changes) -> tuple[dict, dict, nn.Module]:
    """(state_dict, params, model) of a small random model of a course layout."""
    torch.manual_seed(seed)
    config = replace(SMALL[kind], **changes)
    model = (GrooveTransformer if kind == "mgt" else DensityVAE)(config).eval()
    return dict(model.state_dict()), params_from_config(config), model


@pytest.mark.parametrize("kind", ["mgt", "density_vae"])
def test_synthetic_recognised_and_loaded_strictly(kind):
    sd, params, original = synthetic(kind)
    assert recognise(sd, params) == kind
    assert config_from_params(params, sd) == SMALL[kind]
    got_kind, config, model = from_state_dict(sd, params)
    assert got_kind == kind and config == SMALL[kind] and not model.training
    assert "InputLayerEncoder.PositionalEncoding.pe" in dict(model.named_buffers())
    width = 27 if kind == "mgt" else 28
    x = torch.from_numpy(groove_input(np.random.default_rng(1).random((4, 32, 27)) > 0.7))
    x = x if kind == "mgt" else torch.from_numpy(density_input(x.numpy(), 0.3))
    assert x.shape == (4, 32, width)
    with torch.no_grad():
        for a, b in zip(original(x), model(x), strict=True):
            assert torch.equal(a, b)
        _, vel, off = model(x)
    assert vel.shape == off.shape == (4, 32, 9)
    assert vel.min() >= 0 and vel.max() <= 1 and off.min() >= -0.5 and off.max() <= 0.5


@pytest.mark.parametrize("o_activation", ["sigmoid", "tanh"])
def test_vae_offset_activation(o_activation):
    _, _, model = synthetic("density_vae", o_activation=o_activation)
    z = torch.randn(2, 6)
    with torch.no_grad():
        raw = model.Decoder(z)
        logits, vel, off = model.decode(z)
    want = (
        torch.sigmoid(raw[..., 18:]) - 0.5
        if o_activation == "sigmoid"
        else 0.5 * torch.tanh(raw[..., 18:])
    )
    assert torch.allclose(off, want) and torch.equal(logits, raw[..., :9])
    assert torch.allclose(vel, torch.sigmoid(raw[..., 9:18]))


def test_mgt_offsets_are_half_tanh():
    _, _, model = synthetic("mgt")
    x = torch.rand(2, 32, 27)
    with torch.no_grad():
        raw = model.OutputLayer(model.Encoder(model.InputLayerEncoder(x)))
        _, _, off = model(x)
    assert torch.allclose(off, 0.5 * torch.tanh(raw[..., 18:]))


def _rename(sd: dict, old: str, new: str) -> dict:
    return {(new if k == old else k): v for k, v in sd.items()}


def _cases():
    """(id, kind, how to spoil (sd, params), words the reason must contain)."""
    L0 = "Encoder.Encoder.layers.0."
    return [
        ("renamed-layer-key", "mgt",
         lambda sd, p: (_rename(sd, L0 + "norm1.weight", L0 + "norm_1.weight"), p), "missing weight"),
        ("renamed-output-key", "mgt",
         lambda sd, p: (_rename(sd, "OutputLayer.Linear.weight", "OutputLayer.Dense.weight"), p),
         "another layout"),
        ("renamed-vae-key", "density_vae",
         lambda sd, p: (_rename(sd, "LatentEncoder.fc_var.bias", "LatentEncoder.fc_logvar.bias"), p),
         "missing weight"),
        ("extra-key", "mgt",
         lambda sd, p: ({**sd, "OutputLayer.extra": torch.zeros(3)}, p), "unexpected weight"),
        ("wrong-shape", "mgt",
         lambda sd, p: ({**sd, L0 + "linear1.weight": torch.zeros(9, 12)}, p), "has shape"),
        ("wrong-shape-vae", "density_vae",
         lambda sd, p: ({**sd, "Decoder.OutputLayer.Linear.bias": torch.zeros(28)}, p), "has shape"),
        ("params-width-disagree", "mgt", lambda sd, p: (sd, {**p, "d_model": 24}), "params say"),
        ("params-layers-disagree", "density_vae",
         lambda sd, p: (sd, {**p, "num_decoder_layers": 4}), "3 layers"),
        ("missing-param", "mgt",
         lambda sd, p: (sd, {k: v for k, v in p.items() if k != "nhead"}), "lack 'nhead'"),
        ("missing-vae-param", "density_vae",
         lambda sd, p: (sd, {k: v for k, v in p.items() if k != "latent_dim"}), "lack 'latent_dim'"),
        ("no-params", "mgt", lambda sd, p: (sd, {}), "names no known architecture"),
        ("params-of-other-family", "mgt",
         lambda sd, p: (sd, params_from_config(SMALL["density_vae"])), "describe a density_vae"),
        ("bad-o-activation", "density_vae",
         lambda sd, p: (sd, {**p, "o_activation": "relu"}), "o_activation"),
        ("density1d-variant", "density_vae",
         lambda sd, p: (sd, {**p, "n_params": 2, "add_params": True}), "Density2D"),
        ("27-feature-vae-input", "density_vae",
         lambda sd, p: ({**sd, "InputLayerEncoder.Linear.weight": torch.zeros(8, 27)}, p),
         "28 (groove + density)"),
        ("heads-do-not-divide", "mgt", lambda sd, p: (sd, {**p, "nhead": 5}), "do not divide"),
        ("not-a-tensor", "mgt",
         lambda sd, p: ({**sd, "OutputLayer.Linear.bias": [0.0] * 27}, p), "not a tensor"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "spoil", "words"), [c[1:] for c in _cases()], ids=[c[0] for c in _cases()]
)
def test_other_layouts_refused(kind, spoil, words):
    sd, params = spoil(*synthetic(kind)[:2])
    with pytest.raises(ModelLayoutError) as e:
        from_state_dict(sd, params)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert e.value.exit_code == ExitCode.BAD_MODEL


def test_model_traces_and_freezes():
    """The engine freezes models with torch.jit.trace at batch 1; the graph must match the model
    at batch 1 and at a larger batch (the VAE reshapes with -1, not a traced batch size)."""
    _, _, mgt = synthetic("mgt")
    _, _, vae = synthetic("density_vae")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = [
            (mgt, "forward", torch.rand(1, 32, 27), torch.rand(5, 32, 27)),
            (vae, "encode", torch.rand(1, 32, 28), torch.rand(5, 32, 28)),
            (vae, "decode", torch.randn(1, 6), torch.randn(5, 6)),
        ]
        for model, method, example, batch in cases:
            traced = torch.jit.trace_module(model, {method: (example,)}, check_trace=False)
            frozen = torch.jit.freeze(traced, preserved_attrs=[method])
            for x in (example, batch):
                for a, b in zip(getattr(model, method)(x), getattr(frozen, method)(x), strict=True):
                    assert torch.allclose(a, b, atol=1e-6), method


# ---------------------------------------------------------------------------- (c) the file reader


class TinyModule(nn.Module):
    """Stands in for the course's older `.model` files: a whole pickled nn.Module."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)


class MakesMarker:
    """Unpickling this calls os.mkdir(marker): it shows whether loading runs code from the file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _save_synthetic(path: Path, kind: str = "mgt") -> Path:
    sd, params, _ = synthetic(kind)
    torch.save({"model_state_dict": sd, "params": params, "additional_info": None}, path)
    return path


@pytest.mark.parametrize("kind", ["mgt", "density_vae"])
def test_reads_synthetic_file(tmp_path, kind):
    got_kind, config, model = read_gt_checkpoint(_save_synthetic(tmp_path / "m.pth", kind))
    assert got_kind == kind and config == SMALL[kind] and not model.training


def test_full_pickle_refused(tmp_path):
    path = tmp_path / "old.model"
    torch.save(TinyModule(), path)
    with pytest.raises(UnsafeModelError) as e:
        read_gt_checkpoint(path)
    msg = str(e.value)
    assert str(path) in msg and "full pickle" in msg and "TinyModule" in msg and "\n" not in msg
    assert e.value.exit_code == ExitCode.MODEL_UNSAFE


def test_nothing_runs_from_the_file(tmp_path):
    marker, control = tmp_path / "ran", tmp_path / "ran-control"
    path = tmp_path / "evil.pth"
    torch.save({"model_state_dict": {"x": MakesMarker(marker)}, "params": {}}, path)
    with pytest.raises(UnsafeModelError):
        read_gt_checkpoint(path)
    assert not marker.exists()
    # control: the payload is live, an unsafe load would have run it
    torch.save({"model_state_dict": {"x": MakesMarker(control)}}, tmp_path / "control.pth")
    torch.load(tmp_path / "control.pth", weights_only=False)
    assert control.is_dir()


@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.0])
def test_truncated_file_refused(tmp_path, fraction):
    whole = _save_synthetic(tmp_path / "whole.pth", "density_vae").read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(whole[: int(len(whole) * fraction)])
    with pytest.raises(ModelCorruptError) as e:
        read_gt_checkpoint(path)
    msg = str(e.value)
    assert str(path) in msg and "truncated or corrupt" in msg and "\n" not in msg
    assert e.value.exit_code == ExitCode.MODEL_CORRUPT


@needs_shared
def test_truncated_real_file_refused(tmp_path):
    whole = (SHARED / "summer_13_ep290.pth").read_bytes()
    path = tmp_path / "cut.pth"  # in tmp: the course file is never copied into the repository
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ModelCorruptError):
        read_gt_checkpoint(path)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ({"state_dict": {}, "config": {}}, "no 'model_state_dict' or 'params'"),
        ({"model_state_dict": {}}, "no 'params'"),
        ([1, 2, 3], "holds a list"),
        ({"format": "pdbridge-checkpoint", "state_dict": {}}, "a pdbridge checkpoint"),
        ({"model_state_dict": {"fc.weight": torch.zeros(2, 2)}, "params": {"d_model": 2}},
         "another layout"),
    ],
    ids=["other-keys", "no-params", "not-a-dict", "pdbridge-checkpoint", "other-weights"],
)  # fmt: skip
def test_other_layout_file_refused(tmp_path, content, words):
    path = tmp_path / "other.pth"
    torch.save(content, path)
    with pytest.raises(ModelLayoutError) as e:
        read_gt_checkpoint(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and words in msg and "\n" not in msg


def test_wrong_shape_file_refused(tmp_path):
    sd, params, _ = synthetic("mgt")
    sd["Encoder.Encoder.layers.1.linear2.weight"] = torch.zeros(12, 9)
    path = tmp_path / "shape.pth"
    torch.save({"model_state_dict": sd, "params": params, "additional_info": None}, path)
    with pytest.raises(ModelLayoutError, match=r"linear2.weight' has shape \(12, 9\)"):
        read_gt_checkpoint(path)


def test_missing_file_refused(tmp_path):
    with pytest.raises(ModelMissingError):
        read_gt_checkpoint(tmp_path / "nope.pth")


def test_refusals_have_distinct_exit_codes():
    codes = [UnsafeModelError.exit_code, ModelCorruptError.exit_code, ModelLayoutError.exit_code]
    assert len(set(codes)) == 3 and ExitCode.OK not in codes and ExitCode.ERROR not in codes
