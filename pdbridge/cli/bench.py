"""`pdbridge bench`: the server against a bare UDP echo and a naive server (`pdbridge.evaluate.bench`)."""

from __future__ import annotations

import argparse
import json
import sys

from pdbridge.cli.options import cpu, float_range, int_range
from pdbridge.core import limits
from pdbridge.evaluate.bench import KINDS, BenchConfig, run_bench


def format_table(r: dict) -> str:
    lines = [
        f"pdbridge bench: model {r['model']}, client and servers pinned to CPU {r['cpu']}, "
        f"{r['requests']} round trips per request",
        "",
        f"{'request':<12}{'p50 us':>9}{'p99 us':>9}{'floor':>9}{'model':>9}{'overhead':>10}"
        f"{'naive':>10}{'speedup':>9}{'model*':>9}",
    ]
    for kind in KINDS:
        lines.append(
            f"{kind:<12}{r[f'{kind}_p50_us']:>9.1f}{r[f'{kind}_p99_us']:>9.1f}"
            f"{r[f'floor_{kind}_p50_us']:>9.1f}{r[f'model_{kind}_p50_us']:>9.1f}"
            f"{r[f'overhead_{kind}_p50_us']:>10.1f}{r[f'naive_{kind}_p50_us']:>10.1f}"
            f"{r[f'speedup_{kind}_vs_naive']:>8.1f}x"
            f"{r[f'model_after_rtt_{kind}_p50_us']:>9.1f}"
        )
    lines += [
        "",
        "overhead = p50 - floor p50 - model p50 (all p50, microseconds); model = the engine call "
        "in a tight loop; model* = the same call right after a bare UDP round trip (caches "
        "disturbed as in any server; shown, not subtracted)",
        f"throughput: {r['throughput_per_s']:.0f} decodes/s with 8 in flight for "
        f"{r['throughput_seconds']:.1f} s ({r['throughput_received']} of {r['throughput_sent']} "
        f"replies received, {r['throughput_errors']} errors)",
        f"start to ready: {r['ready_s']:.2f} s (process start to first /pong)",
        f"peak memory of the server: {r['peak_rss_mb']:.0f} MB",
        f"load average during the run: {r['load_average']:.2f} (0 on an idle machine)",
    ]
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser, command_name: str) -> None:
    parser.add_argument(
        "--model", action="append", default=None, metavar="NAME_OR_PATH", help="default: default"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument(
        "--requests",
        type=int_range(1, limits.MAX_BENCH_REQUESTS),
        default=None,
        help=f"round trips per request type, 1..{limits.MAX_BENCH_REQUESTS}",
    )
    parser.add_argument(
        "--seconds",
        type=float_range(0.0, limits.MAX_BENCH_SECONDS, lo_open=True),
        default=None,
        help=f"throughput run length (seconds, at most {limits.MAX_BENCH_SECONDS:g})",
    )
    parser.add_argument(
        "--cpu", type=cpu, default=None, help="CPU to pin to, one this process may use (default: the last)"
    )


def run(args: argparse.Namespace) -> int:
    quick = args.quick
    config = BenchConfig(
        models=args.model or ["default"],
        requests=args.requests or (200 if quick else 2000),
        naive_requests=min(args.requests or 500, 50 if quick else 500),
        throughput_seconds=args.seconds or (1.0 if quick else 10.0),
        cpu=args.cpu,
        rounds=10 if quick else 50,
    )
    result = run_bench(config, log=lambda s: print(f"... {s}", file=sys.stderr, flush=True))
    print(json.dumps(result, indent=1) if args.json else format_table(result))
    return 0
