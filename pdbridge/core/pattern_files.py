"""Patterns in files: .mid (`pdbridge.core.midi`) or .json (`Pattern.load_json`), for the commands.

`load_pattern` says what a file holds that a pattern cannot (warnings on the log, refusals as
`BadInputError`), with the options that change it: `--channel` and `--any-meter` (every command
that reads a pattern takes them, `pdbridge.cli.options.add_pattern_input_options`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from pdbridge.core.errors import BadInputError
from pdbridge.core.midi import DRUM_CHANNEL, DrumMap, WrongChannelError, read_midi, write_midi
from pdbridge.core.pattern import STEPS_PER_BAR, Pattern

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi")
PATTERN_SUFFIXES = (*MIDI_SUFFIXES, ".json")


def _meters(meters: list[tuple[int, int]]) -> str:
    return ", ".join(f"{n}/{d}" for n, d in meters)


def load_pattern(
    path: Path, bars: int | None = None, channel: int | None = DRUM_CHANNEL, any_meter: bool = False
) -> Pattern:
    """A pattern from a .mid or .json file; `bars` cuts or pads it to that many bars."""
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        try:
            drums = read_midi(path, DrumMap(channel=channel), bars=bars, channel=channel)
        except WrongChannelError as e:
            raise BadInputError(f"{e}; choose one with --channel (0 = any)") from None
        if any(m != (4, 4) for m in drums.meters):
            if not any_meter:
                raise BadInputError(
                    f"{path}: time signature {_meters(drums.meters)}; patterns count 16 "
                    "sixteenths a 4/4 bar (pass --any-meter to read it anyway)"
                )
            log.warning(
                "%s: time signature %s read as 4/4 bars of 16 sixteenths",
                path,
                _meters(drums.meters),
            )
        if len(drums.tempos) > 1:
            # Steps count beats, so every note stays on its beat; only the tempo is lost.
            low, high = min(drums.tempos), max(drums.tempos)
            changes = len(drums.tempos) - 1
            log.warning(
                "%s: %d tempo change%s (%g to %g bpm); the pattern keeps every note on "
                "its beat at one tempo, %g bpm (the tempo where it starts)",
                path,
                changes,
                "s" if changes > 1 else "",
                low,
                high,
                drums.pattern.bpm,
            )
        return drums.pattern
    if suffix == ".json":
        pattern = Pattern.load_json(path)
        return pattern.fit(bars * STEPS_PER_BAR) if bars else pattern
    raise BadInputError(f"{path}: unknown file type {suffix or '(none)'}; use .mid or .json")


def save_pattern(pattern: Pattern, path: Path, channel: int | None = DRUM_CHANNEL) -> None:
    suffix = path.suffix.lower()
    try:
        if suffix in PATTERN_SUFFIXES:  # an --out in a folder still to be made
            path.parent.mkdir(parents=True, exist_ok=True)
        if suffix in MIDI_SUFFIXES:
            write_midi(pattern, path, DrumMap(channel=channel))
        elif suffix == ".json":
            pattern.save_json(path)
        else:
            raise BadInputError(
                f"{path}: unknown file type {suffix or '(none)'}; use .mid or .json"
            )
    except OSError as e:
        raise BadInputError(f"{path}: cannot write ({e.strerror})") from None
