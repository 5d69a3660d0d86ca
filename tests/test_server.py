"""A real server on a free port, driven with raw datagrams: every error path, ordering, latest
wins, bounded queues, reply port, and `pdbridge serve` as a process (ready line, SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from tiny_models import Z_DIM, make_tiny_models

from pdbridge.core.errors import ExitCode
from pdbridge.inference.engine import Controls, Engine
from pdbridge.serve.osc_codec import decode, encode
from pdbridge.serve.protocol import Protocol
from pdbridge.serve.server import Server, ServerConfig

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_paths(tmp_path_factory):
    return [str(p) for p in make_tiny_models(tmp_path_factory.mktemp("models"))]


@pytest.fixture(scope="module")
def engine(model_paths):
    return Engine.load(model_paths)


class SlowEngine:
    """The real engine, but `/sample` takes a while: lets requests pile up behind it."""

    def __init__(self, engine, delay=0.3):
        self.engine, self.delay = engine, delay
        self.started = threading.Event()

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def sample(self, controls):
        self.started.set()
        time.sleep(self.delay)
        return self.engine.sample(controls)


def start_server(engine, **config):
    server = Server(Protocol(engine, Controls), ServerConfig(port=0, **config))
    server.start()
    return server


@pytest.fixture(scope="module")
def server(engine):
    server = start_server(engine)
    yield server
    server.stop()


class Raw:
    """A bare UDP socket: sends bytes, reads decoded replies."""

    def __init__(self, address, timeout=3.0):
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(timeout)

    def send(self, data: bytes):
        self.sock.sendto(data, self.address)

    def ask(self, address, *args):
        self.send(encode(address, *args))
        return self.receive()

    def receive(self):
        return decode(self.sock.recv(1 << 16))

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(server):
    client = Raw(server.address)
    yield client
    client.close()


def test_every_request_type_answers(raw):
    assert raw.ask("/ping").address == "/pong"
    assert raw.ask("/temperature", 0.0).args == ["temperature", 0.0]
    beat = raw.ask("/sample", 1.0, 1.0)
    assert beat.address == "/pattern" and beat.args[0] == 32 and len(beat) == 1 + 864
    z = raw.ask("/encode", beat.floats(1))
    assert z.address == "/z" and z.args[0] == Z_DIM
    assert raw.ask("/decode", z.floats(1)).address == "/pattern"
    assert raw.ask("/store", "a").args == ["store", "a"]
    assert raw.ask("/store", "b", z.floats(1)).args == ["store", "b"]
    assert raw.ask("/interpolate", 0.5).address == "/pattern"
    for address in ("/humanize", "/drumify"):
        assert raw.ask(address, beat.floats(1)).address == "/pattern"
    assert raw.ask("/continue", beat.floats(1), 1.0).args[0] == 16
    for address, args, reply in [
        ("/seed", [3.0], "/ok"),
        ("/threshold", [0.4], "/ok"),
        ("/density", [1.0, 0.5], "/ok"),
        ("/style", ["funk"], "/ok"),
        ("/styles", [], "/styles"),
        ("/models", [], "/models"),
        ("/model", ["tiny"], "/model"),
        ("/reset", [], "/ok"),
    ]:
        assert raw.ask(address, *args).address == reply


def oversized():
    return encode("/encode", np.zeros(10_000, np.float32))  # 50 KB with its type tags


@pytest.mark.parametrize(
    "data, address, words",
    [
        (encode("/decode", 1.0, 2.0), "/decode", f"expects {Z_DIM} floats"),
        (encode("/sample", "loud"), "/sample", "should be a number"),
        (encode("/decode", np.full(Z_DIM, np.nan)), "/decode", "NaN"),
        (encode("/whatever", 1.0), "/whatever", "unknown address"),
        (b"", "?", "empty datagram"),
        (oversized(), "/encode", "request too large: 50012 bytes"),
        (b"#bundle\0" + bytes(16), "?", "bundles are not supported"),
        (b"hello world!", "?", "not an OSC message"),
        (b"/sample\0,ff\0\0\0\0\0", "/sample", "too short"),
        (b"/sample\0,x\0\0", "/sample", "unknown OSC type tag"),
    ],
)
def test_malformed_requests_get_an_error_and_the_server_keeps_answering(raw, data, address, words):
    raw.send(data)
    reply = raw.receive()
    assert reply.address == "/error"
    assert reply.args[0] == address
    assert words in reply.args[1]
    assert raw.ask("/ping").address == "/pong"


def test_replies_come_back_in_request_order(raw):
    for seed in range(15):  # 30 requests: all fit in the queue (32)
        raw.send(encode("/seed", float(seed)))
        raw.send(encode("/sample"))
    replies = [raw.receive() for _ in range(30)]
    assert [r.args[1] for r in replies[0::2]] == list(range(15))
    assert all(r.address == "/pattern" for r in replies[1::2])


def test_latest_decode_wins_while_waiting(engine):
    slow = SlowEngine(engine)
    server = start_server(slow)
    raw = Raw(server.address)
    try:
        assert raw.ask("/temperature", 0.0).address == "/ok"
        zs = np.random.default_rng(0).standard_normal((5, Z_DIM)).astype(np.float32)
        raw.send(encode("/sample"))
        assert slow.started.wait(2)
        raw.send(encode("/decode", zs[0]))
        raw.send(encode("/seed", 1.0))  # not a decode: stays, in order
        for z in zs[1:]:
            raw.send(encode("/decode", z))
        replies = [raw.receive() for _ in range(3)]
        assert [r.address for r in replies] == ["/pattern", "/ok", "/pattern"]
        last = replies[2].floats(1).reshape(32, 27)
        assert np.array_equal(last, engine.decode(zs[-1], Controls(temperature=0)))
        raw.sock.settimeout(0.3)
        with pytest.raises(TimeoutError):  # the replaced decodes got no reply
            raw.receive()
    finally:
        raw.close()
        server.stop()


def test_waiting_decodes_of_several_clients_share_one_model_call(engine):
    """While the worker is busy, six clients' decodes queue up; they are answered together, each
    with its own latent and settings, and each client's own requests stay in order."""
    slow = SlowEngine(engine)
    server = start_server(slow)
    clients = [Raw(server.address) for _ in range(6)]
    try:
        for i, c in enumerate(clients):
            assert c.ask("/temperature", 0.0).address == "/ok"
            assert c.ask("/threshold", 0.2 + 0.1 * i).address == "/ok"
        zs = np.random.default_rng(1).standard_normal((6, Z_DIM)).astype(np.float32)
        clients[0].send(encode("/sample"))
        assert slow.started.wait(2)
        for c, z in zip(clients, zs, strict=True):
            c.send(encode("/decode", z))
        clients[1].send(encode("/ping"))  # after its decode, answered after it
        assert clients[0].receive().address == "/pattern"  # the slow sample
        for i, (c, z) in enumerate(zip(clients, zs, strict=True)):
            want = engine.decode(z, Controls(temperature=0, thresholds=0.2 + 0.1 * i))
            np.testing.assert_allclose(c.receive().floats(1).reshape(32, 27), want, atol=1e-5)
        assert clients[1].receive().address == "/pong"
        assert server.batched >= 5  # client 0's decode may have come before the others
    finally:
        for c in clients:
            c.close()
        server.stop()


def test_batching_can_be_turned_off(engine):
    slow = SlowEngine(engine)
    server = start_server(slow, batch=1)
    clients = [Raw(server.address) for _ in range(3)]
    try:
        clients[0].send(encode("/sample"))
        assert slow.started.wait(2)
        for c in clients:
            c.send(encode("/decode", np.zeros(Z_DIM, np.float32)))
        assert clients[0].receive().address == "/pattern"
        assert all(c.receive().address == "/pattern" for c in clients)
        assert server.batched == 0
    finally:
        for c in clients:
            c.close()
        server.stop()


def test_queues_are_bounded_and_busy_requests_get_an_error(engine):
    slow = SlowEngine(engine, delay=0.05)
    server = start_server(slow, queue_size=4)
    raw = Raw(server.address)
    try:
        for _ in range(10):
            raw.send(encode("/sample"))
        replies = [raw.receive() for _ in range(10)]
        busy = [r for r in replies if r.address == "/error"]
        assert len(busy) >= 5 and all("server busy" in r.args[1] for r in busy)
        assert sum(r.address == "/pattern" for r in replies) >= 1
        assert raw.ask("/ping").address == "/pong"
    finally:
        raw.close()
        server.stop()


def test_reply_port_sends_replies_elsewhere(engine):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(3)
    server = start_server(engine, reply_port=listener.getsockname()[1])
    raw = Raw(server.address, timeout=0.3)
    try:
        raw.send(encode("/ping"))
        assert decode(listener.recv(1 << 16)).address == "/pong"
        with pytest.raises(TimeoutError):
            raw.receive()
    finally:
        raw.close()
        listener.close()
        server.stop()


def test_two_workers_keep_each_clients_order(engine):
    server = start_server(engine, workers=2)
    clients = [Raw(server.address) for _ in range(3)]
    try:
        for c in clients:
            for seed in range(10):
                c.send(encode("/seed", float(seed)))
        for c in clients:
            assert [c.receive().args[1] for _ in range(10)] == list(range(10))
    finally:
        for c in clients:
            c.close()
        server.stop()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ctrl_c_reaches_child() -> None:
    """Popen(preexec_fn=...): a shell that starts a job in the background (`cmd &`, nohup) sets
    SIGINT to ignored, and children inherit that; Ctrl-C tests need it at its default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_command_prints_ready_logs_requests_and_stops_cleanly(model_paths, stop_signal):
    port = free_port()
    cmd = [sys.executable, "-m", "pdbridge", "-v", "serve", "--port", str(port)]
    for path in model_paths[:2]:
        cmd += ["--model", path]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=ctrl_c_reaches_child,
    )
    try:
        ready = proc.stdout.readline()
        assert f"udp://127.0.0.1:{port}" in ready
        assert "models: tiny tiny2" in ready and "protocol 1" in ready
        raw = Raw(("127.0.0.1", port))
        assert raw.ask("/ping").address == "/pong"
        raw.close()
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "stopped" in out
        assert "/ping" in err  # the debug log of each request
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_reports_a_port_in_use(model_paths):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pdbridge",
                "serve",
                "--port",
                str(port),
                "--model",
                model_paths[0],
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == ExitCode.PORT_IN_USE
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one line, no traceback


def test_ctrl_c_while_models_load_is_a_clean_stop(model_paths):
    """A user pressing Ctrl-C before the server is ready gets exit 0 and no traceback."""
    cmd = [sys.executable, "-m", "pdbridge", "serve", "--port", str(free_port())]
    proc = subprocess.Popen(
        [*cmd, "--model", model_paths[0]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPROFILEIMPORTTIME": "1"},
        preexec_fn=ctrl_c_reaches_child,
    )
    try:
        # The import-time log shows torch in: the models load next. Interrupt there.
        watchdog = threading.Timer(60, proc.kill)  # never hang the suite on a missed line
        watchdog.start()
        line = "?"
        while line and line.split("|")[-1].strip() != "torch":
            line = proc.stderr.readline()
        watchdog.cancel()
        assert proc.poll() is None, "the server ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err[-2000:]
        assert "Traceback" not in err
        assert "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bench_quick_smoke_run(model_paths):
    """`pdbridge bench --quick --json` runs end to end and reports every figure the issue names
    (the real figures come from the full run, not from a test)."""
    cmd = [sys.executable, "-m", "pdbridge", "bench", "--quick", "--json", "--requests", "50"]
    result = subprocess.run(
        [*cmd, "--seconds", "0.5", "--model", model_paths[0]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for key in (
        "floor_p50_us",
        "decode_p50_us",
        "decode_p99_us",
        "model_decode_p50_us",
        "naive_decode_p50_us",
        "throughput_per_s",
        "ready_s",
        "peak_rss_mb",
    ):
        assert figures[key] > 0, key
    assert figures["throughput_received"] == figures["throughput_sent"]
    assert figures["throughput_errors"] == 0
