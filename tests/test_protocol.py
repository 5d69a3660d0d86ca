"""The protocol layer with the real Engine over tiny random-weight checkpoints (no sockets)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import STYLES, Z_DIM, make_tiny_models

from pdbridge import __version__
from pdbridge.inference.engine import Controls, Engine
from pdbridge.serve.osc_codec import decode, encode
from pdbridge.serve.protocol import BATCHED, LATEST_WINS, PROTOCOL_VERSION, Protocol

torch.set_num_threads(1)
PATTERN_FLOATS = 27 * 32


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return Engine.load([str(p) for p in make_tiny_models(tmp_path_factory.mktemp("models"))])


@pytest.fixture(scope="module")
def vae_only(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vae_only")
    return Engine.load([str(p) for p in make_tiny_models(folder, tasks=False)])


@pytest.fixture
def protocol(engine):
    return Protocol(engine, Controls)


def ask(protocol, address, *args, client="c1"):
    return decode(protocol.handle(client, decode(encode(address, *args))))


def pattern_of(reply):
    assert reply.address == "/pattern", reply.args
    assert reply.args[0] == len(reply.args[1:]) // 27
    return reply.floats(1).reshape(-1, 27)


def error_of(reply, request):
    assert reply.address == "/error"
    assert reply.args[0] == request
    return reply.args[1]


def a_beat(seed=0):
    rng = np.random.default_rng(seed)
    a = np.zeros((32, 27), np.float32)
    hits = rng.random((32, 9)) < 0.3
    a[:, :9] = hits
    a[:, 9:18] = hits * rng.uniform(0.2, 1.0, (32, 9))
    a[:, 18:] = hits * rng.uniform(-0.4, 0.4, (32, 9))
    return a


def test_ping(protocol):
    reply = ask(protocol, "/ping")
    assert (reply.address, reply.args) == ("/pong", [PROTOCOL_VERSION, __version__])
    assert reply.tags == "is"


def test_sample_is_a_clean_pattern_and_seeds_repeat(protocol):
    beat = pattern_of(ask(protocol, "/sample", 0.8, 42.0))
    assert beat.shape == (32, 27)
    assert set(np.unique(beat[:, :9])) <= {0.0, 1.0}
    assert np.all(beat[:, 9:18][beat[:, :9] == 0] == 0)
    assert np.array_equal(beat, pattern_of(ask(protocol, "/sample", 0.8, 42.0)))
    assert not np.array_equal(beat, pattern_of(ask(protocol, "/sample", 0.8, 43.0)))
    # ints are accepted as well as Pd's floats
    assert np.array_equal(beat, pattern_of(ask(protocol, "/sample", 0.8, 42)))


def test_sample_follows_client_settings(protocol):
    assert ask(protocol, "/seed", 7.0).args == ["seed", 7]
    first = pattern_of(ask(protocol, "/sample"))
    assert np.array_equal(first, pattern_of(ask(protocol, "/sample")))
    assert ask(protocol, "/threshold", 1.0).args == ["threshold", 1.0]
    assert pattern_of(ask(protocol, "/sample"))[:, :9].sum() == 0
    assert ask(protocol, "/density", 1.0).args == ["density", 1.0]
    assert pattern_of(ask(protocol, "/sample"))[:, :9].sum() == 32 * 9
    # one voice: kick never, the others never too (threshold 1 all, then density kick 1)
    ask(protocol, "/threshold", 1.0)
    assert ask(protocol, "/density", "kick", 1.0).args == ["density", 0, 1.0]
    hits = pattern_of(ask(protocol, "/sample"))[:, :9]
    assert hits[:, 0].sum() == 32 and hits[:, 1:].sum() == 0
    assert ask(protocol, "/threshold", 0.0, 0.0).args == ["threshold", 0, 0.0]
    assert ask(protocol, "/reset").args == ["reset"]
    assert pattern_of(ask(protocol, "/sample", 1.0, 7.0))[:, 1:9].sum() > 0


def test_settings_belong_to_each_client(protocol):
    ask(protocol, "/threshold", 1.0, client="quiet")
    assert pattern_of(ask(protocol, "/sample", client="quiet"))[:, :9].sum() == 0
    assert pattern_of(ask(protocol, "/sample", client="loud"))[:, :9].sum() > 0


def test_encode_decode_round_trip(protocol, engine):
    beat = a_beat()
    reply = ask(protocol, "/encode", beat.ravel())
    assert reply.address == "/z" and reply.args[0] == Z_DIM
    z = reply.floats(1)
    assert np.allclose(z, engine.encode(beat), atol=1e-6)
    ask(protocol, "/temperature", 0.0)
    decoded = pattern_of(ask(protocol, "/decode", z))
    assert np.array_equal(decoded, engine.decode(z, Controls(temperature=0)))
    assert np.array_equal(decoded, pattern_of(ask(protocol, "/decode", z)))


def test_style_and_model_choice(protocol, engine):
    assert ask(protocol, "/styles").args == [2, *sorted(STYLES)]
    assert ask(protocol, "/style", "funk").args == ["style", "funk"]
    funk = pattern_of(ask(protocol, "/sample", 1.0, 3.0))
    expected = engine.sample(Controls(seed=3, style="funk", model="tiny"))
    assert np.array_equal(funk, expected)
    assert ask(protocol, "/style", "none").args == ["style", "none"]
    assert ask(protocol, "/models").args == [
        6,
        "tiny",
        "tiny2",
        "tiny_humanize",
        "tiny_drumify",
        "tiny_infill",
        "tiny_next",
    ]
    assert ask(protocol, "/model").args == ["tiny", "vae", Z_DIM, 32]
    assert ask(protocol, "/model", "tiny2").args == ["tiny2", "vae", Z_DIM, 32]
    assert ask(protocol, "/styles").args == [0]
    other = pattern_of(ask(protocol, "/sample", 1.0, 3.0))
    assert np.array_equal(other, engine.sample(Controls(seed=3, model="tiny2")))
    assert "unknown style funk" in error_of(ask(protocol, "/style", "funk"), "/style")
    assert "does humanize" in error_of(ask(protocol, "/model", "tiny_humanize"), "/model")
    assert "no model named nope" in error_of(ask(protocol, "/model", "nope"), "/model")


def test_store_and_interpolate(protocol, engine):
    a, b = a_beat(1), a_beat(2)
    ask(protocol, "/temperature", 0.0)
    assert "slot a is empty" in error_of(ask(protocol, "/interpolate", 0.5), "/interpolate")
    assert ask(protocol, "/store", "a", a.ravel()).args == ["store", "a"]
    assert ask(protocol, "/store", 1.0, b.ravel()).args == ["store", "b"]
    za, zb = engine.encode(a), engine.encode(b)
    controls = Controls(temperature=0)
    for t in (0.0, float(np.float32(0.3)), 1.0):  # what a float32 position holds
        got = pattern_of(ask(protocol, "/interpolate", t))
        want = engine.decode(engine.interpolate(za, zb, t), controls)
        assert np.array_equal(got, want)
    # a latent in a slot, and "the last pattern I received" in a slot
    assert ask(protocol, "/store", "a", zb).args == ["store", "a"]
    assert np.array_equal(
        pattern_of(ask(protocol, "/interpolate", 0.0)), engine.decode(zb, controls)
    )
    received = pattern_of(ask(protocol, "/sample", 1.0, 5.0))
    ask(protocol, "/store", "b")
    got = pattern_of(ask(protocol, "/interpolate", 1.0))
    assert np.array_equal(got, engine.decode(engine.encode(received), controls))
    # another model: stored patterns are re-encoded, a stored latent must be stored again
    ask(protocol, "/model", "tiny2")
    assert "holds a latent of model tiny" in error_of(
        ask(protocol, "/interpolate", 0.5), "/interpolate"
    )


def test_task_models(protocol, engine):
    stiff = a_beat(3)
    stiff[:, 18:] = 0
    human = pattern_of(ask(protocol, "/humanize", stiff.ravel()))
    assert np.array_equal(human[:, :9], stiff[:, :9])
    assert np.allclose(human, engine.humanize(stiff))
    ask(protocol, "/temperature", 0.0)
    kit = pattern_of(ask(protocol, "/drumify", stiff.ravel()))
    assert np.array_equal(kit, engine.drumify(stiff, Controls(temperature=0)))
    hats = pattern_of(ask(protocol, "/infill", stiff.ravel()))
    assert np.array_equal(hats, engine.infill(stiff, Controls(temperature=0)))
    more = pattern_of(ask(protocol, "/continue", stiff.ravel(), 3.0))
    assert more.shape == (48, 27)
    assert pattern_of(ask(protocol, "/continue", stiff[:16].ravel())).shape == (32, 27)


def test_task_requests_without_their_model(vae_only):
    protocol = Protocol(vae_only, Controls)
    beat = a_beat().ravel()
    assert "no humanize model" in error_of(ask(protocol, "/humanize", beat), "/humanize")
    assert "no drumify model" in error_of(ask(protocol, "/drumify", beat), "/drumify")
    assert "no infill model" in error_of(ask(protocol, "/infill", beat), "/infill")
    assert "no next_step model" in error_of(ask(protocol, "/continue", beat), "/continue")


BAD_REQUESTS = [
    # (address, args, words expected in the message)
    ("/nope", [], "unknown address"),
    ("/ping", [1.0], "no arguments"),
    ("/sample", [1.0, 2.0, 3.0], "got 3 arguments"),
    ("/sample", ["hot"], "should be a number"),
    ("/sample", [float("nan")], "NaN"),
    ("/sample", [float("inf")], "NaN or infinite"),
    ("/sample", [11.0], "out of range"),
    ("/sample", [1.0, 2.5], "whole number"),
    ("/sample", [1.0, -2.0], "out of range"),
    ("/encode", [np.zeros(100)], "expects 864 floats"),
    ("/encode", ["a", np.zeros(863)], "should be a number"),
    ("/decode", [np.zeros(Z_DIM - 1)], f"expects {Z_DIM} floats"),
    ("/decode", [np.full(Z_DIM, np.nan)], "NaN"),
    ("/store", [], "expects <slot>"),
    ("/store", ["e", np.zeros(Z_DIM)], "slot must be a, b, c or d"),
    ("/store", [4.0, np.zeros(Z_DIM)], "slot must be a, b, c or d"),
    ("/morph", [0.5], "expects <x 0..1> <y 0..1>"),
    ("/morph", [0.5, 1.5], "y 1.5 out of range"),
    ("/morph", [0.5, 0.5], "slot a is empty"),
    ("/store", ["a", np.zeros(5)], "got 5"),
    ("/interpolate", [], "expects <position"),
    ("/interpolate", [1.5], "out of range"),
    ("/humanize", [np.zeros(28)], "27 floats per step"),
    ("/humanize", [np.zeros(27 * 16)], "reads 32 steps"),
    ("/continue", [np.zeros(27 * 16), 0.0], "out of range"),
    ("/continue", [np.zeros(27 * 16), 1.5], "whole number"),
    ("/continue", [], "27 floats per step"),
    ("/temperature", [], "expects <temperature>"),
    ("/temperature", [-1.0], "out of range"),
    ("/seed", [0.5], "whole number"),
    ("/threshold", [9.0, 0.5], "out of range"),
    ("/threshold", ["cowbell", 0.5], "unknown voice cowbell"),
    ("/threshold", [1.0, 0.5, 0.5], "got 3 arguments"),
    ("/density", [1.2], "out of range"),
    ("/style", [1.0], "must be a name"),
    ("/style", ["disco"], "unknown style disco"),
    ("/styles", [1.0], "no arguments"),
    ("/models", ["x"], "no arguments"),
    ("/model", [1.0], "must be a name"),
    ("/reset", [1.0], "no arguments"),
]


@pytest.mark.parametrize("address, args, words", BAD_REQUESTS)
def test_every_bad_request_gets_an_error_naming_it(protocol, address, args, words):
    message = error_of(ask(protocol, address, *args), address)
    assert words in message
    assert "\n" not in message
    assert ask(protocol, "/ping").address == "/pong"  # and the protocol keeps answering


def test_an_engine_crash_becomes_an_error_reply(engine):
    class Broken:
        def models(self):
            return engine.models()

        def sample(self, controls):
            raise RuntimeError("boom")

    reply = ask(Protocol(Broken(), Controls), "/sample")
    assert "internal error: RuntimeError: boom" in error_of(reply, "/sample")



def test_morph_blends_four_corners(protocol, engine):
    """/morph x y: corners a (0,0), b (1,0), c (0,1), d (1,1); slerp along x, then along y."""
    beats = [a_beat(s) for s in (1, 2, 3, 4)]
    ask(protocol, "/temperature", 0.0)
    for slot, beat in zip("abc", beats, strict=False):
        ask(protocol, "/store", slot, beat.ravel())
    assert "slot d is empty" in error_of(ask(protocol, "/morph", 0.5, 0.5), "/morph")
    assert ask(protocol, "/store", 3.0, beats[3].ravel()).args == ["store", "d"]
    za, zb, zc, zd = (engine.encode(b) for b in beats)
    controls = Controls(temperature=0)
    for (x, y), corner in zip(((0, 0), (1, 0), (0, 1), (1, 1)), (za, zb, zc, zd), strict=True):
        got = pattern_of(ask(protocol, "/morph", float(x), float(y)))
        assert np.array_equal(got, engine.decode(corner, controls)), (x, y)
    x, y = float(np.float32(0.25)), float(np.float32(0.7))
    top, bottom = engine.interpolate(za, zb, x), engine.interpolate(zc, zd, x)
    want = engine.decode(engine.interpolate(top, bottom, y), controls)
    assert np.array_equal(pattern_of(ask(protocol, "/morph", x, y)), want)
    # a sweep's waiting /morph requests are batched and superseded like /interpolate
    assert "/morph" in LATEST_WINS and "/morph" in BATCHED
    replies = protocol.handle_many([("c1", decode(encode("/morph", x, y)))])
    assert np.array_equal(pattern_of(decode(replies[0])), want)

def test_client_states_are_bounded(engine):
    protocol = Protocol(engine, Controls, max_clients=3)
    ask(protocol, "/threshold", 1.0, client=0)
    for client in range(1, 5):
        ask(protocol, "/ping", client=client)
    # client 0 was forgotten: back to default settings
    assert pattern_of(ask(protocol, "/sample", client=0))[:, :9].sum() > 0


def test_every_address_is_documented(protocol):
    """docs/protocol.md is the contract: its request table lists exactly what the server serves."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text()
    section = doc.split("## Requests")[1].split("Details:")[0]
    documented = re.findall(r"^\| `(/[a-z]+)` \|", section, flags=re.M)
    assert sorted(documented) == sorted(protocol.addresses)
    assert f"version {PROTOCOL_VERSION}" in doc.splitlines()[0]


# -- /load and /export: files named by a request stay inside their folders


@pytest.fixture
def file_protocol(engine, tmp_path):
    """A protocol with /load (a fake loader that records paths) and /export folders."""
    (tmp_path / "models").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "models" / "mine.pt").write_bytes(b"x")
    (tmp_path / "outside" / "secret.pt").write_bytes(b"x")
    (tmp_path / "models" / "link.pt").symlink_to(tmp_path / "outside" / "secret.pt")
    loaded = []

    def load_model(current, path):
        if path.name == "broken.pt":
            from pdbridge.core.errors import ModelCorruptError

            raise ModelCorruptError(f"{path}: not a readable checkpoint")
        loaded.append(path)
        return current, "tiny2"  # the name of a model the engine has

    protocol = Protocol(
        engine,
        Controls,
        load_model=load_model,
        model_dirs=[tmp_path / "models"],
        export_dir=tmp_path / "exports",
    )
    return protocol, loaded, tmp_path


def test_load_reads_only_inside_the_models_folders(file_protocol):
    protocol, loaded, root = file_protocol
    assert ask(protocol, "/load", "mine").args == ["load", "tiny2", "vae"]
    assert loaded == [(root / "models" / "mine.pt").resolve()]
    assert ask(protocol, "/load", "mine.pt").args == ["load", "tiny2", "vae"]
    assert len(loaded) == 1  # the same unchanged file is not loaded twice
    for name in ["../outside/secret.pt", str(root / "outside" / "secret.pt"), "link.pt"]:
        assert "refused: outside the allowed folders" in error_of(
            ask(protocol, "/load", name), "/load"
        )
    assert "must end in .pt" in error_of(ask(protocol, "/load", "mine.txt"), "/load")
    assert "no such file" in error_of(ask(protocol, "/load", "nope"), "/load")
    assert "a symbol" in error_of(ask(protocol, "/load", 1.0), "/load")
    assert len(loaded) == 1


def test_a_bad_file_through_load_leaves_the_models_serving(file_protocol):
    protocol, _, root = file_protocol
    (root / "models" / "broken.pt").write_bytes(b"junk")
    before = protocol.engine
    assert "not a readable checkpoint" in error_of(ask(protocol, "/load", "broken"), "/load")
    assert protocol.engine is before
    assert ask(protocol, "/sample").address == "/pattern"


def test_load_and_export_are_off_without_folders(protocol):
    assert "off on this server" in error_of(ask(protocol, "/load", "mine"), "/load")
    ask(protocol, "/sample")
    assert "off on this server" in error_of(ask(protocol, "/export", "a.mid"), "/export")


def test_export_writes_the_last_pattern_as_midi_inside_the_export_folder(file_protocol):
    from pdbridge.core.midi import read_midi

    protocol, _, root = file_protocol
    assert "no pattern to export" in error_of(ask(protocol, "/export", "a.mid"), "/export")
    beat = pattern_of(ask(protocol, "/sample", 0.0, 3.0))
    assert ask(protocol, "/export", "takes/a.mid", 100.0).args == ["export", "takes/a.mid"]
    written = read_midi(root / "exports" / "takes" / "a.mid", bars=2)
    assert np.array_equal(written.pattern.hits, beat[:, :9])
    assert written.pattern.bpm == pytest.approx(100.0)
    (root / "exports" / "out").symlink_to(root / "outside", target_is_directory=True)
    for name in ["../outside/x.mid", str(root / "outside" / "x.mid"), "out/x.mid"]:
        reply = ask(protocol, "/export", name)
        assert "refused: outside the allowed folders" in error_of(reply, "/export")
    assert sorted(p.name for p in (root / "outside").iterdir()) == ["secret.pt"]
    assert "must end in .mid" in error_of(ask(protocol, "/export", "a.wav"), "/export")
    assert "bpm 1000 out of range" in error_of(ask(protocol, "/export", "a.mid", 1000.0), "/export")


def test_handle_many_answers_as_handle_does(engine):
    """Several clients' requests at once (the server's batches): the decodes share a model call,
    the rest is handled as usual, and every reply is the one `handle` gives, errors included."""
    rng = np.random.default_rng(3)
    z = [rng.standard_normal(Z_DIM).astype(np.float32) for _ in range(3)]

    def setup():
        p = Protocol(engine, Controls)
        for client in ("c1", "c5", "c6"):
            ask(p, "/temperature", 0.0, client=client)
        ask(p, "/seed", 11.0, client="c6")
        ask(p, "/temperature", 1.0, client="c6")
        ask(p, "/model", "tiny2", client="c1")
        ask(p, "/store", "a", z[1], client="c5")
        ask(p, "/store", "b", z[2], client="c5")
        return p

    requests = [
        ("c1", encode("/decode", z[0])),
        ("c2", encode("/decode", 1.0, 2.0)),  # wrong count
        ("c3", encode("/interpolate", 0.5)),  # empty slots
        ("c4", encode("/ping")),
        ("c5", encode("/interpolate", 0.25)),
        ("c6", encode("/decode", z[0])),
        ("c7", encode("/decode", np.full(Z_DIM, np.inf, np.float32))),
    ]
    alone, batched = setup(), setup()
    want = [decode(alone.handle(c, decode(data))) for c, data in requests]
    got = [decode(r) for r in batched.handle_many([(c, decode(data)) for c, data in requests])]
    for w, g in zip(want, got, strict=True):
        assert g.address == w.address
        if w.address == "/pattern":
            np.testing.assert_allclose(pattern_of(g), pattern_of(w), atol=1e-5)
        else:
            assert g.args == w.args
    assert [g.address for g in got] == [
        "/pattern",
        "/error",
        "/error",
        "/pong",
        "/pattern",
        "/pattern",
        "/error",
    ]
    # c1 asked the other model: the same latent decodes differently there than for c6
    assert not np.allclose(pattern_of(got[0])[:, 9:], pattern_of(got[5])[:, 9:])
    # the last pattern is kept per client, as after handle (for /export and /store)
    assert np.allclose(batched.state("c5").last_pattern, pattern_of(got[4]))
