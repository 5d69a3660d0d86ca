"""The pieces Protocol stands on, each on its own: argument reading, client state, files."""

from __future__ import annotations

import numpy as np
import pytest

from pdbridge.core.pattern import FEATURES, default_thresholds
from pdbridge.serve import requests as arg
from pdbridge.serve.client_state import Clients, ClientState
from pdbridge.serve.file_service import MAX_MODELS, FileService
from pdbridge.serve.osc_codec import Message, decode, encode


def msg(*args) -> Message:
    return decode(encode("/x", *args))


def test_arguments_are_read_and_checked():
    assert arg.number(msg(0.5), 0, "t", 0, 1) == 0.5
    with pytest.raises(arg.RequestError, match="t 2 out of range 0..1"):
        arg.number(msg(2.0), 0, "t", 0, 1)
    with pytest.raises(arg.RequestError, match="argument 2 is NaN"):
        arg.numbers(msg(1.0, float("nan")))
    assert arg.whole(msg(3.0), 0, "bars", 1, 8) == 3
    with pytest.raises(arg.RequestError, match="whole number"):
        arg.whole(msg(2.5), 0, "bars", 1, 8)
    assert [arg.slot(msg(s)) for s in ("a", "B", 2.0, 3.0)] == ["a", "b", "c", "d"]
    with pytest.raises(arg.RequestError, match="slot must be"):
        arg.slot(msg(1.5))
    assert arg.seed(-1) is None and arg.seed(7.0) == 7
    with pytest.raises(arg.RequestError, match="seed"):
        arg.seed(-2)
    assert arg.voice_and_value(msg("snare", 0.3))[0] == 1
    assert arg.task_pattern(msg(np.zeros(FEATURES * 4))).shape == (4, FEATURES)
    assert arg.task_pattern(msg(np.zeros(FEATURES * 4), 2.0), allow_bars=True).shape == (4, 27)
    with pytest.raises(arg.RequestError, match="27 floats per step"):
        arg.task_pattern(msg(np.zeros(FEATURES + 1)))


def test_client_state_builds_controls_once_and_resets():
    built = []

    def controls_type(**settings):
        built.append(settings)
        return settings

    state = ClientState(temperature=0.3)
    assert state.controls_for(controls_type) is state.controls_for(controls_type)
    assert len(built) == 1
    assert state.controls_for(controls_type, temperature=0.0)["temperature"] == 0.0
    assert state.controls_for(controls_type)["temperature"] == 0.3  # override not kept
    state.thresholds[:] = 0.9
    state.reset()
    assert state.temperature == 1.0 and np.array_equal(state.thresholds, default_thresholds())


def test_clients_forget_the_least_recently_seen():
    clients = Clients(max_clients=2)
    first = clients.get("a")
    clients.get("b")
    assert clients.get("a") is first  # seen again: now the most recent
    clients.get("c")  # forgets b
    assert len(clients) == 2 and clients.get("a") is first


def test_file_service_loads_each_unchanged_file_once(tmp_path):
    (tmp_path / "mine.pt").write_bytes(b"x")
    calls = []

    def load_model(engine, path):
        calls.append(path)
        return engine + 1, path.stem

    files = FileService(load_model, [tmp_path], None)
    assert files.load(0, "mine", set())[:2] == (1, "mine")
    assert files.load(1, "mine.pt", {"mine"})[:2] == (1, "mine")  # same file: no second load
    assert len(calls) == 1
    with pytest.raises(arg.RequestError, match="models loaded already"):
        (tmp_path / "other.pt").write_bytes(b"y")
        files.load(1, "other", {f"m{i}" for i in range(MAX_MODELS)})
    with pytest.raises(arg.RequestError, match="exporting is off"):
        files.export(np.zeros((32, 27), np.float32), "a.mid", 120.0)
