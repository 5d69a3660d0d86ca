"""`pdbridge convert IN OUT`: a drum pattern between .mid and .json (either way, or re-written)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pdbridge.core.errors import BadInputError
from pdbridge.core.midi import DRUM_CHANNEL
from pdbridge.core.pattern import Pattern
from pdbridge.core.pattern_files import load_pattern, save_pattern


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("input", type=Path, help=".mid or .json")
    parser.add_argument("output", type=Path, help=".mid or .json")
    parser.add_argument("--bars", type=int, help="cut or pad to this many 4/4 bars")
    parser.add_argument("--bpm", type=float, help="set the tempo (default: the input's)")
    parser.add_argument(
        "--channel",
        type=int,
        default=DRUM_CHANNEL + 1,
        help="MIDI drum channel 1-16 (default 10); 0 = any",
    )
    parser.add_argument("--any-meter", action="store_true", help="convert files not in 4/4 too")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.channel <= 16:
        raise BadInputError(f"--channel {args.channel}: MIDI channels are 1-16 (0 = any)")
    if args.bars is not None and args.bars < 1:
        raise BadInputError(f"--bars {args.bars}: need at least 1")
    channel = args.channel - 1 if args.channel else None
    pattern = load_pattern(args.input, args.bars, channel, args.any_meter)
    if args.bpm is not None:
        pattern = Pattern(pattern.hits, pattern.velocities, pattern.offsets, bpm=args.bpm)
    save_pattern(pattern, args.output, channel)
    print(f"{args.output}: {pattern.num_hits} hits, {pattern.steps} steps, {pattern.bpm:g} bpm")
    return 0
