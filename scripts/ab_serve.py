"""A/B two versions of `pdbridge serve` in one interleaved run, for changes worth a few us.

    git worktree add /tmp/pdbridge-a HEAD        # the version to compare against
    .venv/bin/python scripts/ab_serve.py /tmp/pdbridge-a .

Both servers (each run from its own source tree, with this venv's packages) and this client are
pinned to one CPU, as in `pdbridge bench`. Round trips alternate between A and B in short blocks,
so a change in the machine's speed falls on both alike; besides each side's p50 it prints the
median of the per-block differences (B - A), which stays steady when the p50s wander.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pdbridge.evaluate.bench import (  # noqa: E402
    ServerTarget,
    free_port,
    make_requests,
    model_shape,
    pin,
    wait_for_pong,
)

KINDS = ("decode", "sample", "encode", "interpolate", "ping")


def start(tree: Path, cpu: int, extra: list[str]) -> tuple[subprocess.Popen, tuple]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pdbridge", "serve", "--port", str(port), *extra],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: pin(cpu),
    )
    address = ("127.0.0.1", port)
    wait_for_pong(address, time.perf_counter() + 60)
    return proc, address


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="source tree of version A (the baseline)")
    parser.add_argument("b", type=Path, help="source tree of version B")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--block", type=int, default=30, help="round trips per block")
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument(
        "--a-args", default="", help="extra `serve` options for A, e.g. '--batch 1'"
    )
    parser.add_argument("--b-args", default="", help="extra `serve` options for B")
    args = parser.parse_args()
    pin(args.cpu)
    z_dim, steps, _ = model_shape(["default"])
    requests = make_requests(z_dim, steps)
    procs = []
    try:
        targets = {}
        for name, tree, extra in (("A", args.a, args.a_args), ("B", args.b, args.b_args)):
            proc, address = start(tree.resolve(), args.cpu, extra.split())
            procs.append(proc)
            targets[name] = ServerTarget(address, requests)
        time.sleep(5)  # both servers freeze their models in the background first
        times = {(n, k): [] for n in targets for k in KINDS}
        diffs = {k: [] for k in KINDS}
        for r in range(args.rounds):
            for kind in KINDS:
                block = {}
                for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
                    block[name] = targets[name].run(kind, args.block)
                    times[(name, kind)].extend(block[name])
                diffs[kind].append(np.median(block["B"]) - np.median(block["A"]))
        print(f"{'request':12} {'A p50 us':>9} {'B p50 us':>9} {'B-A':>7} {'B-A by block':>13}")
        for kind in KINDS:
            a, b = (np.median(times[(n, kind)]) / 1000 for n in ("A", "B"))
            paired = np.median(diffs[kind]) / 1000
            print(f"{kind:12} {a:9.1f} {b:9.1f} {b - a:7.1f} {paired:13.1f}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
