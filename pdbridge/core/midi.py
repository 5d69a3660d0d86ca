"""MIDI files <-> `Pattern`, through mido.

Reading (`read_midi`):
- the grid is the file's own: a sixteenth is `ticks_per_beat / 4` ticks, so tempo changes do not
  move notes off their beats (steps count beats, whatever the tempo map says about seconds); the
  pattern keeps the tempo in force where it starts (a pattern has one tempo), and
  `MidiDrums.tempos` lists every tempo of the file, so a caller can say that the others were
  dropped (`pdbridge.core.pattern_files.load_pattern` warns);
- the meter: `time_signature` is the first one, `meters` every one the file sets (a caller refuses
  or warns about files not in 4/4 throughout);
- sizes: files over `limits.MAX_MIDI_BYTES` are refused before parsing, and notes further than
  `limits.MAX_PATTERN_BARS` bars from the start before any pattern is allocated (unless `bars`
  cuts the pattern shorter);
- each note-on (velocity > 0; velocity 0 is a note-off) on the drum channel whose pitch is in the
  `DrumMap` is snapped to the nearest sixteenth; offset = signed distance in steps (positive = late);
- when two onsets land in one cell (voice, step), the loudest wins;
- the grid starts at tick 0, or at a `marker` meta event named `pdbridge:start` (written by
  `write_midi` when a hit sounds before the first grid line); onsets up to half a step before the
  start land on step 0 with a negative offset, never wrapped to the end.

Writing (`write_midi`): a type-0 file, 480 ticks per beat, one tempo event, the time signature,
General MIDI drum notes on channel 10, each hit at `(step + offset)` sixteenths with a short note.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np

from pdbridge.core import limits
from pdbridge.core.errors import BadInputError
from pdbridge.core.pattern import NUM_VOICES, STEPS_PER_BAR, VOICES, Pattern

DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0 as mido does
START_MARKER = "pdbridge:start"
GM_OUTPUT_PITCHES: tuple[int, ...] = (36, 38, 42, 46, 43, 47, 50, 49, 51)

# The usual 9-voice reduction of the Roland TD-11 map used by the Groove MIDI Dataset.
GMD_INPUT_PITCHES: dict[str, tuple[int, ...]] = {
    "kick": (36,),
    "snare": (38, 37, 40),
    "closed_hihat": (42, 22, 44),
    "open_hihat": (46, 26),
    "low_tom": (43, 58),
    "mid_tom": (47, 45),
    "high_tom": (50, 48),
    "crash": (49, 52, 55, 57),
    "ride": (51, 53, 59),
}


class WrongChannelError(BadInputError):
    """Drum notes only on channels other than the one asked for (a command may name its option
    for choosing another)."""


@dataclass(frozen=True)
class DrumMap:
    """Which input pitches make each voice, and which pitch each voice is written as."""

    input_pitches: dict[str, tuple[int, ...]] = field(
        default_factory=lambda: dict(GMD_INPUT_PITCHES)
    )
    output_pitches: tuple[int, ...] = GM_OUTPUT_PITCHES
    channel: int = DRUM_CHANNEL  # 0-based; None would mean "any channel"

    def __post_init__(self) -> None:
        if len(self.output_pitches) != NUM_VOICES:
            raise BadInputError(
                f"output pitches: need {NUM_VOICES}, got {len(self.output_pitches)}"
            )
        unknown = set(self.input_pitches) - set(VOICES)
        if unknown:
            raise BadInputError(f"drum map: unknown voices {sorted(unknown)}")

    def voice_of_pitch(self) -> dict[int, int]:
        # Output pitches are read back too, so files we write always read back.
        table = {p: i for i, p in enumerate(self.output_pitches)}
        for name, pitches in self.input_pitches.items():
            for p in pitches:
                table[p] = VOICES.index(name)
        return table


@dataclass
class MidiDrums:
    """What `read_midi` found: the pattern plus the facts about the file that a caller may need."""

    pattern: Pattern
    time_signature: tuple[int, int]
    onsets: int  # drum onsets on the channel with a mapped pitch, inside the pattern
    collisions: int  # of those, dropped because a louder hit had the cell
    unmapped: int  # onsets on the channel whose pitch no voice takes
    past_end: int  # onsets after the last step when `bars` was given
    tempo_changes: int  # tempo events after the first that change the tempo
    tempos: list[float] = field(default_factory=list)  # every tempo (bpm) the file sets, in order
    meters: list[tuple[int, int]] = field(default_factory=list)  # every time signature, in order


def _open(path: Path) -> mido.MidiFile:
    try:
        if not path.exists():
            raise BadInputError(f"{path}: no such file")
        if not path.is_file():
            raise BadInputError(f"{path}: not a file")
        size = path.stat().st_size
    except OSError as e:  # a name too long, a folder without permission
        raise BadInputError(f"{path}: cannot read ({e.strerror or e})") from None
    if size > limits.MAX_MIDI_BYTES:
        raise BadInputError(
            f"{path}: {size:,} bytes; a MIDI file may have at most {limits.MAX_MIDI_BYTES:,}"
        )
    try:
        mid = mido.MidiFile(path, clip=True)
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, struct.error) as e:
        why = " ".join(str(e).split())[:200] or "it ends too early"  # EOFError has no message
        raise BadInputError(f"{path}: not a readable MIDI file ({why})") from None
    if not 0 < mid.ticks_per_beat < 0x8000:
        raise BadInputError(
            f"{path}: {mid.ticks_per_beat} ticks per beat: SMPTE time or a broken header "
            "(pdbridge reads files timed in beats)"
        )
    return mid


def _bpm(path: Path, tempo: int) -> float:
    """Quarter notes a minute of a set_tempo value (microseconds per quarter), within the range a
    pattern allows, or `BadInputError` naming the file."""
    bpm = round(mido.tempo2bpm(tempo), 3) if tempo > 0 else math.inf
    if not limits.MIN_BPM <= bpm <= limits.MAX_BPM:
        raise BadInputError(
            f"{path}: tempo {bpm:g} bpm out of range {limits.MIN_BPM:g}..{limits.MAX_BPM:g}"
        )
    return bpm


@dataclass
class _Scan:
    """What one pass over a file's merged track found."""

    onsets: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, voice, velocity)
    other_channels: set[int] = field(default_factory=set)
    unmapped: int = 0
    tempo_map: list[tuple[int, int]] = field(default_factory=list)  # (tick, us per quarter)
    meters: list[tuple[int, int]] = field(default_factory=list)
    start_tick: int = 0


def _scan(track: list, voice_of: dict[int, int], channel: int | None) -> _Scan:
    found = _Scan()
    tick = 0
    for msg in track:
        tick += msg.time
        if msg.type == "set_tempo":
            if not found.tempo_map or msg.tempo != found.tempo_map[-1][1]:
                found.tempo_map.append((tick, msg.tempo))
        elif msg.type == "time_signature":
            if not found.meters or (msg.numerator, msg.denominator) != found.meters[-1]:
                found.meters.append((msg.numerator, msg.denominator))
        elif msg.type == "marker" and msg.text == START_MARKER:
            found.start_tick = tick
        elif msg.type == "note_on" and msg.velocity > 0:
            if channel is not None and msg.channel != channel:
                found.other_channels.add(msg.channel)
                continue
            voice = voice_of.get(msg.note)
            if voice is None:
                found.unmapped += 1
                continue
            found.onsets.append((tick, voice, msg.velocity))
    return found


def _no_drums(path: Path, found: _Scan, channel: int | None) -> BadInputError:
    """Why a file gave no drum notes, as precisely as it can be said."""
    if found.other_channels:
        chans = ", ".join(str(c + 1) for c in sorted(found.other_channels))
        return WrongChannelError(
            f"{path}: no drum notes on MIDI channel {channel + 1} (notes on channel {chans})"
        )
    if found.unmapped:
        return BadInputError(f"{path}: no note matches a drum voice ({found.unmapped} unmapped notes)")
    return BadInputError(f"{path}: no drum notes")


def _grid_steps(path: Path, positions: list[tuple[float, int, int]], bars: int | None) -> int:
    """Steps of the pattern: `bars` whole bars, or up to the bar of the last onset (limited)."""
    if bars:
        if not 1 <= bars <= limits.MAX_PATTERN_BARS:
            raise BadInputError(f"bars {bars} out of range 1..{limits.MAX_PATTERN_BARS}")
        return bars * STEPS_PER_BAR
    steps_needed = max(math.floor(p + 0.5) for p, _, _ in positions) + 1
    if steps_needed > limits.MAX_PATTERN_BARS * STEPS_PER_BAR:
        raise BadInputError(
            f"{path}: its notes span {math.ceil(steps_needed / STEPS_PER_BAR):,} bars; a "
            f"pattern may have at most {limits.MAX_PATTERN_BARS} (limits.MAX_PATTERN_BARS)"
        )
    return max(1, math.ceil(steps_needed / STEPS_PER_BAR)) * STEPS_PER_BAR


def _place(positions: list[tuple[float, int, int]], steps: int) -> tuple:
    """Each onset at its nearest sixteenth (the loudest wins a cell): (hits, velocities,
    offsets, kept, collisions, past_end)."""
    hits = np.zeros((steps, NUM_VOICES), np.float32)
    vels = np.zeros_like(hits)
    offs = np.zeros_like(hits)
    kept = collisions = past_end = 0
    for pos, voice, vel in positions:
        step = math.floor(pos + 0.5)  # nearest sixteenth; exactly half-way goes late
        if step < 0 or step >= steps:
            past_end += 1  # before the grid's start or after its end: nowhere to put it
            continue
        if hits[step, voice]:
            collisions += 1
            if vel / 127.0 <= vels[step, voice]:
                continue
        else:
            kept += 1
        hits[step, voice] = 1.0
        vels[step, voice] = vel / 127.0
        offs[step, voice] = pos - step
    return hits, vels, offs, kept, collisions, past_end


def read_midi(
    path: str | Path,
    drum_map: DrumMap | None = None,
    bars: int | None = None,
    channel: int | None = DRUM_CHANNEL,
) -> MidiDrums:
    """Read the drums of a MIDI file into a pattern of whole bars (of 16 steps).

    `bars` fixes the length (onsets after it are counted in `past_end`); otherwise the pattern
    ends with the bar of the last onset. `channel=None` reads notes on every channel.
    """
    path = Path(path)
    drum_map = drum_map or DrumMap()
    mid = _open(path)
    if mid.type == 2:
        raise BadInputError(f"{path}: MIDI type 2 (independent sequences) is not supported")
    track = mido.merge_tracks(mid.tracks)  # absolute order across tracks, delta times kept
    step_ticks = mid.ticks_per_beat / 4.0
    found = _scan(track, drum_map.voice_of_pitch(), channel)
    if not found.onsets:
        raise _no_drums(path, found, channel)

    # The tempo where the grid starts: MIDI's default 120 bpm until the first set_tempo.
    tempo_map = found.tempo_map
    if tempo_map and tempo_map[0][0] > 0 and tempo_map[0][1] != 500_000:
        tempo_map.insert(0, (0, 500_000))
    tempo = 500_000
    for t, value in tempo_map:
        if t <= found.start_tick:
            tempo = value
    bpm = _bpm(path, tempo)

    positions = [((t - found.start_tick) / step_ticks, v, vel) for t, v, vel in found.onsets]
    hits, vels, offs, kept, collisions, past_end = _place(positions, _grid_steps(path, positions, bars))
    return MidiDrums(
        pattern=Pattern(hits, vels, offs, bpm=bpm),
        time_signature=found.meters[0] if found.meters else (4, 4),
        onsets=kept + collisions,
        collisions=collisions,
        unmapped=found.unmapped,
        past_end=past_end,
        tempo_changes=max(0, len(tempo_map) - 1),
        tempos=[_bpm(path, value) for _, value in tempo_map] or [bpm],
        meters=found.meters or [(4, 4)],
    )


def pattern_to_midi(
    pattern: Pattern,
    drum_map: DrumMap | None = None,
    ticks_per_beat: int = 480,
    note_steps: float = 0.25,
) -> mido.MidiFile:
    """A type-0 MIDI file of the pattern (see the module docstring). `note_steps`: note length."""
    drum_map = drum_map or DrumMap()
    step_ticks = ticks_per_beat / 4.0
    # A hit before the first grid line needs room: start the grid one bar in and mark it.
    early = bool(np.any(pattern.hits[0] * (pattern.offsets[0] < 0)))
    origin = STEPS_PER_BAR * step_ticks if early else 0.0

    notes: list[tuple[int, int, int]] = []  # (tick, pitch, velocity)
    steps_idx, voices_idx = np.nonzero(pattern.hits)
    half = int(step_ticks // 2)
    for s, v in zip(steps_idx, voices_idx, strict=True):
        # Stay inside the cell: exactly half a step late would read back as the next step, early.
        nudge = int(np.clip(round(float(pattern.offsets[s, v]) * step_ticks), -half, half - 1))
        tick = round(origin + s * step_ticks) + nudge
        velocity = int(np.clip(round(float(pattern.velocities[s, v]) * 127), 1, 127))
        notes.append((tick, drum_map.output_pitches[v], velocity))
    notes.sort()

    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []  # note-offs first
    length = max(1, round(note_steps * step_ticks))
    for i, (tick, pitch, velocity) in enumerate(notes):
        # End before the next onset of the same pitch, so no note-off cuts a later note short.
        nxt = next((t for t, p, _ in notes[i + 1 :] if p == pitch), None)
        end = tick + (length if nxt is None else max(1, min(length, nxt - tick)))
        ch = drum_map.channel if drum_map.channel is not None else DRUM_CHANNEL
        events.append((tick, 1, mido.Message("note_on", channel=ch, note=pitch, velocity=velocity)))
        events.append((end, 0, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
    if early:
        events.append((int(origin), -1, mido.MetaMessage("marker", text=START_MARKER)))
    events.sort(key=lambda e: (e[0], e[1]))

    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(pattern.bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    end_tick = int(origin + pattern.steps * step_ticks)
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
    mid = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    mid.tracks.append(track)
    return mid


def write_midi(pattern: Pattern, path: str | Path, drum_map: DrumMap | None = None) -> None:
    pattern_to_midi(pattern, drum_map).save(str(path))
