"""`pdbridge send ADDRESS [ARGS...]`: one OSC request to a running server, its reply printed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pdbridge.core.errors import BadInputError
from pdbridge.core.pattern import FEATURES, Pattern
from pdbridge.serve.address import DEFAULT_HOST, DEFAULT_PORT
from pdbridge.serve.client import Client
from pdbridge.serve.osc_codec import Message


def configure(parser: argparse.ArgumentParser, command_name: str) -> None:
    parser.add_argument("address", help="OSC address, e.g. /ping or /sample")
    parser.add_argument(
        "args",
        nargs="*",
        help="arguments: numbers are sent as floats (as Pd does), words as symbols",
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the reply")
    parser.add_argument(
        "--pattern",
        type=Path,
        metavar="FILE",
        help="append a pattern (.mid or .json, fitted to 32 steps) as 864 floats, e.g. for /encode",
    )
    parser.add_argument("--raw", action="store_true", help="print every number of the reply")


def _parse_arg(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def format_reply(reply: Message, raw: bool = False) -> str:
    """A reply for a terminal: patterns as drum tabs, long vectors shortened."""
    if reply.address == "/pattern" and not raw:
        pattern = Pattern.from_array(reply.floats(1).reshape(-1, FEATURES))
        return f"/pattern {pattern.steps} steps, {pattern.num_hits} hits\n{pattern.to_text()}"
    args = reply.args
    if len(args) > 12 and not raw:
        shown = " ".join(f"{a:.4g}" if isinstance(a, float) else str(a) for a in args[:9])
        return f"{reply.address} {shown} ... ({len(args)} values; --raw prints all)"
    return " ".join(
        [reply.address] + [f"{a:.6g}" if isinstance(a, float) else str(a) for a in args]
    )


def run(args: argparse.Namespace) -> int:
    if not args.address.startswith("/"):
        raise BadInputError(f"an OSC address starts with '/': got {args.address!r}")
    values: list[object] = [_parse_arg(a) for a in args.args]
    if args.pattern is not None:
        from pdbridge.core.pattern_files import load_pattern

        values.append(load_pattern(args.pattern, bars=2).to_flat())
    with Client(args.host, args.port, timeout=args.timeout) as client:
        client.send(args.address, *values)
        reply = client.receive()
    text = format_reply(reply, args.raw)
    if reply.address == "/error":
        print(text, file=sys.stderr)
        return 1
    print(text)
    return 0
