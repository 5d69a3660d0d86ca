"""How low can a server's overhead on /decode go on this machine? (issue 4's 60 us target)

In one interleaved run, all pinned to one CPU as in `pdbridge bench`, /decode round trips to:

- `floor`: a bare UDP echo answering with a reply of the real size;
- `thinnest threaded`: pdbridge's thread structure (a receiver that never waits for inference,
  one worker woken through a pipe) around the same `Engine.decode` and reply encoder, and nothing
  else: no checks, no client state, no queues, no batching;
- `thinnest single thread`: the same in one thread (receiving stops while the model runs, which
  the issue rules out: shown as the floor of floors);
- `pdbridge serve`: the real server;

and the engine call in a tight loop. Overhead = round trip - floor - engine call, all p50.

    .venv/bin/python scripts/experiments/overhead_floor.py
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pdbridge.evaluate.bench import free_port, pin, start_serve, wait_for_pong  # noqa: E402
from pdbridge.serve.osc_codec import encode  # noqa: E402

CPU = 0
ROUNDS, BLOCK, WARMUP = 60, 30, 3


def engine():
    from pdbridge.inference.engine import Controls, Engine, configure_torch

    configure_torch(1)
    eng = Engine.load(["conv_vae"])
    return eng, Controls(), next(m for m in eng.models() if m.task == "vae")


def thinnest(port: int, threaded: bool) -> None:
    pin(CPU)
    eng, controls, info = engine()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    pong = encode("/pong")

    def answer(data: bytes, sender: tuple) -> None:
        if data.startswith(b"/ping"):
            sock.sendto(pong, sender)
            return
        z = np.frombuffer(data, ">f4", info.z_dim, len(data) - 4 * info.z_dim).astype(np.float32)
        pattern = eng.decode(z, controls)
        sock.sendto(encode("/pattern", len(pattern), pattern.ravel()), sender)

    if not threaded:
        while True:
            answer(*sock.recvfrom(65535))
    read_fd, write_fd = os.pipe()
    waiting: list = []
    lock = threading.Lock()

    def work() -> None:
        while True:
            os.read(read_fd, 1)
            with lock:
                item = waiting.pop(0)
            answer(*item)

    threading.Thread(target=work, daemon=True).start()
    while True:
        item = sock.recvfrom(65535)
        with lock:
            waiting.append(item)
        os.write(write_fd, b"\0")


def echo(port: int, reply: bytes) -> None:
    pin(CPU)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        data, sender = s.recvfrom(65535)
        s.sendto(reply if data.startswith(b"/decode") else encode("/pong"), sender)


def main() -> int:
    pin(CPU)
    eng, controls, info = engine()
    z = np.random.default_rng(0).standard_normal(info.z_dim).astype(np.float32)
    request = encode("/decode", z)
    reply = encode("/pattern", info.steps, np.zeros(info.steps * 27, np.float32))
    ctx = mp.get_context("spawn")
    ports = {name: free_port() for name in ("floor", "thinnest threaded", "thinnest single")}
    procs = [
        ctx.Process(target=echo, args=(ports["floor"], reply), daemon=True),
        ctx.Process(target=thinnest, args=(ports["thinnest threaded"], True), daemon=True),
        ctx.Process(target=thinnest, args=(ports["thinnest single"], False), daemon=True),
    ]
    for p in procs:
        p.start()
    with tempfile.TemporaryFile() as errors:
        serve, serve_address, _ = start_serve(["default"], CPU, errors)
    try:
        addresses = {name: ("127.0.0.1", port) for name, port in ports.items()}
        addresses["pdbridge serve"] = serve_address
        for address in addresses.values():
            wait_for_pong(address, time.perf_counter() + 60)
        time.sleep(5)  # pdbridge serve freezes its models in the background first
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(5)
        clock = time.perf_counter_ns
        times: dict[str, list[int]] = {name: [] for name in [*addresses, "engine.decode"]}
        for _ in range(ROUNDS):
            for name, address in addresses.items():
                for i in range(WARMUP + BLOCK):
                    t0 = clock()
                    sock.sendto(request, address)
                    sock.recv(65536)
                    if i >= WARMUP:
                        times[name].append(clock() - t0)
            for i in range(WARMUP + BLOCK):
                t0 = clock()
                eng.decode(z, controls)
                if i >= WARMUP:
                    times["engine.decode"].append(clock() - t0)
    finally:
        serve.kill()
        serve.wait()
    p50 = {name: float(np.median(t)) / 1000 for name, t in times.items()}
    print(f"{'/decode p50':24} {'us':>7} {'overhead':>9}")
    for name, value in p50.items():
        over = value - p50["floor"] - p50["engine.decode"]
        show = f"{over:9.1f}" if name not in ("floor", "engine.decode") else ""
        print(f"{name:24} {value:7.1f} {show}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
