"""`pdbridge convert IN OUT`: a drum pattern between .mid and .json (either way, or re-written)."""

from __future__ import annotations

import argparse

from pdbridge.cli.options import (
    add_pattern_input_options,
    float_range,
    input_file,
    int_range,
    midi_channel,
    output_file,
)
from pdbridge.core import limits
from pdbridge.core.pattern import Pattern
from pdbridge.core.pattern_files import PATTERN_SUFFIXES, load_pattern, save_pattern


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("input", type=input_file(*PATTERN_SUFFIXES), help=".mid or .json")
    parser.add_argument("output", type=output_file(*PATTERN_SUFFIXES), help=".mid or .json")
    parser.add_argument(
        "--bars",
        type=int_range(1, limits.MAX_PATTERN_BARS),
        help=f"cut or pad to this many 4/4 bars (1..{limits.MAX_PATTERN_BARS})",
    )
    parser.add_argument(
        "--bpm",
        type=float_range(limits.MIN_BPM, limits.MAX_BPM),
        help=f"set the tempo, {limits.MIN_BPM:g}..{limits.MAX_BPM:g} (default: the input's)",
    )
    add_pattern_input_options(parser)


def run(args: argparse.Namespace) -> int:
    channel = midi_channel(args)
    pattern = load_pattern(args.input, args.bars, channel, args.any_meter)
    if args.bpm is not None:
        pattern = Pattern(pattern.hits, pattern.velocities, pattern.offsets, bpm=args.bpm)
    save_pattern(pattern, args.output, channel)
    print(f"{args.output}: {pattern.num_hits} hits, {pattern.steps} steps, {pattern.bpm:g} bpm")
    return 0
