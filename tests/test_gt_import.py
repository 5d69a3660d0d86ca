"""Issue 14: the course's Groove Transformer files served like our models.

import (`pdbridge import`, `checkpoint.load` of a .pth) -> pdbridge checkpoint with its card ->
engine (the direct runner, frozen; the density VAE's busyness and latent verbs) -> protocol
(/drumifier, /busyness, /models kinds, /model). Synthetic state dicts of the course layouts
cover everything without the course files; the real files (../shared, never copied into the
repository) are imported and checked against fixtures.npz through the engine's own path.
"""

from __future__ import annotations

import hashlib
import os
import subprocess

import numpy as np
import pytest
import torch
from test_groove_transformer import SHARED, SMALL, needs_shared, synthetic
from tiny_models import make_tiny_models

from pdbridge.cli import main
from pdbridge.core.errors import BadInputError, ExitCode, ModelError
from pdbridge.inference import checkpoint
from pdbridge.inference.engine import Controls, Engine
from pdbridge.inference.gt_import import import_course_checkpoint, import_file
from pdbridge.models.groove_transformer import count_hits, density_value, groove_input
from pdbridge.serve.osc_codec import decode, encode
from pdbridge.serve.protocol import Protocol

torch.set_num_threads(1)
COURSE = ("colorful_sweep_41", "solar_shadow_247", "cool_25_ep200", "summer_13_ep290")
TOL = 1e-4


def course_file(path, kind: str, seed: int = 0):
    """A course-layout checkpoint file of a small random model (as `torch.save` in the course)."""
    sd, params, model = synthetic(kind, seed)
    torch.save({"model_state_dict": sd, "params": params, "additional_info": None}, path)
    return path, model


def a_beat(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hits = (rng.random((32, 9)) < 0.25).astype(np.float32)
    vel = hits * rng.uniform(0.2, 1.0, (32, 9)).astype(np.float32)
    off = hits * rng.uniform(-0.4, 0.4, (32, 9)).astype(np.float32)
    return np.concatenate([hits, vel, off], axis=1)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """{"mgt": Checkpoint, "vae": Checkpoint, ...} imported from synthetic course files, and our
    tiny models (a drumify VAE among them) in the same folder."""
    d = tmp_path_factory.mktemp("gt")
    mgt_src, mgt_model = course_file(d / "course_mgt.pth", "mgt", seed=1)
    vae_src, vae_model = course_file(d / "course_vae.pth", "density_vae", seed=2)
    out = {
        "mgt": import_file(mgt_src, d / "mgt.pt"),
        "vae": import_file(vae_src, d / "dvae.pt"),
        "mgt_model": mgt_model,
        "vae_model": vae_model,
        "mgt_src": mgt_src,
        "tiny": [str(p) for p in make_tiny_models(d / "tiny")],
        "dir": d,
    }
    return out


# ---------------------------------------------------------------------------- import + checkpoint


def test_import_writes_a_checkpoint_with_its_card(imported):
    mgt, vae = imported["mgt"], imported["vae"]
    assert (mgt.model_name, mgt.kind, mgt.task, mgt.z_dim) == (
        "groove_transformer", "direct", "groove_drumify", 0,
    )  # fmt: skip
    assert (vae.model_name, vae.kind, vae.task, vae.z_dim) == (
        "density_vae", "vae", "density_drumify", SMALL["density_vae"].latent_dim,
    )  # fmt: skip
    assert mgt.config == SMALL["mgt"] and vae.config == SMALL["density_vae"]
    card = mgt.extras["card"]
    src = imported["mgt_src"]
    assert card["source"] == {
        "file": src.name,
        "sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "bytes": src.stat().st_size,
    }
    assert card["task"] == "groove_drumify" and "Monotonic Groove Transformer" in card["architecture"]
    assert "closed hi-hat" in card["input"] and "28th feature" in vae.extras["card"]["input"]
    # the weights are the course model's, loaded strictly into our rebuild
    x = torch.from_numpy(groove_input(a_beat()[None]))
    with torch.no_grad():
        for got, want in zip(mgt.model(x), imported["mgt_model"](x), strict=True):
            assert torch.equal(got, want)


def test_a_pth_loads_directly_as_a_checkpoint(imported):
    ckpt = checkpoint.load(imported["mgt_src"])  # `pdbridge serve --model FILE.pth`
    assert (ckpt.name, ckpt.task) == ("course_mgt", "groove_drumify")
    assert ckpt.extras["card"]["source"]["file"] == "course_mgt.pth"
    data = import_course_checkpoint(imported["mgt_src"])
    assert data["format"] == checkpoint.FORMAT and data["model"] == "groove_transformer"


# ---------------------------------------------------------------------------- CLI and refusals


def test_import_command(imported, tmp_path, capsys):
    out = tmp_path / "sub" / "mine.pt"
    assert main(["import", str(imported["mgt_src"]), "--out", str(out)]) == ExitCode.OK
    assert "groove_transformer, kind direct, task groove_drumify" in capsys.readouterr().out
    assert checkpoint.load(out).task == "groove_drumify"
    assert main(["import", str(imported["mgt_src"]), "--out", str(tmp_path / "x.pth")]) == (
        ExitCode.USAGE
    )


class _MakesADir:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


class OldModel(torch.nn.Module):  # the course's older .model files: pickled modules
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)


def refusal(tmp_path, capsys, path) -> tuple[int, str]:
    out = tmp_path / "out.pt"
    code = main(["import", str(path), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert not out.exists()  # nothing written
    return code, err


def test_the_three_refusals_have_distinct_exit_codes_and_one_line(tmp_path, capsys):
    full = tmp_path / "old.model"
    torch.save(OldModel(), full)
    marker = tmp_path / "made-by-the-pickle"
    evil = tmp_path / "evil.pth"
    torch.save({"model_state_dict": {"x": _MakesADir(marker)}, "params": {}}, evil)
    whole, _ = course_file(tmp_path / "whole.pth", "density_vae")
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    other = tmp_path / "other.pth"
    torch.save({"model_state_dict": {"fc.weight": torch.zeros(2, 2)}, "params": {"d_model": 2}}, other)

    got = {name: refusal(tmp_path, capsys, p) for name, p in
           {"full": full, "evil": evil, "cut": cut, "other": other}.items()}  # fmt: skip
    assert got["full"][0] == got["evil"][0] == ExitCode.MODEL_UNSAFE == 8
    assert got["cut"][0] == ExitCode.MODEL_CORRUPT == 6
    assert got["other"][0] == ExitCode.BAD_MODEL == 4
    for _code, err in got.values():
        assert err.startswith("pdbridge import: error: ") and "\n" not in err
    assert "full pickle" in got["full"][1] and "OldModel" in got["full"][1]
    assert "posix.mkdir" in got["evil"][1]
    assert "truncated or corrupt" in got["cut"][1]
    assert "another layout" in got["other"][1]
    assert not marker.exists()  # nothing ran from the file
    # the same files given to the server or eval as --model: the same refusals
    for path, code in ((full, 8), (evil, 8), (cut, 6), (other, 4)):
        with pytest.raises(ModelError) as e:
            checkpoint.load(path)
        assert e.value.exit_code == code and "\n" not in str(e.value)
    assert not marker.exists()


# ---------------------------------------------------------------------------- engine


def test_direct_runner_draws_hits_like_our_models(imported):
    mgt = imported["mgt"]
    engine = Engine([mgt])
    assert isinstance(engine._direct_fns[mgt.name], torch.jit.ScriptModule)  # frozen
    beat = a_beat(3)
    with torch.no_grad():
        logits, vel, off = (o[0].numpy() for o in imported["mgt_model"](
            torch.from_numpy(groove_input(beat)[None])))  # fmt: skip
    out = engine.drumify(beat, Controls(temperature=0))
    hits = (logits > 0).astype(np.float32)
    assert np.array_equal(out[:, :9], hits)
    assert np.allclose(out[:, 9:18], vel * hits, atol=1e-5)
    assert np.allclose(out[:, 18:], off * hits, atol=1e-5)
    # thresholds, per-voice density, temperature and seed as for our models
    assert engine.drumify(beat, Controls(temperature=0, thresholds=1.0))[:, :9].sum() == 0
    assert engine.drumify(beat, Controls(temperature=0, thresholds=0.0))[:, :9].sum() == 32 * 9
    a = engine.drumify(beat, Controls(temperature=1, seed=5))
    assert np.array_equal(a, engine.drumify(beat, Controls(temperature=1, seed=5)))
    assert not np.array_equal(a, engine.drumify(beat, Controls(temperature=1, seed=6)))
    # the unfrozen runner answers alike
    plain = Engine([mgt], freeze=False)
    assert np.array_equal(plain.drumify(beat, Controls(temperature=0)), out)
    with pytest.raises(BadInputError, match="does groove_drumify, not vae"):
        engine.sample(Controls(model=mgt.name))


def test_density_vae_busyness_and_latent_verbs(imported):
    vae = imported["vae"]
    engine = Engine([vae])
    beat = a_beat(4)
    model = imported["vae_model"]
    own = density_value(count_hits(beat))

    def expected(density: float) -> np.ndarray:
        x = np.concatenate([groove_input(beat), np.full((32, 1), density, np.float32)], axis=1)
        with torch.no_grad():
            logits = model.decode(model.encode(torch.from_numpy(x[None]))[0])[0][0].numpy()
        return (logits > 0).astype(np.float32)

    c0 = Controls(temperature=0)
    assert np.array_equal(engine.drumify(beat, c0)[:, :9], expected(own))  # the input's own
    for b in (0.0, 1.0):
        got = engine.drumify(beat, Controls(temperature=0, busyness=b))[:, :9]
        assert np.array_equal(got, expected(b))
    with pytest.raises(BadInputError, match="busyness"):
        Controls(busyness=1.5)
    # encode: the groove with the pattern's own density; decode, sample, interpolate
    named = Controls(temperature=0, model=vae.name)
    z = engine.encode(beat, named)
    x = np.concatenate([groove_input(beat), np.full((32, 1), own, np.float32)], axis=1)
    with torch.no_grad():
        assert np.allclose(z, model.encode(torch.from_numpy(x[None]))[0][0].numpy(), atol=1e-5)
    assert engine.decode(z, named).shape == (32, 27)
    assert engine.sample(named).shape == (32, 27)
    assert engine.interpolate(beat, a_beat(5), 0.5, named).shape == (z.size,)


def test_choosing_the_drumify_model(imported):
    engine = Engine.load([*imported["tiny"], imported["mgt"].path, imported["vae"].path])
    beat = a_beat(6)
    c = Controls(temperature=0)
    ours = engine.drumify(beat, c)  # ours answers unless a client chooses another
    assert np.array_equal(ours, engine.drumify(beat, Controls(temperature=0,
                          task_models={"drumify": "tiny_drumify"})))  # fmt: skip
    mgt = engine.drumify(beat, Controls(temperature=0, task_models={"drumify": "mgt"}))
    alone = Engine([checkpoint.load(imported["mgt"].path)]).drumify(beat, c)
    assert np.array_equal(mgt, alone)
    with pytest.raises(BadInputError, match="does humanize, not drumify"):
        engine.drumify(beat, Controls(task_models={"drumify": "tiny_humanize"}))
    only_course = Engine([checkpoint.load(imported["mgt"].path)])
    assert np.array_equal(only_course.drumify(beat, c), alone)  # the only one answers
    infos = {m.name: m for m in engine.models()}
    assert (infos["mgt"].kind, infos["mgt"].job, infos["mgt"].latent) == ("direct", "drumify", False)
    assert (infos["dvae"].kind, infos["dvae"].job, infos["dvae"].latent) == ("vae", "drumify", True)


# ---------------------------------------------------------------------------- protocol


def ask(protocol, address, *args, client="c1"):
    return decode(protocol.handle(client, decode(encode(address, *args))))


def test_protocol_drumifier_busyness_models(imported):
    engine = Engine.load([*imported["tiny"], imported["mgt"].path, imported["vae"].path])
    p = Protocol(engine, Controls)
    beat = a_beat(7)
    assert ask(p, "/drumifier").args == ["drumifier", "tiny_drumify"]
    assert ask(p, "/drumifier", "mgt").args == ["drumifier", "mgt"]
    assert ask(p, "/temperature", 0.0).args == ["temperature", 0.0]
    got = ask(p, "/drumify", *beat.ravel())
    want = Engine([checkpoint.load(imported["mgt"].path)]).drumify(beat, Controls(temperature=0))
    assert np.array_equal(got.floats(1).reshape(32, 27), want)
    assert ask(p, "/drumify", *beat.ravel(), client="c2").floats(1).reshape(32, 27) is not None
    assert ask(p, "/drumifier", client="c2").args == ["drumifier", "tiny_drumify"]  # per client
    assert ask(p, "/drumifier", "next").args == ["drumifier", "dvae"]
    assert ask(p, "/drumifier", "next").args == ["drumifier", "tiny_drumify"]
    assert ask(p, "/drumifier", "default").args == ["drumifier", "tiny_drumify"]
    err = ask(p, "/drumifier", "tiny_humanize")
    assert err.address == "/error" and "does not drumify" in err.args[1]
    assert ask(p, "/drumifier", "nope").address == "/error"
    # /busyness: a density model's hits (not the per-voice /density)
    assert ask(p, "/drumifier", "dvae").args == ["drumifier", "dvae"]
    assert ask(p, "/busyness", 1.0).args == ["busyness", 1.0]
    busy = ask(p, "/drumify", *beat.ravel()).floats(1).reshape(32, 27)
    dvae = Engine([checkpoint.load(imported["vae"].path)])
    assert np.array_equal(busy, dvae.drumify(beat, Controls(temperature=0, busyness=1.0)))
    assert ask(p, "/busyness", -1.0).args == ["busyness", -1.0]
    own = ask(p, "/drumify", *beat.ravel()).floats(1).reshape(32, 27)
    assert np.array_equal(own, dvae.drumify(beat, Controls(temperature=0)))
    assert ask(p, "/busyness", 2.0).address == "/error"
    assert ask(p, "/busyness", -0.5).address == "/error"
    # /models kinds: name, kind and task of each; /models as before
    names = ask(p, "/models").args
    assert names[0] == 8 and names[-2:] == ["mgt", "dvae"]
    kinds = ask(p, "/models", "kinds").args
    assert kinds[0] == 8 and kinds[-6:] == ["mgt", "direct", "groove_drumify",
                                            "dvae", "vae", "density_drumify"]  # fmt: skip
    # the density VAE's latent verbs; the direct model has none
    z_dim = SMALL["density_vae"].latent_dim
    assert ask(p, "/model", "dvae").args == ["dvae", "density_drumify", z_dim, 32]
    assert ask(p, "/encode", *beat.ravel()).args[0] == z_dim
    assert ask(p, "/sample").address == "/pattern"
    assert ask(p, "/model", "mgt").address == "/error"


# ---------------------------------------------------------------------------- the real files


@pytest.fixture(scope="module")
def fixtures():
    with np.load(SHARED / "fixtures.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@needs_shared
@pytest.mark.parametrize("name", COURSE)
def test_real_checkpoint_imports_and_reproduces_fixtures_through_the_engine(
    name, fixtures, tmp_path
):
    ckpt = import_file(SHARED / f"{name}.pth", tmp_path / f"{name}.pt")  # tmp: never the repo
    want = {k.split("/", 1)[1]: v for k, v in fixtures.items() if k.startswith(name + "/")}
    patterns = fixtures["validation/pattern"]
    engine = Engine([ckpt])  # frozen, as served
    c = Controls(temperature=0)
    diffs = {}
    for i, pattern in enumerate(patterns):
        out = engine.drumify(pattern, c)  # the served path: input transform, model, hit drawing
        hits = want["hits"][i].astype(np.float32)
        assert np.array_equal(out[:, :9], hits), (name, i)
        diffs[i] = max(
            np.abs(out[:, 9:18] - want["velocities"][i] * hits).max(),
            np.abs(out[:, 18:] - want["offsets"][i] * hits).max(),
        )
        if ckpt.kind == "vae":
            named = Controls(temperature=0, model=ckpt.name)
            mu = engine.encode(pattern, named)
            diffs[f"mu{i}"] = np.abs(mu - want["mu"][i]).max()
            sampled = engine.decode(want["z_sampled"][i], named)
            assert np.array_equal(sampled[:, :9], want["hits_z_sampled"][i]), (name, i)
    print(name, f"max diff {max(diffs.values()):.2e}")
    assert max(diffs.values()) <= TOL
    assert ckpt.extras["card"]["source"]["sha256"] == hashlib.sha256(
        (SHARED / f"{name}.pth").read_bytes()
    ).hexdigest()


def test_no_course_weights_in_the_repository():
    """The course files have no license: neither they nor an import of them is shipped."""
    repo = checkpoint.models_dir().parent
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=False
    ).stdout.split()
    assert not [f for f in tracked if f.endswith((".pth", ".npz"))]
    for p in checkpoint.models_dir().glob("*.pt"):
        data = torch.load(p, map_location="cpu", weights_only=True)
        assert data.get("model") not in ("groove_transformer", "density_vae"), p


def test_the_course_architectures_are_imported_not_trained():
    from pdbridge.models import registry
    from pdbridge.train.trainer import TrainConfig, train

    assert not registry.spec("groove_transformer").trainable
    x = np.zeros((4, 32, 27), np.float32)
    with pytest.raises(BadInputError, match="not trained here: import"):
        train(TrainConfig(model="groove_transformer"), x, x, out="unused")
