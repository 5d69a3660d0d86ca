"""`pdbridge bench`: how close the server comes to what the network itself costs.

In one run, with the client and every server pinned to one CPU core (cross-core wake-ups make
loopback timings bimodal on small machines), it measures for each request type:

- round trip p50 / p99 through `pdbridge serve` (a real process, started here);
- the floor: a bare UDP echo in its own process that answers each request with a datagram of the
  same size as the real reply;
- the model's own in-process time for the same engine call;
- a naive server: python-osc's dispatcher and message builder with the same model, as a first
  implementation would be;

and besides: sustained decode throughput with 8 requests in flight (8 clients, one each, so
latest-wins never drops one), start-to-ready time (process start to the first `/pong`), and the
server's peak memory. `--json` prints one object; `--quick` is a smoke run of a few seconds.

On a shared machine other processes on the same core add their time slices to every figure (the
p99 columns show it first). `chrt -f 10 pdbridge bench` (root) runs the client and the servers
ahead of them, as `pd -rt` does for Pd; the table reports the load average either way.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pdbridge.core.pattern import FEATURES
from pdbridge.serve.osc_codec import decode, encode

KINDS = ("ping", "sample", "encode", "decode", "interpolate")


@dataclass
class BenchConfig:
    models: list[str]
    requests: int = 2000  # timed round trips per request type (after warm-up)
    naive_requests: int = 500
    throughput_seconds: float = 10.0
    in_flight: int = 8
    cpu: int | None = None  # None: the last CPU this process may use
    # Rounds the round trips are cut into: every target runs a short block in each round, so a
    # change in the machine's speed (on a shared host it swings by half within a second) falls
    # on every column alike instead of on whichever target ran then.
    rounds: int = 50


# ---------------------------------------------------------------------------- helpers


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles_us(ns: list[int]) -> tuple[float, float]:
    a = np.asarray(ns, np.float64) / 1000.0
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def udp_socket(timeout: float = 5.0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    return s


def round_trips(
    sock: socket.socket, address: tuple, request: bytes, n: int, warmup: int
) -> list[int]:
    """Nanoseconds per request/reply pair, one at a time."""
    send, recv, clock = sock.sendto, sock.recv, time.perf_counter_ns
    times = []
    for i in range(warmup + n):
        t0 = clock()
        send(request, address)
        reply = recv(65536)
        t1 = clock()
        if i >= warmup:
            times.append(t1 - t0)
    if reply[:6] == b"/error":
        raise RuntimeError(f"benchmark request failed: {decode(reply).args}")
    return times


def wait_for_pong(address: tuple, deadline: float) -> float:
    """Ping until the server answers; returns the time it did (perf_counter)."""
    with udp_socket(timeout=0.02) as s:
        ping = encode("/ping")
        while time.perf_counter() < deadline:
            s.sendto(ping, address)
            try:
                if s.recv(65536)[:5] == b"/pong":
                    return time.perf_counter()
            except TimeoutError:
                pass
    raise RuntimeError(f"no /pong from {address} in time")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


# ---------------------------------------------------------------------------- the other servers


def echo_server(port: int, replies: dict[bytes, bytes], cpu: int) -> None:
    """The floor: answer each datagram with a prepared reply of the size the real one has
    (looked up by the request's address)."""
    pin(cpu)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        data, sender = s.recvfrom(65536)
        address = data[: data.find(b"\0")]
        if address == b"/quit":
            return
        s.sendto(replies[address], sender)


def naive_server(port: int, models: list[str], cpu: int) -> None:
    """What a first implementation looks like: python-osc dispatcher and builder, same engine.
    One function with its handlers inside, on purpose: the baseline is the code a newcomer would
    write in one sitting (63 lines, the one function over 60 kept whole)."""
    pin(cpu)
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_message_builder import OscMessageBuilder
    from pythonosc.osc_server import BlockingOSCUDPServer

    from pdbridge.inference.engine import Controls, Engine, configure_torch

    configure_torch(1)  # the same model, run the same way as `pdbridge serve` runs it

    engine = Engine.load(models)
    slots: dict[str, np.ndarray] = {}
    server: BlockingOSCUDPServer | None = None

    def reply(to, address, values, count=None):
        builder = OscMessageBuilder(address)
        if count is not None:
            builder.add_arg(int(count))
        for v in values:
            builder.add_arg(float(v))
        server.socket.sendto(builder.build().dgram, to)

    def pattern(to, p):
        reply(to, "/pattern", np.ravel(p), len(p))

    def on_ping(to, address, *args):
        reply(to, "/pong", [], 1)

    def on_sample(to, address, *args):
        pattern(to, engine.sample(Controls()))

    def on_encode(to, address, *args):
        z = engine.encode(np.asarray(args, np.float32).reshape(-1, FEATURES))
        reply(to, "/z", z, len(z))

    def on_decode(to, address, *args):
        pattern(to, engine.decode(np.asarray(args, np.float32), Controls()))

    def on_store(to, address, slot, *args):
        slots[slot] = engine.encode(np.asarray(args, np.float32).reshape(-1, FEATURES))
        reply(to, "/ok", [])

    def on_interpolate(to, address, t):
        z = engine.interpolate(slots["a"], slots["b"], t)
        pattern(to, engine.decode(z, Controls()))

    def on_quit(to, address, *args):
        server.shutdown_request = True

    dispatcher = Dispatcher()
    for name, handler in [
        ("/ping", on_ping),
        ("/sample", on_sample),
        ("/encode", on_encode),
        ("/decode", on_decode),
        ("/store", on_store),
        ("/interpolate", on_interpolate),
    ]:
        dispatcher.map(name, handler, needs_reply_address=True)
    server = BlockingOSCUDPServer(("127.0.0.1", port), dispatcher)
    server.max_packet_size = 65536  # socketserver reads 8192 bytes unless told
    server.serve_forever()


# ---------------------------------------------------------------------------- the measurements


@dataclass
class Requests:
    """One request datagram per kind, plus the setup (slots for /interpolate)."""

    datagrams: dict[str, bytes]
    setup: list[bytes]


def make_requests(z_dim: int, steps: int) -> Requests:
    rng = np.random.default_rng(0)
    beat = np.zeros((steps, FEATURES), np.float32)
    beat[::4, 0] = beat[4::8, 1] = beat[::2, 2] = 1
    beat[:, 9:18] = beat[:, :9] * 0.8
    other = beat.copy()
    other[2::4, 0] = 1
    other[:, 9:18] = other[:, :9] * 0.6
    return Requests(
        datagrams={
            "ping": encode("/ping"),
            "sample": encode("/sample"),
            "encode": encode("/encode", beat.ravel()),
            "decode": encode("/decode", rng.standard_normal(z_dim).astype(np.float32)),
            "interpolate": encode("/interpolate", 0.37),
        },
        setup=[encode("/store", "a", beat.ravel()), encode("/store", "b", other.ravel())],
    )


class ServerTarget:
    """Round trips to one server, request kind by kind (the slots are stored first)."""

    def __init__(self, address: tuple, requests: Requests) -> None:
        self.address, self.requests = address, requests
        self.sock = udp_socket()
        for data in requests.setup:
            self.sock.sendto(data, address)
            self.sock.recv(65536)

    def run(self, kind: str, n: int) -> list[int]:
        return round_trips(self.sock, self.address, self.requests.datagrams[kind], n, warmup=3)

    def close(self) -> None:
        self.sock.close()


def measure_throughput(address: tuple, request: bytes, seconds: float, in_flight: int) -> dict:
    """`in_flight` clients, each with one decode outstanding, for `seconds`."""
    socks = [udp_socket(timeout=5.0) for _ in range(in_flight)]
    sent = received = errors = 0
    try:
        for s in socks:
            s.sendto(request, address)
            sent += 1
        poller = select.poll()
        by_fd = {s.fileno(): s for s in socks}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        start = time.perf_counter()
        end = start + seconds
        outstanding = in_flight
        while outstanding:
            events = poller.poll(5000)
            if not events:
                break  # a lost reply: counted below
            now = time.perf_counter()
            for fd, _ in events:
                s = by_fd[fd]
                reply = s.recv(65536)
                received += 1
                errors += reply[:6] == b"/error"
                if now < end:
                    s.sendto(request, address)
                    sent += 1
                else:
                    outstanding -= 1
        elapsed = time.perf_counter() - start
    finally:
        for s in socks:
            s.close()
    return {
        "throughput_per_s": received / elapsed,
        "throughput_sent": sent,
        "throughput_received": received,
        "throughput_errors": errors,
        "throughput_seconds": elapsed,
    }


class ModelTarget:
    """The engine's own time for the same calls, in this process (pinned to the same core)."""

    def __init__(self, models: list[str], requests: Requests) -> None:
        from pdbridge.inference.engine import Controls, Engine, configure_torch

        configure_torch(1)  # as `pdbridge serve` runs it

        engine = Engine.load(models)
        steps = next(m for m in engine.models() if m.task == "vae").steps

        def pattern(data: bytes, start: int) -> np.ndarray:
            return decode(data).floats(start).reshape(steps, FEATURES)

        beat = pattern(requests.datagrams["encode"], 0)
        z = decode(requests.datagrams["decode"]).floats()
        za = engine.encode(pattern(requests.setup[0], 1))
        zb = engine.encode(pattern(requests.setup[1], 1))
        t = float(decode(requests.datagrams["interpolate"]).floats()[0])
        controls = Controls()
        self.calls: dict[str, Callable[[], object]] = {
            "ping": lambda: None,
            "sample": lambda: engine.sample(controls),
            "encode": lambda: engine.encode(beat, controls),
            "decode": lambda: engine.decode(z, controls),
            "interpolate": lambda: engine.decode(engine.interpolate(za, zb, t, controls), controls),
        }

    def run(self, kind: str, n: int, between: Callable[[], object] | None = None) -> list[int]:
        """Time `n` calls back to back (hot caches), or each after `between()`."""
        call, clock = self.calls[kind], time.perf_counter_ns
        for _ in range(3):
            call()
        times = []
        for _ in range(n):
            if between is not None:
                between()
            t0 = clock()
            call()
            times.append(clock() - t0)
        return times

    def close(self) -> None:
        pass


class AfterRoundTrip:
    """The model's time right after a bare UDP round trip (to the floor echo): caches disturbed
    by the network path and the process switches, as they are for any server. Not subtracted in
    the overhead; shown to tell the server's own work from what the switch costs the model."""

    def __init__(self, model: ModelTarget, floor: ServerTarget) -> None:
        self.model, self.floor = model, floor
        self.ping = encode("/ping")

    def _round_trip(self) -> None:
        self.floor.sock.sendto(self.ping, self.floor.address)
        self.floor.sock.recv(65536)

    def run(self, kind: str, n: int) -> list[int]:
        return self.model.run(kind, n, between=self._round_trip)

    def close(self) -> None:
        pass


def model_shape(models: list[str]) -> tuple[int, int, str]:
    """z_dim, steps and name of the default VAE, read from the checkpoint without the engine."""
    from pdbridge.inference import checkpoint

    for item in models:
        for path in checkpoint.resolve(item):
            ckpt = checkpoint.load(path)
            if ckpt.task == "vae":
                return ckpt.z_dim, ckpt.steps, ckpt.name
    raise RuntimeError("no VAE model among " + ", ".join(models))


def start_serve(models: list[str], cpu: int, errors) -> tuple[subprocess.Popen, tuple, float]:
    """`pdbridge serve` as a real process; returns it, its address and its start-to-ready time."""
    port = free_port()
    cmd = [sys.executable, "-m", "pdbridge", "serve", "--port", str(port)]
    for m in models:
        cmd += ["--model", m]
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=errors, preexec_fn=lambda: pin(cpu)
    )
    try:
        ready = wait_for_pong(("127.0.0.1", port), started + 60) - started
    except RuntimeError:
        proc.kill()
        errors.seek(0)
        raise RuntimeError(
            "pdbridge serve did not start: " + errors.read().decode()[-500:]
        ) from None
    return proc, ("127.0.0.1", port), ready


def run_bench(config: BenchConfig, log: Callable[[str], None] = lambda s: None) -> dict:
    """Start the servers, then time them in many short interleaved rounds so that a change in the
    machine's speed or load mid-run touches every column alike."""
    cpu = config.cpu if config.cpu is not None else max(os.sched_getaffinity(0))
    pin(cpu)
    z_dim, steps, model_name = model_shape(config.models)
    requests = make_requests(z_dim, steps)
    result: dict[str, object] = {"model": model_name, "cpu": cpu, "requests": config.requests}
    spawn = multiprocessing.get_context("spawn")
    echo_replies = floor_replies(z_dim, steps)
    processes: list = []
    targets: dict[str, object] = {}
    with tempfile.TemporaryFile() as errors:
        try:
            log("starting pdbridge serve (alone, for the start-to-ready time)")
            proc, ours_address, ready = start_serve(config.models, cpu, errors)
            processes.append(proc)
            log("starting the echo floor and the naive python-osc server")
            echo_port, naive_port = free_port(), free_port()
            for target, args in [
                (echo_server, (echo_port, echo_replies, cpu)),
                (naive_server, (naive_port, config.models, cpu)),
            ]:
                p = spawn.Process(target=target, args=args, daemon=True)
                p.start()
                processes.append(p)
            for port in (echo_port, naive_port):
                wait_for_pong(("127.0.0.1", port), time.perf_counter() + 60)
            targets = {
                "floor": ServerTarget(("127.0.0.1", echo_port), requests),
                "ours": ServerTarget(ours_address, requests),
                "naive": ServerTarget(("127.0.0.1", naive_port), requests),
                "model": ModelTarget(config.models, requests),
            }
            targets["model_after_rtt"] = AfterRoundTrip(targets["model"], targets["floor"])
            times = interleaved_round_trips(targets, config, log)
            log(f"throughput, {config.in_flight} in flight for {config.throughput_seconds:g} s")
            result.update(
                measure_throughput(
                    ours_address,
                    requests.datagrams["decode"],
                    config.throughput_seconds,
                    config.in_flight,
                )
            )
            rss = peak_rss_mb(proc.pid)
        finally:
            stop(targets, processes)

    result |= summary(times)
    result["floor_p50_us"] = result["floor_decode_p50_us"]
    result["floor_p99_us"] = result["floor_decode_p99_us"]
    result["ready_s"] = ready
    result["peak_rss_mb"] = rss
    result["load_average"] = os.getloadavg()[0]  # other work on the machine skews every figure
    return result


def floor_replies(z_dim: int, steps: int) -> dict[bytes, bytes]:
    """What the echo floor answers each request with: a reply of the real size."""
    pattern_reply = encode("/pattern", steps, np.zeros(steps * FEATURES, np.float32))
    return {
        b"/ping": encode("/pong", 1, "0.1.0"),
        b"/sample": pattern_reply,
        b"/encode": encode("/z", z_dim, np.zeros(z_dim, np.float32)),
        b"/decode": pattern_reply,
        b"/interpolate": pattern_reply,
        b"/store": encode("/ok", "store", "a"),
    }


def stop(targets: dict, processes: list) -> None:
    """Close the sockets, then kill and reap every server the bench started."""
    for target in targets.values():
        target.close()
    for p in processes:
        p.kill()
    for p in processes:
        if isinstance(p, subprocess.Popen):
            p.wait(10)
        else:
            p.join(10)


def interleaved_round_trips(
    targets: dict, config: BenchConfig, log: Callable[[str], None]
) -> dict[tuple[str, str], list[int]]:
    """(target, request kind) -> round-trip times (ns), in `config.rounds` short rounds."""
    counts = {name: config.requests for name in targets}
    counts["naive"] = config.naive_requests
    times: dict[tuple[str, str], list[int]] = {}
    for r in range(config.rounds):
        if r % 10 == 0:
            log(f"round trips, round {r + 1} of {config.rounds}")
        for kind in KINDS:
            for name, target in targets.items():
                n = max(1, counts[name] // config.rounds)
                times.setdefault((name, kind), []).extend(target.run(kind, n))
    return times


def summary(times: dict[tuple[str, str], list[int]]) -> dict[str, float]:
    """Percentiles per request kind, the overhead over floor and model, the naive speed-up."""
    result: dict[str, float] = {}
    for kind in KINDS:
        p50, p99 = percentiles_us(times[("ours", kind)])
        floor50, floor99 = percentiles_us(times[("floor", kind)])
        model50 = percentiles_us(times[("model", kind)])[0] if kind != "ping" else 0.0
        after50 = percentiles_us(times[("model_after_rtt", kind)])[0] if kind != "ping" else 0.0
        naive50 = percentiles_us(times[("naive", kind)])[0]
        result[f"{kind}_p50_us"] = p50
        result[f"{kind}_p99_us"] = p99
        result[f"floor_{kind}_p50_us"] = floor50
        result[f"floor_{kind}_p99_us"] = floor99
        result[f"model_{kind}_p50_us"] = model50
        result[f"model_after_rtt_{kind}_p50_us"] = after50
        result[f"naive_{kind}_p50_us"] = naive50
        result[f"overhead_{kind}_p50_us"] = p50 - floor50 - model50
        result[f"speedup_{kind}_vs_naive"] = naive50 / p50
    return result
