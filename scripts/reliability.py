"""Reliability and security checks of `pdbridge serve`, with figures (see docs/reliability.md).

    python scripts/reliability.py fuzz|flood|faults|security|class|all [--quick] [--json]
                                  [--model NAME_OR_PATH ...] [--cases N] [--seconds S] [--seed N]

- fuzz:     a seeded mutational fuzzer (valid requests for every address, then truncated, retyped,
            recounted, NaN/inf, huge and empty lists, bundles, unknown addresses, raw bytes), one
            datagram at a time against a real `pdbridge serve` process; python-osc's parser says
            which datagrams are well-formed OSC, and every one of those must be answered.
- flood:    four clients send as fast as their replies let them (64 in flight each, more than the
            server queues) while a fifth pings every 20 ms; worst /ping, memory, then normal use.
- faults:   bad model files at start-up (exit code and message) and through /load at run time
            (the current model keeps serving), a port in use, clients that vanish mid-sweep.
- class:    a lab room: 32 clients on one server pinned to one core, each sweeping /interpolate
            60 times a second and sampling every 2 s for 60 s, while a pinger times /ping:
            requests sent, answered and superseded (the server's own count), memory.
- security: loopback by default, the allow-list, a malicious pickle, files named by requests
            kept inside their folders, sizes from the network bounded before allocation.

The full run uses the shipped default models as a user would; `--quick` is the short version the
test suite runs (tests/test_reliability.py). Every figure is measured here, none is assumed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pdbridge.serve.osc_codec import decode, encode

READY = re.compile(r"serving udp://([\d.]+):(\d+)")
WELL_FORMED_ADDRESS = re.compile(r"^/[a-z]+$")


# ---------------------------------------------------------------------------- helpers


def rss_kb(pid: int | None = None) -> dict[str, int]:
    """Resident memory now and at its peak (VmRSS, VmHWM) of a process, in KB."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    return {k: int(re.search(rf"{k}:\s+(\d+)", status).group(1)) for k in ("VmRSS", "VmHWM")}


def osc_well_formed(data: bytes) -> bool:
    """python-osc's parser is the oracle: can it read this datagram as a message or a bundle?"""
    from pythonosc.osc_bundle import OscBundle
    from pythonosc.osc_message import OscMessage

    logging.disable(logging.WARNING)  # python-osc warns about each tag it does not know
    try:
        if OscBundle.dgram_is_bundle(data):
            OscBundle(data)
        else:
            OscMessage(data)
        return True
    except Exception:
        return False
    finally:
        logging.disable(logging.NOTSET)


class Udp:
    """A client socket that sends bytes and reads decoded replies (None on timeout)."""

    def __init__(self, address: tuple[str, int], timeout: float = 2.0, bind: str = "127.0.0.1"):
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((bind, 0))
        self.sock.settimeout(timeout)
        self.stale = 0  # replies that came too late for their ask (see `ask`)

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.address)

    def receive(self):
        try:
            return decode(self.sock.recv(1 << 16))
        except (TimeoutError, ConnectionRefusedError):
            return None

    def ask(self, address: str, *args: object):
        """Send, and read the reply. Replies still waiting from earlier asks (ones that timed
        out) are thrown away first and counted in `stale`: else one late reply would pair every
        later request with its predecessor's answer."""
        self.drain()
        self.send(encode(address, *args))
        return self.receive()

    def drain(self) -> None:
        timeout = self.sock.gettimeout()
        self.sock.settimeout(0)
        try:
            while True:
                self.sock.recv(1 << 16)
                self.stale += 1
        except (BlockingIOError, ConnectionRefusedError):
            pass
        finally:
            self.sock.settimeout(timeout)

    def close(self) -> None:
        self.sock.close()


class ServeProcess:
    """`python -m pdbridge serve` on a free port, its log in a file, stopped with SIGTERM."""

    def __init__(
        self, models: list[str], folder: Path, *extra: str, cpu: int | None = None,
        verbose: bool = False,
    ) -> None:  # fmt: skip
        """`cpu`: pin the server to that CPU; `verbose`: log at debug level (e.g. every
        /interpolate a newer one replaced)."""
        self.log_path = folder / f"serve-{time.monotonic_ns()}.log"
        cmd = [sys.executable, "-m", "pdbridge", *(["-v"] if verbose else []), "serve", "--port", "0"]
        for m in models:
            cmd += ["--model", m]
        cmd += ["--models-dir", str(folder), "--export-dir", str(folder / "exports"), *extra]
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu})),
        )
        line = self.proc.stdout.readline()
        found = READY.search(line)
        if not found:
            self.stop()
            raise RuntimeError(f"pdbridge serve did not start: {line!r} {self.log()[-2000:]}")
        self.address = (found.group(1), int(found.group(2)))

    def rss(self) -> dict[str, int]:
        return rss_kb(self.proc.pid)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def log_failures(log: str) -> dict[str, int]:
    """Unhandled exceptions in a server log: tracebacks and ERROR lines."""
    return {
        "tracebacks": log.count("Traceback"),
        "error_lines": sum(line.startswith(("ERROR", "CRITICAL")) for line in log.splitlines()),
    }


def protocol_addresses() -> list[str]:
    """Every address the protocol serves, asked of `Protocol` itself (never a copied list)."""
    from pdbridge.serve.protocol import Protocol

    class NoEngine:
        def models(self) -> list:
            return []

    return Protocol(NoEngine(), dict).addresses


def model_shape(udp: Udp) -> tuple[int, int]:
    reply = udp.ask("/model")
    return int(reply.args[2]), int(reply.args[3])  # z_dim, steps


# ---------------------------------------------------------------------------- fuzz


def _osc_string(b: bytes) -> bytes:
    return b + b"\0" * (4 - len(b) % 4)


def raw_message(address: bytes, args: list[tuple[str, object]]) -> bytes:
    """Any typed argument list as OSC bytes, tags as given (so they may be wrong on purpose)."""
    tags, parts = b",", []
    for tag, value in args:
        tags += tag.encode()
        if tag == "f":
            parts.append(struct.pack(">f", value))
        elif tag == "i":
            parts.append(struct.pack(">i", value))
        elif tag in "hd":
            parts.append(struct.pack(">q" if tag == "h" else ">d", value))
        elif tag == "s":
            parts.append(_osc_string(value.encode("utf-8", "surrogatepass")))
        elif tag == "b":
            parts.append(struct.pack(">i", len(value)) + value + b"\0" * (-len(value) % 4))
    return _osc_string(address) + _osc_string(tags) + b"".join(parts)


class Fuzzer:
    """Seeded datagrams: valid requests for every address, then mutated (see the module doc)."""

    SPECIAL = [float("nan"), float("inf"), float("-inf"), 1e38, -1e38, 1e-45, -0.0, 2.5, -1.0]
    NAMES = ["a", "b", "funk", "none", "kick", "conv_vae", "mlp_vae", "tiny", "", "é", "x" * 300]
    LOADABLE = "fuzz_model"  # a copy of the first model in the server's --models-dir
    FILES = ["nope", "../models/x", "/etc/passwd", "exports/../../x", "beat.mid", "b.mid"]

    def __init__(self, seed: int, z_dim: int, steps: int, addresses: list[str]) -> None:
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.z_dim, self.steps, self.addresses = z_dim, steps, addresses

    def floats(self, n: int) -> list[tuple[str, object]]:
        return [("f", float(v)) for v in self.np.random(n)]

    def pattern(self, steps: int | None = None) -> list[tuple[str, object]]:
        steps = steps or self.steps
        a = self.np.random((steps, 27)).astype(np.float32)
        a[:, :9] = a[:, :9] > 0.7
        a[:, 18:] -= 0.5
        return [("f", float(v)) for v in a.ravel()]

    def valid(self, address: str) -> list[tuple[str, object]]:
        r = self.rng
        slot = r.choice([("s", "a"), ("s", "b"), ("f", 0.0), ("f", 1.0)])
        voice = r.choice([("f", float(r.randrange(9))), ("s", "snare")])
        return {
            "/sample": r.choice([[], [("f", r.uniform(0, 2))], [("f", 1.0), ("f", 7.0)]]),
            "/encode": self.pattern(),
            "/decode": self.floats(self.z_dim),
            "/store": [slot, *r.choice([[], self.pattern(), self.floats(self.z_dim)])],
            "/interpolate": [("f", r.random())],
            "/humanize": self.pattern(),
            "/drumify": self.pattern(),
            "/continue": self.pattern(16 * r.randint(1, 3)) + r.choice([[], [("f", 1.0)]]),
            "/temperature": [("f", r.uniform(0, 3))],
            "/seed": [("f", float(r.choice([-1, 3, 12345])))],
            "/threshold": r.choice([[("f", r.random())], [voice, ("f", r.random())]]),
            "/density": r.choice([[("f", r.random())], [voice, ("f", r.random())]]),
            "/style": [("s", r.choice(["funk", "rock", "none", "jazz"]))],
            "/model": r.choice([[], [("s", r.choice(self.NAMES[5:8]))]]),
            "/models": r.choice([[], [("s", "kinds")]]),
            "/drumifier": r.choice([[], [("s", "next")], [("s", r.choice(self.NAMES[5:8]))]]),
            "/busyness": [("f", r.choice([-1.0, r.random()]))],
            # a real /load is rare: the first reads and checks a whole file, later ones find it
            # unchanged and skip the work
            "/load": [("s", self.LOADABLE if r.random() < 0.03 else r.choice(self.FILES))],
            "/export": [("s", r.choice(["beat.mid", "b.mid", "sub/c.mid"]))],
        }.get(address, [])

    def case(self) -> bytes:
        r = self.rng
        kind = r.random()
        if kind < 0.04:  # raw bytes, sometimes with a leading '/'
            data = self.np.bytes(r.choice([0, 1, 3, 4, 8, 64, 700, 3000]))
            return (b"/" + data) if r.random() < 0.5 else data
        if kind < 0.07:  # a bundle holding a valid request
            inner = encode("/ping") if r.random() < 0.5 else raw_message(b"/sample", [])
            return b"#bundle\0" + bytes(8) + struct.pack(">i", len(inner)) + inner
        address = r.choice(self.addresses).encode()
        args = self.valid(address.decode())
        kind = r.random()
        if kind < 0.25:
            pass  # valid as is
        elif kind < 0.35:  # unknown or odd address
            address = r.choice([b"/dance", b"/SAMPLE", address + b"/x", b"/", b"/" + b"z" * 500])
        elif kind < 0.5:  # wrong argument count
            if args and r.random() < 0.5:
                del args[r.randrange(len(args)) :]
            else:
                args += self.floats(r.choice([1, 2, 27, self.z_dim]))
        elif kind < 0.62:  # wrong types
            for _ in range(r.randint(1, 3)):
                i = r.randrange(len(args) + 1)
                new = r.choice(
                    [("s", r.choice(self.NAMES)), ("i", r.randint(-(2**31), 2**31 - 1)),
                     ("h", r.randint(-(2**63), 2**63 - 1)), ("d", r.choice(self.SPECIAL)),
                     ("b", self.np.bytes(r.randrange(9))), ("T", None), ("F", None),
                     ("N", None), ("I", None), ("f", r.choice(self.SPECIAL))]
                )  # fmt: skip
                args[i : i + 1] = [new]
        elif kind < 0.72:  # NaN, infinity, huge and odd numbers
            for _ in range(r.randint(1, 4)):
                if args:
                    args[r.randrange(len(args))] = ("f", r.choice(self.SPECIAL))
        elif kind < 0.8:  # enormous or empty lists
            args = r.choice([[], self.floats(r.choice([2000, 4000, 8000, 9000]))])
        data = raw_message(address, args)
        kind = r.random()
        if kind < 0.1:  # truncated
            data = data[: r.randrange(len(data) + 1)]
        elif kind < 0.2:  # bytes flipped
            b = bytearray(data)
            for _ in range(r.randint(1, 8)):
                b[r.randrange(len(b))] = r.randrange(256)
            data = bytes(b)
        elif kind < 0.23:  # a lying blob size in front of the data
            data = raw_message(address, [("b", b"xy")])
            data = data[:-8] + struct.pack(">i", r.choice([2**31 - 1, 1 << 20, -8])) + b"xy\0\0"
        return data


def fuzz(models: list[str], cases: int, seed: int, folder: Path) -> dict:
    """Fuzz a real server: every well-formed datagram must be answered, nothing may crash."""
    from pdbridge.inference import checkpoint

    shutil.copy(checkpoint.resolve(models[0])[0], folder / f"{Fuzzer.LOADABLE}.pt")
    with ServeProcess(models, folder) as server:
        udp = Udp(server.address, timeout=5.0)
        z_dim, steps = model_shape(udp)
        settled_rss(server, udp)  # memory figures from a warm server
        fuzzer = Fuzzer(seed, z_dim, steps, protocol_addresses())
        counts = dict.fromkeys(
            ["well_formed", "answered", "error_replies", "pattern_replies", "internal_errors",
             "unanswered_well_formed", "unanswered_malformed"], 0
        )  # fmt: skip
        memory = []
        started = time.monotonic()
        for i in range(cases):
            data = fuzzer.case()
            well_formed = osc_well_formed(data)
            counts["well_formed"] += well_formed
            udp.send(data)
            reply = udp.receive()
            if reply is None:
                counts["unanswered_well_formed" if well_formed else "unanswered_malformed"] += 1
                if server.proc.poll() is not None:
                    break
                continue
            counts["answered"] += 1
            if reply.address == "/error":
                counts["error_replies"] += 1
                if "internal error" in str(reply.args[-1]):
                    counts["internal_errors"] += 1
                    print(f"internal error after {data[:80]!r}: {reply.args}", file=sys.stderr)
            elif reply.address == "/pattern":
                counts["pattern_replies"] += 1
            if i in (min(1000, cases // 10), cases // 2) or i == cases - 1:
                memory.append(server.rss()["VmRSS"])
        seconds = time.monotonic() - started
        alive = server.proc.poll() is None and udp.ask("/ping") is not None
        rss = server.rss() if alive else {"VmRSS": 0, "VmHWM": 0}
        udp.close()
        exit_code = server.stop()
        failures = log_failures(server.log())
    return {
        "cases": i + 1,
        "seed": seed,
        "seconds": round(seconds, 1),
        **counts,
        **failures,
        "crashes": int(not alive),
        "exit_code_after_sigterm": exit_code,
        "rss_mb_after_warmup": round(memory[0] / 1024, 1),
        "rss_mb_half": round(memory[1] / 1024, 1) if len(memory) > 2 else None,
        "rss_mb_end": round(memory[-1] / 1024, 1),
        "rss_mb_peak": round(rss["VmHWM"] / 1024, 1),
    }


# ---------------------------------------------------------------------------- flood


def flood_client(address, seconds: float, seed: int, z_dim: int, window: int) -> tuple[int, int]:
    """One client sending as fast as its replies let it: up to `window` requests in flight.
    Runs in its own process (`reliability.py flood-client ...`), so it never slows the pinger."""
    rng = np.random.default_rng(seed)
    requests = [
        encode("/decode", rng.standard_normal(z_dim).astype(np.float32)),
        encode("/sample"),
        encode("/ping"),
        encode("/temperature", 0.5),
        encode("/decode", 1.0),  # wrong count: an error
        b"not osc at all!!",
    ]
    weights = np.array([40, 20, 20, 10, 5, 5], np.float64)
    order = rng.choice(len(requests), size=4096, p=weights / weights.sum())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    sent = received = in_flight = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        while in_flight < window:
            sock.sendto(requests[order[sent % 4096]], address)
            sent += 1
            in_flight += 1
        try:
            while True:
                sock.recv(1 << 16)
                received += 1
                in_flight -= 1
                sock.settimeout(0)
        except (BlockingIOError, TimeoutError):
            if sock.gettimeout() != 0:
                in_flight = 0  # nothing for 50 ms: the rest were dropped (latest wins)
        sock.settimeout(0.05)
    sock.close()
    return sent, received


def ping_while_loaded(
    server: ServeProcess, udp: Udp, seconds: float, every: float, rss: int
) -> tuple[list[float], int, int]:
    """/ping the server every `every` s for `seconds` while others load it: (round trips in s,
    pings lost, peak resident memory in kB, starting from `rss`)."""
    pings, lost, peak = [], 0, rss
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        reply = udp.ask("/ping")
        if reply is None or reply.address != "/pong":
            lost += 1
        else:
            pings.append(time.perf_counter() - t0)
        peak = max(peak, server.rss()["VmRSS"])
        time.sleep(every)
    return pings, lost, peak


def ping_and_memory_figures(ms: np.ndarray, before: int, peak: int, after: int) -> dict:
    """/ping round trips (ms) and resident memory (kB) before, at peak and after, as reported."""
    return {
        "ping_ms_p50": round(float(np.median(ms)), 2),
        "ping_ms_p99": round(float(np.percentile(ms, 99)), 2),
        "ping_ms_worst": round(float(ms.max()), 2),
        "rss_mb_before": round(before / 1024, 1),
        "rss_mb_peak": round(peak / 1024, 1),
        "rss_mb_after": round(after / 1024, 1),
    }


def settled_rss(server: ServeProcess, udp: Udp, limit_s: float = 15.0) -> int:
    """The server's resident memory (kB) once warm: first calls allocate, and the server freezes
    its models into graphs in the background after it is ready. Asks until RSS stops growing."""
    last, end = -1, time.monotonic() + limit_s
    while time.monotonic() < end:
        for _ in range(20):
            udp.ask("/sample")
        time.sleep(0.5)
        now = server.rss()["VmRSS"]
        if abs(now - last) < 1024:
            return now
        last = now
    return last


def flood(models: list[str], seconds: float, clients: int, folder: Path, window: int = 64) -> dict:
    with ServeProcess(models, folder) as server:
        udp = Udp(server.address, timeout=1.0)
        z_dim, _ = model_shape(udp)
        before = settled_rss(server, udp)
        host, port = server.address
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "flood-client",
                    host,
                    str(port),
                    str(seconds),
                    str(i),
                    str(z_dim),
                    str(window),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for i in range(clients)
        ]
        time.sleep(1.0)  # let the clients start sending
        pings, lost, peak = ping_while_loaded(server, udp, seconds - 1.5, 0.02, before)
        totals = [tuple(map(int, p.communicate(timeout=seconds + 30)[0].split())) for p in procs]
        time.sleep(0.5)
        after = server.rss()["VmRSS"]
        sample = udp.ask("/sample")
        normal = (
            udp.ask("/ping").address == "/pong"
            and sample.address == "/pattern"
            and udp.ask("/model").address == "/model"
        )
        late = udp.stale
        udp.close()
        server.stop()
        failures = log_failures(server.log())
    ms = np.array(pings) * 1000
    return {
        "clients": clients,
        "seconds": seconds,
        "window": window,
        "requests_sent": sum(s for s, _ in totals),
        "replies_received": sum(r for _, r in totals),
        "pings": len(pings),
        "pings_lost": lost,
        "late_replies": late,
        **ping_and_memory_figures(ms, before, peak, after),
        "serves_normally_after": normal,
        **failures,
        "loadavg_1min": float(Path("/proc/loadavg").read_text().split()[0]),
    }


# ---------------------------------------------------------------------------- fault files


class Malicious:
    """Pickles as a call to `open(marker, "w")`: loading it with code execution creates a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def make_fault_files(folder: Path, good: Path, marker: Path) -> dict[str, Path]:
    """Bad checkpoints beside a good one's bytes: each kind of fault the issue names."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    raw = good.read_bytes()
    data = torch.load(good, map_location="cpu", weights_only=True)
    files = {"missing": folder / "missing.pt"}
    (folder / "truncated.pt").write_bytes(raw[: len(raw) // 2])
    (folder / "empty.pt").write_bytes(b"")
    corrupt = bytearray(raw)
    corrupt[:4096] = random.Random(0).randbytes(4096)
    (folder / "corrupt.pt").write_bytes(bytes(corrupt))
    torch.save({"hello": "world"}, folder / "not_pdbridge.pt")
    torch.save({**data, "format_version": 99}, folder / "wrong_version.pt")
    state = dict(data["state_dict"])
    key = next(k for k, v in state.items() if v.ndim == 2)
    state[key] = torch.zeros(state[key].shape[0] + 1, state[key].shape[1])
    torch.save({**data, "state_dict": state}, folder / "wrong_shape.pt")
    torch.save({"format": "pdbridge-checkpoint", "payload": Malicious(marker)}, folder / "evil.pt")
    for name in ("truncated", "empty", "corrupt", "not_pdbridge", "wrong_version", "wrong_shape"):
        files[name] = folder / f"{name}.pt"
    files["unsafe_pickle"] = folder / "evil.pt"
    return files


def run_cli(argv: list[str]) -> tuple[int, str]:
    """`pdbridge ...` in this process: its exit code and what it printed on stderr."""
    from pdbridge.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue().strip()


def in_process_server(models: list[str], model_dirs: list[Path], export_dir: Path, **config):
    """A real `Server` in this process (its client tables can be counted), with /load."""
    from pdbridge.inference.engine import Controls, Engine
    from pdbridge.serve.app import add_model
    from pdbridge.serve.protocol import Protocol
    from pdbridge.serve.server import Server, ServerConfig

    protocol = Protocol(
        Engine.load(models),
        Controls,
        max_clients=config.get("max_clients", 256),
        load_model=add_model,
        model_dirs=model_dirs,
        export_dir=export_dir,
    )
    server = Server(protocol, ServerConfig(port=0, **config))
    server.start()
    return server


# ---------------------------------------------------------------------------- faults


def faults(models: list[str], folder: Path, vanishing: int = 300) -> dict:
    from pdbridge.inference import checkpoint

    good = checkpoint.resolve(models[0])[0]
    files = make_fault_files(folder / "bad", good, folder / "marker")
    startup = []
    for kind, path in files.items():
        code, message = run_cli(["serve", "--port", "0", "--model", str(path)])
        startup.append({"case": kind, "exit_code": code, "message": message})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        code, message = run_cli(
            ["serve", "--port", str(busy.getsockname()[1]), "--model", str(good)]
        )
    startup.append({"case": "port_in_use", "exit_code": code, "message": message})
    # The same through a real process, to see the code reach the shell.
    proc = subprocess.run(
        [sys.executable, "-m", "pdbridge", "serve", "--model", str(files["missing"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    process_exit = {"case": "missing (process)", "exit_code": proc.returncode,
                    "message": proc.stderr.strip()}  # fmt: skip

    runtime = []
    server = in_process_server(models, [folder / "bad"], folder / "exports")
    udp = Udp(server.address, timeout=30)
    try:
        before = udp.ask("/model").args
        for kind in [*files, "unknown_model_switch"]:
            if kind == "unknown_model_switch":
                reply = udp.ask("/model", "no_such_model")
            else:
                reply = udp.ask("/load", files[kind].name)
            serving = udp.ask("/sample", 0.0, 1.0).address == "/pattern"
            same = udp.ask("/model").args == before
            runtime.append({"case": kind, "reply": " ".join(map(str, [reply.address, *reply.args])),
                            "still_serving": serving and same})  # fmt: skip
        shutil.copy(good, folder / "bad" / "fresh.pt")
        loaded = udp.ask("/load", "fresh")
        runtime.append({"case": "good file", "reply": " ".join(map(str, [loaded.address, *loaded.args])),
                        "still_serving": udp.ask("/sample").address == "/pattern"})  # fmt: skip
        vanish = vanishing_clients(server, vanishing)
    finally:
        udp.close()
        server.stop()
    return {
        "startup": startup,
        "process": process_exit,
        "runtime": runtime,
        "vanishing_clients": vanish,
        "marker_created": (folder / "marker").exists(),
    }


def vanishing_clients(server, count: int) -> dict:
    """Clients that send a sweep and close at once (replies bounce as ICMP port unreachable)."""
    z_dim = server.protocol.catalog.infos[0].z_dim
    zs = np.random.default_rng(0).standard_normal((20, z_dim)).astype(np.float32)
    sweep = [encode("/sample")] + [encode("/decode", z) for z in zs] + [encode("/ping")] * 10
    rounds = []
    for _ in range(3):
        for _ in range(count // 3):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            for data in sweep:
                s.sendto(data, server.address)
            s.close()  # gone before any reply
        time.sleep(0.5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            c.pending for c in list(server._clients.values())
        ):
            time.sleep(0.1)
        rounds.append(
            {
                "server_clients": len(server._clients),
                "protocol_clients": len(server.protocol.clients),
                "requests_waiting": sum(len(c.pending) for c in list(server._clients.values())),
                "rss_mb": round(rss_kb()["VmRSS"] / 1024, 1),
            }
        )
    probe = Udp(server.address)
    answers = probe.ask("/ping") is not None
    probe.close()
    return {
        "clients": count // 3 * 3,
        "datagrams_each": len(sweep),
        "max_clients": server.config.max_clients,
        "rounds": rounds,
        "answers_after": answers,
    }


# ---------------------------------------------------------------------------- security


def local_address() -> str | None:
    """This machine's address on a non-loopback interface, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def security(models: list[str], folder: Path) -> dict:
    from pdbridge.core.errors import ModelError
    from pdbridge.inference import checkpoint

    good = checkpoint.resolve(models[0])[0]
    result: dict[str, object] = {}

    code, message = run_cli(["serve", "--host", "0.0.0.0", "--model", str(good)])
    result["remote_without_flag"] = {"exit_code": code, "message": message}

    # Allow-list: a server on every interface, a client on this machine's LAN address.
    lan = local_address()
    if lan is None:
        result["allow_list"] = "skipped: no non-loopback address on this machine"
    else:
        allow = {}
        for networks in (["10.99.0.0/16"], [f"{lan}/32"]):
            server = in_process_server(
                models, [folder], folder / "exports", host="0.0.0.0", allow_remote=True,
                allow=networks,
            )  # fmt: skip
            port = server.address[1]
            outsider, insider = Udp((lan, port), 0.5, bind=lan), Udp(("127.0.0.1", port), 2.0)
            for _ in range(20):
                outsider.send(encode("/ping"))
            answered = 0
            while outsider.receive() is not None:
                answered += 1
            allow[" ".join(networks)] = {
                "sender": lan,
                "answered": answered,
                "of": 20,
                "dropped_counted": server.refused,
                "loopback_answered": insider.ask("/ping") is not None,
            }
            outsider.close()
            insider.close()
            server.stop()
        result["allow_list"] = allow

    # A checkpoint whose pickle would create a file if its code ran.
    marker = folder / "pwned"
    evil = folder / "evil.pt"
    import torch

    torch.save({"format": "pdbridge-checkpoint", "payload": Malicious(marker)}, evil)
    try:
        checkpoint.load(evil)
        refused = "loaded (!)"
    except ModelError as e:
        refused = str(e)
    result["malicious_pickle"] = {"message": refused, "file_created": marker.exists()}

    # Files named by requests stay inside their folders.
    inside, outside = folder / "allowed", folder / "outside"
    (inside / "exports").mkdir(parents=True, exist_ok=True)
    outside.mkdir(exist_ok=True)
    shutil.copy(good, outside / "secret.pt")
    shutil.copy(good, inside / "mine.pt")
    (inside / "link.pt").symlink_to(outside / "secret.pt")
    (inside / "exports" / "out").symlink_to(outside, target_is_directory=True)
    (inside / "exports" / "sneaky.mid").symlink_to(outside / "target.mid")
    server = in_process_server(models, [inside], inside / "exports")
    udp = Udp(server.address, timeout=30)
    paths = []
    try:
        udp.ask("/sample")
        for request, name in [
            ("/load", "../outside/secret.pt"),
            ("/load", str(outside / "secret.pt")),
            ("/load", "link.pt"),
            ("/load", "mine"),
            ("/export", "../../outside/x.mid"),
            ("/export", str(outside / "abs.mid")),
            ("/export", "out/x.mid"),
            ("/export", "sneaky.mid"),
            ("/export", "notes.txt"),
            ("/export", "beat.mid"),
        ]:
            reply = udp.ask(request, name)
            paths.append({"request": f"{request} {name}",
                          "reply": " ".join(map(str, [reply.address, *reply.args]))})  # fmt: skip
        before = rss_kb()["VmRSS"]
        huge = b"/encode\0,b\0\0" + struct.pack(">i", 2**31 - 1) + bytes(8)
        blob = udp.send(huge) or udp.receive()
        many = b"/encode\0" + _osc_string(b"," + b"f" * 30000)
        lst = udp.send(many) or udp.receive()
        sizes = {
            "blob_2GB_declared": " ".join(map(str, [blob.address, *blob.args])),
            "30000_floats_declared_none_sent": " ".join(map(str, [lst.address, *lst.args])),
            "rss_mb_growth": round((rss_kb()["VmRSS"] - before) / 1024, 1),
        }
    finally:
        udp.close()
        server.stop()
    result["paths"] = paths
    result["outside_files_written"] = sorted(
        p.name for p in outside.iterdir() if p.name != "secret.pt"
    )
    result["sizes"] = sizes
    return result


# ---------------------------------------------------------------------------- a class of clients


def class_clients(address, first: int, count: int, seconds: float, rate: float, cpu: int | None) -> dict:
    """`count` Pd-like clients in this process (one socket each, as a patch has): each stores two
    beats in slots a and b, then sweeps /interpolate `rate` times a second and asks /sample every
    2 s, reading every reply. Runs as `reliability.py class-clients ...` (one process per group,
    pinned away from the server's core)."""
    import selectors

    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    socks = []
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(10.0)
        for request in (encode("/sample", 1.0, float(first + i)), encode("/store", "a"),
                        encode("/sample", 1.0, float(first + i + 1000)), encode("/store", "b")):  # fmt: skip
            s.sendto(request, address)
            s.recv(1 << 16)
        s.setblocking(False)
        socks.append(s)
    selector = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        selector.register(s, selectors.EVENT_READ, i)
    sent = {"/interpolate": 0, "/sample": 0}
    replies = {"/pattern": 0, "/error": 0, "other": 0}
    errors: list[str] = []
    start = time.monotonic()
    period = 1.0 / rate
    # staggered: client i sends its k-th /interpolate at start + (k + i / count) * period
    next_sweep = [start + period * i / count for i in range(count)]
    next_sample = [start + 2.0 * i / count for i in range(count)]
    sweeps = [0] * count
    end = start + seconds

    def read(timeout: float) -> None:
        for key, _ in selector.select(timeout):
            s = key.fileobj
            while True:
                try:
                    reply = decode(s.recv(1 << 16))
                except (BlockingIOError, ConnectionRefusedError):
                    break
                kind = reply.address if reply.address in replies else "other"
                replies[kind] += 1
                if reply.address == "/error" and len(errors) < 5:
                    errors.append(" ".join(map(str, reply.args)))

    while (now := time.monotonic()) < end:
        for i, s in enumerate(socks):
            if now >= next_sweep[i]:
                t = abs(((sweeps[i] / (rate * 2.0)) % 2.0) - 1.0)  # 0 -> 1 -> 0 every 2 s
                s.sendto(encode("/interpolate", float(t)), address)
                sent["/interpolate"] += 1
                sweeps[i] += 1
                next_sweep[i] += period
            if now >= next_sample[i]:
                s.sendto(encode("/sample"), address)
                sent["/sample"] += 1
                next_sample[i] += 2.0
        read(max(0.0, min(min(next_sweep), min(next_sample)) - time.monotonic()))
    quiet = time.monotonic() + 2.0  # every reply still on its way
    while time.monotonic() < quiet:
        read(0.1)
    for s in socks:
        s.close()
    return {"sent": sent, "replies": replies, "errors": errors}


def class_load(models: list[str], clients: int, seconds: float, rate: float, folder: Path,
               groups: int = 4) -> dict:  # fmt: skip
    """A lab room: `clients` patches on one server pinned to one core, each sweeping
    /interpolate `rate` times a second and sampling every 2 s, while a pinger times /ping."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    server_cpu, client_cpu = cpus[0], cpus[-1]
    with ServeProcess(models, folder, "--workers", "1", cpu=server_cpu, verbose=True) as server:
        udp = Udp(server.address, timeout=1.0)
        before = settled_rss(server, udp)
        host, port = server.address
        per = -(-clients // groups)
        procs = []
        for g in range(groups):
            n = min(per, clients - g * per)
            if n <= 0:
                break
            procs.append(subprocess.Popen(
                [sys.executable, __file__, "class-clients", host, str(port), str(g * per), str(n),
                 str(seconds), str(rate), str(client_cpu)],
                stdout=subprocess.PIPE, text=True,
            ))  # fmt: skip
        time.sleep(1.0)  # the clients store their slots, then sweep
        pings, lost, peak = ping_while_loaded(server, udp, seconds - 1.0, 0.05, before)
        results = [json.loads(p.communicate(timeout=seconds + 120)[0]) for p in procs]
        time.sleep(0.5)
        after = server.rss()["VmRSS"]
        normal = udp.ask("/ping") is not None and udp.ask("/sample").address == "/pattern"
        udp.close()
        server.stop()
        log = server.log()
        failures = log_failures(log)
    sent = {k: sum(r["sent"][k] for r in results) for k in ("/interpolate", "/sample")}
    replies = {k: sum(r["replies"][k] for r in results) for k in ("/pattern", "/error", "other")}
    superseded = log.count("dropped a waiting /interpolate")
    total = sum(sent.values())
    ms = np.array(pings) * 1000 if pings else np.zeros(1)
    return {
        "clients": clients,
        "seconds": seconds,
        "interpolate_per_s_each": rate,
        "server_cpu": server_cpu,
        "requests_sent": total,
        "sent_interpolate": sent["/interpolate"],
        "sent_sample": sent["/sample"],
        "answered": sum(replies.values()),
        "error_replies": replies["/error"],
        "first_errors": [e for r in results for e in r["errors"]][:5],
        "superseded": superseded,  # the server's own count: a newer /interpolate replaced it
        "unaccounted": total - sum(replies.values()) - superseded,
        "pings": len(pings),
        "pings_lost": lost,
        **ping_and_memory_figures(ms, before, peak, after),
        "serves_normally_after": normal,
        **failures,
        "loadavg_1min": float(Path("/proc/loadavg").read_text().split()[0]),
    }


# ---------------------------------------------------------------------------- command line


def report(name: str, figures: dict) -> None:
    print(f"== {name}")
    for key, value in figures.items():
        if isinstance(value, list):
            print(f"  {key}:")
            for item in value:
                print(f"    {item}")
        else:
            print(f"  {key}: {value}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["class-clients"]:  # a group of a class's clients, started by `class`
        host, port, first, count, seconds, rate, cpu = argv[1:]
        result = class_clients(
            (host, int(port)), int(first), int(count), float(seconds), float(rate), int(cpu)
        )
        print(json.dumps(result))
        return 0
    if argv[:1] == ["flood-client"]:  # one flooding client, started by `flood`
        host, port, seconds, seed, z_dim, window = argv[1:]
        sent, received = flood_client(
            (host, int(port)), float(seconds), int(seed), int(z_dim), int(window)
        )
        print(sent, received)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["fuzz", "flood", "faults", "security", "class", "all"])
    parser.add_argument("--model", action="append", default=None, metavar="NAME_OR_PATH")
    parser.add_argument("--quick", action="store_true", help="the short version (tests)")
    parser.add_argument("--cases", type=int, default=None, help="fuzz cases (default 100000)")
    parser.add_argument("--seconds", type=float, default=None, help="flood time (default 30)")
    parser.add_argument(
        "--clients", type=int, default=None, help="flooding clients (default 4), class (32)"
    )
    parser.add_argument("--seed", type=int, default=1, help="fuzz seed (default 1)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    models = args.model or ["default"]
    cases = args.cases or (3000 if args.quick else 100_000)
    seconds = args.seconds or (3.0 if args.quick else 30.0)
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="pdbridge-reliability-") as tmp:
        tmp = Path(tmp)
        steps = ["fuzz", "flood", "faults", "security", "class"]
        steps = steps if args.what == "all" else [args.what]
        for step in steps:
            folder = tmp / step
            folder.mkdir()
            if step == "fuzz":
                out[step] = fuzz(models, cases, args.seed, folder)
            elif step == "flood":
                out[step] = flood(models, seconds, args.clients or 4, folder)
            elif step == "class":
                out[step] = class_load(
                    models, args.clients or 32,
                    args.seconds or (4.0 if args.quick else 60.0), 60.0, folder,
                )  # fmt: skip
            elif step == "faults":
                out[step] = faults(models, folder, vanishing=60 if args.quick else 600)
            else:
                out[step] = security(models, folder)
            if not args.json:
                report(step, out[step])
    if args.json:
        print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
