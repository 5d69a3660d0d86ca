"""Helpers to run real Pure Data in tests and read what it prints.

Pd exits 0 even when objects fail to create, so the tests read its stderr. A test that needs Pd
calls `need_pd()`: it skips when `pd` is missing, unless PDBRIDGE_REQUIRE_PD=1 (CI), where a
missing Pd is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PATCHES = REPO / "patches"
PD_FLAGS = ["-nogui", "-nosound", "-nomidi", "-noprefs", "-stderr", "-sleepgrain", "1"]

# What Pd prints when a patch is broken (it still exits 0).
ERROR_RE = re.compile(
    r"couldn't create|error:|connection failed|bad arguments|no method|"
    r"can't connect|stack overflow|... couldn't",
    re.IGNORECASE,
)


def pd_path() -> str | None:
    return shutil.which("pd")


def need_pd() -> str:
    """The pd executable; skip the test without it (fail when PDBRIDGE_REQUIRE_PD=1)."""
    pd = pd_path()
    if pd is None:
        if os.environ.get("PDBRIDGE_REQUIRE_PD") == "1":
            pytest.fail("pd not found but PDBRIDGE_REQUIRE_PD=1 (install puredata-core)")
        pytest.skip("pd not found (install puredata-core)")
    return pd


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if ERROR_RE.search(line)]


def run_batch(
    patch: Path,
    sends: tuple[str, ...] = (),
    timeout: float = 20.0,
    quit: bool = True,
    search_path: bool = True,
    flags: tuple[str, ...] = (),
) -> str:
    """Open a patch with -batch (logical time runs as fast as possible), return stderr.

    With quit=True we send `pd quit` last, so opening alone is tested; otherwise the patch (or a
    send) must quit Pd itself. search_path=False opens it as a user would, without -path.
    """
    cmd = [
        need_pd(),
        *PD_FLAGS,
        *flags,
        "-batch",
        *(["-path", str(PATCHES)] if search_path else []),
    ]
    cmd += ["-open", str(patch)]
    for s in (*sends, *(["pd quit"] if quit else [])):
        cmd += ["-send", s]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=patch.parent)
    return done.stderr


@dataclass
class Line:
    t: float  # wall clock (time.monotonic) when Python read it
    text: str


@dataclass
class LivePd:
    """Pd running in real time (sockets polled), with its stderr collected line by line.

    The patch may hold a [netreceive -u] that this object talks to with FUDI messages (`send`).
    """

    patch: Path
    sends: tuple[str, ...] = ()
    also_open: tuple[Path, ...] = ()
    lines: list[Line] = field(default_factory=list)

    def __enter__(self) -> LivePd:
        cmd = [need_pd(), *PD_FLAGS, "-path", str(PATCHES), "-open", str(self.patch)]
        for extra in self.also_open:
            cmd += ["-open", str(extra)]
        for s in self.sends:
            cmd += ["-send", s]
        self.proc = subprocess.Popen(
            cmd,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            cwd=self.patch.parent,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        return self

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            with self._lock:
                self.lines.append(Line(time.monotonic(), raw.rstrip("\n")))

    def __exit__(self, *exc) -> None:
        self._sock.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(timeout=2)

    def send(self, port: int, message: str) -> None:
        """One FUDI message (no trailing semicolon needed) to the patch's [netreceive -u port]."""
        self._sock.sendto((message.rstrip(";") + ";\n").encode(), ("127.0.0.1", port))

    def text(self) -> str:
        with self._lock:
            return "\n".join(line.text for line in self.lines)

    def since(self, t0: float) -> list[Line]:
        with self._lock:
            return [line for line in self.lines if line.t >= t0]

    def wait_for(self, pattern: str, timeout: float = 5.0, after: float = 0.0) -> Line:
        """The first line at or after `after` (monotonic time) matching the regex `pattern`."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.since(after):
                if rx.search(line.text):
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(
            f"Pd never printed /{pattern}/ within {timeout} s; it printed:\n" + self.text()[-3000:]
        )


class Server:
    """`pdbridge serve` on a free port, as a subprocess (start, stop, start again)."""

    def __init__(self, port: int | None = None, args: tuple[str, ...] = ()):
        self.port = port or free_udp_port()
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Server:
        exe = Path(sys.executable).parent / "pdbridge"
        cmd = [
            str(exe) if exe.exists() else "pdbridge",
            "serve",
            "--port",
            str(self.port),
            *self.args,
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Ready when it answers /ping."""
        from pythonosc.osc_message import OscMessage
        from pythonosc.osc_message_builder import OscMessageBuilder

        ping = OscMessageBuilder("/ping").build().dgram
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    out = self.proc.stdout.read() if self.proc.stdout else ""
                    raise RuntimeError(f"pdbridge serve exited early:\n{out}")
                s.sendto(ping, ("127.0.0.1", self.port))
                try:
                    data = s.recv(65536)
                except (TimeoutError, ConnectionRefusedError, OSError):
                    continue
                if OscMessage(data).address == "/pong":
                    return
        raise RuntimeError(f"pdbridge serve did not answer /ping on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------
# The harness patch: client + player, driven over FUDI, logging to stderr
# ---------------------------------------------------------------------------------------------

HARNESS = """#N canvas 0 50 700 500 12;
#X obj 20 20 netreceive -u {ctl_port};
#X obj 20 50 route client player quit pattern after at clock;
#X obj 20 120 pdbridge-client 127.0.0.1 {server_port};
#X obj 20 220 t a a;
#X obj 300 60 t a b;
#X obj 300 160 timer;
#X obj 20 300 pdbridge-player;
#X obj 20 400 t a b b;
#X obj 20 430 list prepend;
#X obj 20 460 print ev;
#X obj 160 400 t f b;
#X obj 160 430 list prepend;
#X obj 160 460 print step;
#X obj 300 220 list split 1;
#X obj 300 330 print got-pattern;
#X obj 420 180 print connected;
#X obj 420 150 print reply;
#X msg 200 20 \\; pd quit;
#X obj 500 400 array define hpat 3456;
#X obj 420 260 t b a;
#X obj 440 290 array set hpat;
#X msg 420 320 \\; hpat write pattern.txt;
#X obj 160 20 r ctl;
#X obj 200 90 delay;
#X obj 560 20 list split 1;
#X obj 560 50 delay;
#X obj 560 80 list;
#X obj 560 110 list trim;
#X obj 200 160 metro 10;
#X msg 200 190 rt 248;
#X obj 200 130 t f f;
#X obj 100 370 realtime;
#X obj 20 370 list append;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 1 1 4 0;
#X connect 1 2 17 0;
#X connect 2 0 3 0;
#X connect 2 1 16 0;
#X connect 2 2 15 0;
#X connect 3 0 6 0;
#X connect 3 1 13 0;
#X connect 4 0 6 0;
#X connect 4 1 5 0;
#X connect 6 0 7 0;
#X connect 6 1 10 0;
#X connect 7 0 32 0;
#X connect 32 0 8 0;
#X connect 7 2 31 1;
#X connect 31 0 32 1;
#X connect 4 1 31 0;
#X connect 7 1 5 1;
#X connect 5 0 8 1;
#X connect 5 0 11 1;
#X connect 8 0 9 0;
#X connect 10 0 11 0;
#X connect 10 1 5 1;
#X connect 11 0 12 0;
#X connect 13 0 14 0;
#X connect 13 1 19 0;
#X connect 19 0 21 0;
#X connect 19 1 20 0;
#X connect 22 0 1 0;
#X connect 1 3 3 0;
#X connect 1 4 23 0;
#X connect 23 0 17 0;
#X connect 1 5 24 0;
#X connect 24 0 25 0;
#X connect 24 1 26 1;
#X connect 25 0 26 0;
#X connect 26 0 27 0;
#X connect 27 0 1 0;
#X connect 1 6 30 0;
#X connect 30 1 28 1;
#X connect 30 0 28 0;
#X connect 28 0 29 0;
#X connect 29 0 6 0;
"""


def write_harness(directory: Path, server_port: int, ctl_port: int) -> Path:
    """The harness patch: FUDI on ctl_port (or [r ctl]) -> `client ...` / `player ...` / `quit` /
    `pattern <steps> <floats>` (straight to the player) / `after <ms>` (quit then) / `at <ms> <message>` (one message later) /
    `clock <ms>` (MIDI clock bytes `rt 248` to the player every ms).

    It prints `connected <0|1>`, `got-pattern <steps>` (and writes the pattern to pattern.txt),
    `ev <ms> <voice> <velocity> <real ms>` for each event and `step <ms> <step>` at each grid
    line: logical time ([timer]) and real time ([realtime]) since the last `player ...` message.
    """
    path = directory / "harness.pd"
    path.write_text(HARNESS.format(ctl_port=ctl_port, server_port=server_port))
    return path


@dataclass
class Event:
    ms: float  # logical time
    voice: int
    velocity: float
    real_ms: float  # wall clock inside Pd
    seen: float  # when Python read the line (time.monotonic)


def events(lines: list[Line]) -> list[Event]:
    out = []
    for line in lines:
        m = re.match(r"ev: (\S+) (\S+) (\S+) (\S+)$", line.text)
        if m:
            ms, voice, vel, real = (float(x) for x in m.groups())
            out.append(Event(ms, int(voice), vel, real, line.t))
    return out


def read_pattern(directory: Path, steps: int, timeout: float = 2.0):
    """The pattern the harness wrote to pattern.txt as a (steps, 27) array. Pd may be writing
    the file again when we look (a pattern shared twice, e.g. at a bar swap): read until it is
    whole."""
    import numpy as np

    deadline = time.monotonic() + timeout
    while True:
        values = [float(x) for x in (directory / "pattern.txt").read_text().split()]
        if len(values) >= 27 * steps or time.monotonic() > deadline:
            return np.array(values[: 27 * steps], dtype=np.float32).reshape(steps, 27)
        time.sleep(0.02)


# The performance patch's probe: forwards FUDI `fwd <receiver> <message>` to any receiver
# (pdbridge-client, pdbridge-player, pdbridge-sweep ...) and logs what pdbridge.pd shares.
PROBE = """#N canvas 0 50 600 400 12;
#X obj 20 20 netreceive -u {ctl_port};
#X obj 20 50 route fwd;
#X obj 20 80 list split 1;
#X obj 20 140 t b s;
#X obj 120 170 list;
#X obj 120 200 send;
#X obj 300 20 r pdbridge-pattern;
#X obj 300 50 t a a;
#X obj 300 80 list split 1;
#X obj 300 110 print perf-pattern;
#X obj 420 80 list split 1;
#X obj 420 110 t b a;
#X obj 440 140 array set ppat;
#X msg 420 170 \\; ppat write pattern.txt;
#X obj 420 200 array define ppat 3456;
#X obj 300 250 r pdbridge-events;
#X obj 300 280 print perf-ev;
#X obj 20 110 symbol;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 2 1 4 1;
#X connect 2 0 17 0;
#X connect 17 0 3 0;
#X connect 3 1 5 1;
#X connect 3 0 4 0;
#X connect 4 0 5 0;
#X connect 6 0 7 0;
#X connect 7 1 8 0;
#X connect 8 0 9 0;
#X connect 7 0 10 0;
#X connect 10 1 11 0;
#X connect 11 1 12 0;
#X connect 11 0 13 0;
#X connect 15 0 16 0;
"""


def write_probe(directory: Path, ctl_port: int) -> Path:
    """A patch to open beside patches/pdbridge.pd: `fwd <receiver> <message...>` over FUDI on
    ctl_port; prints `perf-pattern <steps>` (and writes pattern.txt) for each pattern the
    performance patch receives and `perf-ev <voice> <velocity>` for each event it plays."""
    path = directory / "probe.pd"
    path.write_text(PROBE.format(ctl_port=ctl_port))
    return path
