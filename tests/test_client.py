"""The Python client and `pdbridge send`, against a real server on a free port."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch
from tiny_models import Z_DIM, make_tiny_models

from pdbridge import __version__
from pdbridge.cli import main
from pdbridge.core.pattern import Pattern
from pdbridge.inference.engine import Controls, Engine
from pdbridge.serve.client import Client, ServerError, ServerTimeout
from pdbridge.serve.protocol import PROTOCOL_VERSION, Protocol
from pdbridge.serve.server import Server, ServerConfig

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return Engine.load([str(p) for p in make_tiny_models(tmp_path_factory.mktemp("models"))])


@pytest.fixture(scope="module")
def server(engine):
    server = Server(Protocol(engine, Controls), ServerConfig(port=0))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(server):
    with Client(*server.address, timeout=3) as c:
        yield c


def test_client_calls(client, engine):
    assert client.ping() == (PROTOCOL_VERSION, __version__)
    assert client.set("temperature", 0) == ["temperature", 0.0]
    beat = client.sample(seed=4)
    assert beat.shape == (32, 27)
    assert np.array_equal(beat, client.sample(1.0, 4))
    z = client.encode(beat)
    assert z.shape == (Z_DIM,)
    assert np.array_equal(client.decode(z), engine.decode(z, Controls(temperature=0)))
    client.store("a", beat)
    client.store("b", np.zeros(Z_DIM, np.float32))
    assert np.array_equal(client.interpolate(0.0), engine.decode(z, Controls(temperature=0)))
    assert np.array_equal(client.humanize(beat)[:, :9], beat[:, :9])
    assert client.drumify(beat).shape == (32, 27)
    assert np.array_equal(client.infill(beat)[:, [0, 1, 3]], beat[:, [0, 1, 3]])
    assert client.continue_(beat, bars=1).shape == (16, 27)
    assert client.models()[:2] == ["tiny", "tiny2"]
    assert client.model("tiny2") == {"name": "tiny2", "task": "vae", "z_dim": Z_DIM, "steps": 32}
    assert client.styles() == []
    assert client.model("tiny")["name"] == "tiny"
    assert client.styles() == ["funk", "rock"]


def test_error_replies_raise_server_error(client):
    with pytest.raises(ServerError) as caught:
        client.decode(np.zeros(3))
    assert caught.value.request == "/decode"
    assert f"expects {Z_DIM} floats" in caught.value.message
    assert client.ping()[0] == PROTOCOL_VERSION  # the next request still pairs with its reply


def test_no_server_times_out():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but never answering
        with Client(port=port, timeout=0.2) as c, pytest.raises(ServerTimeout, match="no reply"):
            c.ping()


def test_send_command(server, capsys, tmp_path):
    port = str(server.address[1])
    assert main(["send", "/ping", "--port", port]) == 0
    assert capsys.readouterr().out.strip() == f"/pong {PROTOCOL_VERSION} {__version__}"
    assert main(["send", "/sample", "0.8", "42", "--port", port]) == 0
    out = capsys.readouterr().out
    assert out.startswith("/pattern 32 steps") and "kick" in out and "ride" in out
    assert main(["send", "/seed", "-1", "--port", port]) == 0
    assert capsys.readouterr().out.strip() == "/ok seed -1"
    # a pattern file as the request's floats
    beat = Pattern.empty()
    beat.hits[::4, 0] = 1
    beat.velocities[::4, 0] = 0.9
    path = tmp_path / "beat.json"
    Pattern.from_array(beat.to_array()).save_json(path)
    assert main(["send", "/encode", "--pattern", str(path), "--port", port, "--raw"]) == 0
    assert capsys.readouterr().out.split()[:2] == ["/z", str(Z_DIM)]
    assert main(["send", "/style", "disco", "--port", port]) == 1
    assert "/error /style unknown style disco" in capsys.readouterr().err
    assert main(["send", "ping", "--port", port]) == 2  # a usage error: the address names no OSC address
    assert "starts with '/'" in capsys.readouterr().err
