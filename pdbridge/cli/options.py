"""argparse types for every number, file and folder a command takes: one helper, one message style.

    parser.add_argument("--bars", type=int_range(1, MAX_PATTERN_BARS), default=2)
    parser.add_argument("input", type=input_file(".mid", ".json"))

A number out of range or a folder that cannot be written is a usage error: argparse reports it as
`pdbridge CMD: error: argument --bars: 100000 out of range 1..1024` (one line, exit 2, see
`Parser`). An input file that does not exist, is a folder or is too large is a bad input (exit 3,
`BadInputError` naming the file): argparse passes exceptions other than ArgumentTypeError /
ValueError / TypeError through, and `pdbridge.cli.main` prints them.

Every check here runs while the command line is parsed, before any model loads or file is written.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pdbridge.core import limits
from pdbridge.core.errors import BadInputError, UsageError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: `UsageError` (exit 2) instead of usage text
    and SystemExit, so `pdbridge.cli.main` prints `pdbridge CMD: error: ...` like every other
    error. `--help` still prints the full usage."""

    def error(self, message: str) -> None:  # argparse calls this for every command-line error
        message = " ".join(message.split())  # argparse's messages may span lines
        raise UsageError(f"{message} (see {self.prog} --help)")


class _Typed:
    """A callable argparse type with a readable name (argparse prints `invalid <name> value`)."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __repr__(self) -> str:
        return self.__name__


class int_range(_Typed):  # noqa: N801 (used like the builtin int)
    """A whole number in lo..hi (either bound None: open)."""

    def __init__(self, lo: int | None, hi: int | None, special: Sequence[int] = ()) -> None:
        super().__init__("integer")
        self.lo, self.hi, self.special = lo, hi, tuple(special)

    def range_text(self) -> str:
        lo = "" if self.lo is None else f"{self.lo}"
        hi = "" if self.hi is None else f"{self.hi}"
        text = f"{lo}..{hi}"
        return text + "".join(f" or {s}" for s in self.special)

    def __call__(self, text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value in self.special:
            return value
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise argparse.ArgumentTypeError(f"{value} out of range {self.range_text()}")
        return value


class float_range(_Typed):  # noqa: N801
    """A finite number in lo..hi; `lo_open`: lo itself is not allowed (e.g. a timeout > 0)."""

    def __init__(self, lo: float, hi: float, lo_open: bool = False) -> None:
        super().__init__("number")
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def range_text(self) -> str:
        return f"{self.lo:g}..{self.hi:g}{f' (above {self.lo:g})' if self.lo_open else ''}"

    def __call__(self, text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if value < self.lo or value > self.hi or (self.lo_open and value == self.lo):
            raise argparse.ArgumentTypeError(f"{value:g} out of range {self.range_text()}")
        return value


def seed(text: str) -> int | None:
    """A seed 0..2^31-1, or -1 for random (None), as over OSC."""
    value = int_range(0, limits.MAX_SEED, special=(-1,))(text)
    return None if value == -1 else value


seed.__name__ = "seed"


def cpu(text: str) -> int:
    """A CPU this process may run on (`os.sched_getaffinity`)."""
    value = int_range(0, None)(text)
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    if allowed is not None and value not in allowed:
        shown = ", ".join(map(str, allowed))
        raise argparse.ArgumentTypeError(f"CPU {value} is not available (this machine: {shown})")
    return value


def _file_size_limit(path: Path) -> int | None:
    suffix = path.suffix.lower()
    if suffix in (".mid", ".midi"):
        return limits.MAX_MIDI_BYTES
    if suffix == ".json":
        return limits.MAX_JSON_BYTES
    return None


def check_input_file(path: Path, suffixes: Sequence[str] = ()) -> Path:
    """`path` exists, is a file, has one of `suffixes` (if given) and is within its size limit;
    else `BadInputError` naming it."""
    try:
        return _check_input_file(path, suffixes)
    except OSError as e:  # a name too long, a folder without permission
        raise BadInputError(f"{_short(path)}: cannot read ({e.strerror or e})") from None


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else f"{text[:100]}...{text[-16:]}"


def _check_input_file(path: Path, suffixes: Sequence[str]) -> Path:
    if not path.exists():
        raise BadInputError(f"{path}: no such file")
    if not path.is_file():
        raise BadInputError(f"{path}: not a file")
    if suffixes and path.suffix.lower() not in suffixes:
        raise BadInputError(
            f"{path}: unknown file type {path.suffix or '(none)'}; use {' or '.join(suffixes)}"
        )
    limit = _file_size_limit(path)
    size = path.stat().st_size
    if limit is not None and size > limit:
        raise BadInputError(
            f"{path}: {size:,} bytes; a {path.suffix.lower()} file may have at most {limit:,}"
        )
    return path


def input_file(*suffixes: str):
    """argparse type: an existing, readable file with one of `suffixes`, within its size limit."""

    def check(text: str) -> Path:
        return check_input_file(Path(text), suffixes)

    check.__name__ = "file"
    return check


def input_dir(text: str) -> Path:
    """argparse type: an existing folder."""
    path = Path(text)
    try:
        if not path.exists():
            raise BadInputError(f"{_short(path)}: no such folder")
        if not path.is_dir():
            raise BadInputError(f"{_short(path)}: not a folder")
    except OSError as e:
        raise BadInputError(f"{_short(path)}: cannot read ({e.strerror or e})") from None
    return path


def _writable_folder(path: Path) -> str | None:
    """Why files cannot be made in `path` (created if missing), or None if they can."""
    if any(len(os.fsencode(part)) > limits.MAX_NAME_PART_BYTES for part in path.parts):
        return f"a folder name may have at most {limits.MAX_NAME_PART_BYTES} bytes"
    existing = path
    while not existing.exists():  # the nearest part that exists decides
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:  # a file made and removed at once: the only test that holds for root and /proc too
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        return f"{existing} is not writable: {e.strerror or e}"
    return None


def writable_dir(text: str) -> Path:
    """argparse type: a folder that exists and can be written, or can be created."""
    if not text:
        raise argparse.ArgumentTypeError("empty folder name")
    path = Path(text).expanduser()
    why = _writable_folder(path)
    if why:
        raise argparse.ArgumentTypeError(f"{text}: cannot write files there ({why})")
    return path


def output_file(*suffixes: str):
    """argparse type: a file to write, with one of `suffixes`, in a folder that can be written
    (not created here: nothing is written before the work is done)."""

    def check(text: str) -> Path:
        if not text:
            raise argparse.ArgumentTypeError("empty file name")
        path = Path(text).expanduser()
        if suffixes and path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(
                f"{text}: unknown file type {path.suffix or '(none)'}; use {' or '.join(suffixes)}"
            )
        if not path.stem or len(os.fsencode(path.name)) > limits.MAX_NAME_PART_BYTES:
            raise argparse.ArgumentTypeError(
                f"{_short(path)}: a file name needs 1..{limits.MAX_NAME_PART_BYTES} bytes "
                f"before {path.suffix or 'its suffix'}"
            )
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text} is a folder; name a file")
        why = _writable_folder(path.parent)
        if why:
            raise argparse.ArgumentTypeError(f"{text}: cannot write there ({why})")
        return path

    check.__name__ = "file"
    return check


def port(allow_zero: bool = False):
    """argparse type: a UDP port 1..65535 (0 = any free port, where `allow_zero`)."""
    return int_range(0 if allow_zero else 1, 65535)


def add_pattern_input_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that reads a pattern file takes (`load_pattern`'s errors name
    them): which MIDI channel holds the drums, and whether meters other than 4/4 are read."""
    from pdbridge.core.midi import DRUM_CHANNEL

    parser.add_argument(
        "--channel",
        type=int_range(0, 16),
        default=DRUM_CHANNEL + 1,
        help="MIDI drum channel 1-16 of an input .mid (default 10); 0 = any",
    )
    parser.add_argument(
        "--any-meter", action="store_true", help="read .mid files not in 4/4 too"
    )


def midi_channel(args: argparse.Namespace) -> int | None:
    """The 0-based channel of `--channel` (None: any)."""
    return args.channel - 1 if args.channel else None
