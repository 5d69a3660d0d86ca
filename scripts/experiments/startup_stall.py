"""How long does `/ping` wait in the first seconds after `pdbridge serve` says it is ready?

The server answers with the plain models at once and freezes them into TorchScript graphs in a
background thread; anything that holds the GIL for long there delays every reply. This starts a
real server, pings it every 2 ms from its ready line on for 4 s, and prints the worst round trip
in each half second.

    .venv/bin/python scripts/experiments/startup_stall.py [--port 14997]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

from pdbridge.serve.osc_codec import encode

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=14997)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "pdbridge", "serve", "--port", str(args.port)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        print(server.stdout.readline().strip())
        ready = time.monotonic()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2.0)
        ping = encode("/ping")
        pings: list[tuple[float, float]] = []  # (seconds after ready, round trip ms)
        while time.monotonic() - ready < args.seconds:
            sent = time.monotonic()
            sock.sendto(ping, ("127.0.0.1", args.port))
            sock.recv(1024)
            pings.append((sent - ready, (time.monotonic() - sent) * 1000))
            time.sleep(0.002)
    finally:
        server.terminate()
        server.wait()
    step = 0.5
    for i in range(int(args.seconds / step)):
        ms = [m for t, m in pings if i * step <= t < (i + 1) * step]
        if ms:
            print(
                f"{i * step:.1f}-{(i + 1) * step:.1f} s after ready: {len(ms):4d} pings, worst {max(ms):6.1f} ms"
            )


if __name__ == "__main__":
    main()
