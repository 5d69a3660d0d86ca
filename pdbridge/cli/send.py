"""`pdbridge send ADDRESS [ARGS...]`: one OSC request to a running server, its reply printed."""

from __future__ import annotations

import argparse
import sys

from pdbridge.cli.options import (
    add_pattern_input_options,
    float_range,
    input_file,
    midi_channel,
    port,
)
from pdbridge.core import limits
from pdbridge.core.errors import PdbridgeError, UsageError
from pdbridge.core.pattern import FEATURES, Pattern
from pdbridge.core.pattern_files import PATTERN_SUFFIXES, load_pattern
from pdbridge.serve.address import DEFAULT_HOST, DEFAULT_PORT
from pdbridge.serve.client import Client
from pdbridge.serve.osc_codec import Message

# Options may come after the arguments: `pdbridge send /continue --pattern x.mid 4`.
INTERMIXED = True


def configure(parser: argparse.ArgumentParser, command_name: str) -> None:
    parser.add_argument("address", help="OSC address, e.g. /ping or /sample")
    parser.add_argument(
        "args",
        nargs="*",
        help="arguments: numbers are sent as floats (as Pd does), words as symbols",
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=port(), default=DEFAULT_PORT, help="UDP port 1..65535")
    parser.add_argument(
        "--timeout",
        type=float_range(0.0, limits.MAX_TIMEOUT_S, lo_open=True),
        default=5.0,
        help=f"seconds to wait for the reply (above 0, at most {limits.MAX_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--pattern",
        type=input_file(*PATTERN_SUFFIXES),
        metavar="FILE",
        help="a pattern (.mid or .json, fitted to 32 steps) as 864 floats, e.g. for /encode: "
        "after the other arguments, except for /continue, which takes it first and the bar count "
        "after it (pdbridge send /continue --pattern x.mid 4)",
    )
    add_pattern_input_options(parser)
    parser.add_argument("--raw", action="store_true", help="print every number of the reply")


# Requests whose pattern comes before their other arguments (docs/protocol.md).
PATTERN_FIRST = frozenset({"/continue"})


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
        raise UsageError(f"argument address: an OSC address starts with '/': got {args.address!r}")
    values: list[object] = [_parse_arg(a) for a in args.args]
    if args.pattern is not None:
        pattern = load_pattern(
            args.pattern, bars=2, channel=midi_channel(args), any_meter=args.any_meter
        ).to_flat()
        values = [pattern, *values] if args.address in PATTERN_FIRST else [*values, pattern]
    try:
        client = Client(args.host, args.port, timeout=args.timeout)
    except OSError as e:  # an unknown host name, an address of another family
        raise UsageError(f"argument --host: cannot use {args.host!r} ({e.strerror or e})") from None
    with client:
        try:
            client.send(args.address, *values)
        except OSError as e:
            raise PdbridgeError(f"cannot send to {args.host}:{args.port} ({e.strerror or e})") from None
        except (ValueError, TypeError, OverflowError) as e:  # e.g. a datagram over 64 KB
            raise UsageError(f"cannot encode {args.address}: {e}") from None
        try:
            reply = client.receive()
        except ConnectionRefusedError:
            raise PdbridgeError(
                f"no server on {args.host}:{args.port} (is `pdbridge serve` running?)"
            ) from None
    text = format_reply(reply, args.raw)
    if reply.address == "/error":
        print(text, file=sys.stderr)
        return 1
    print(text)
    return 0
