"""`pdbridge convert IN OUT`: a drum pattern between .mid and .json (either way, or re-written)."""

from __future__ import annotations

from pathlib import Path

from pdbridge.core.errors import BadInputError
from pdbridge.core.midi import DRUM_CHANNEL, DrumMap, read_midi, write_midi
from pdbridge.core.pattern import Pattern

MIDI_SUFFIXES = (".mid", ".midi")


def load_pattern(
    path: Path, bars: int | None = None, channel: int | None = DRUM_CHANNEL, any_meter: bool = False
) -> Pattern:
    """A pattern from a .mid or .json file; `bars` cuts or pads it to that many bars."""
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        drums = read_midi(path, DrumMap(channel=channel), bars=bars, channel=channel)
        if drums.time_signature != (4, 4) and not any_meter:
            num, den = drums.time_signature
            raise BadInputError(
                f"{path}: time signature {num}/{den}; patterns count 16 sixteenths a 4/4 bar "
                "(pass --any-meter to convert anyway)"
            )
        return drums.pattern
    if suffix == ".json":
        pattern = Pattern.load_json(path)
        return pattern.fit(bars * 16) if bars else pattern
    raise BadInputError(f"{path}: unknown file type {suffix or '(none)'}; use .mid or .json")


def save_pattern(pattern: Pattern, path: Path, channel: int | None = DRUM_CHANNEL) -> None:
    suffix = path.suffix.lower()
    try:
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




