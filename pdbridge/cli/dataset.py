"""`pdbridge dataset DIR`: read a Groove MIDI Dataset folder, count and cache its windows."""

from __future__ import annotations

import argparse
import time

from pdbridge.cli.options import input_dir, int_range, writable_dir
from pdbridge.core import limits
from pdbridge.train.dataset import DatasetConfig, default_cache_dir, load_windows


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument(
        "dir", type=input_dir, help="dataset folder (GMD layout or any folder of .mid)"
    )
    parser.add_argument("--split", action="append", help="only this split (repeatable)")
    parser.add_argument(
        "--time-signature", type=meter, default="4-4", help="e.g. 4-4; 'any' for all"
    )
    parser.add_argument("--beat-type", choices=["beat", "fill", "both"], default="both")
    parser.add_argument(
        "--min-hits",
        type=int_range(0, limits.MAX_MIN_HITS),
        default=DatasetConfig.min_hits,
        help=f"windows with fewer hits are left out, 0..{limits.MAX_MIN_HITS}",
    )
    parser.add_argument("--cache-dir", type=writable_dir, help=f"default {default_cache_dir()}")
    parser.add_argument("--no-cache", action="store_true", help="read the MIDI files again")


def meter(text: str) -> str:
    """argparse type: a time signature as the dataset writes it, e.g. 4-4, or 'any'."""
    numerator, sep, denominator = text.partition("-")
    if text != "any" and not (sep and numerator.isdigit() and denominator.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NUMERATOR-DENOMINATOR (e.g. 4-4) or any")
    return text


def config_from_args(args: argparse.Namespace) -> DatasetConfig:
    return DatasetConfig(
        splits=tuple(args.split) if args.split else None,
        time_signature=None if args.time_signature == "any" else args.time_signature,
        beat_types=("beat", "fill") if args.beat_type == "both" else (args.beat_type,),
        min_hits=args.min_hits,
    )


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    w = load_windows(args.dir, config_from_args(args), args.cache_dir, not args.no_cache)
    seconds = time.perf_counter() - start
    print(f"{len(w)} windows of 2 bars from {args.dir} in {seconds:.2f} s")
    splits = w.counts("split")
    styles = sorted(w.counts("style"))
    print(f"{'style':<14}" + "".join(f"{s:>12}" for s in splits))
    for style in styles:
        sub = w.where(style=style)
        print(f"{style:<14}" + "".join(f"{int((sub.split == s).sum()):>12}" for s in splits))
    print(f"{'total':<14}" + "".join(f"{n:>12}" for n in splits.values()))
    return 0
