"""How faithfully MIDI survives MIDI -> pattern -> JSON -> pattern -> MIDI, onset by onset.

The one-hit-per-cell rule drops the quieter of two onsets that share a voice and a sixteenth; of
the onsets it keeps, each should come back at the same voice within 2 ms and 1 velocity step.
`python scripts/midi_roundtrip.py DIR` measures it over a dataset's 4/4 files (e.g.
../shared/data/groove).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mido

from pdbridge.core.midi import DRUM_CHANNEL, DrumMap, read_midi, write_midi
from pdbridge.core.pattern import Pattern
from pdbridge.core.progress import progress
from pdbridge.train.dataset import find_performances


@dataclass
class RoundTrip:
    onsets: int = 0  # mapped drum onsets in the originals
    kept: int = 0  # of those, kept by the one-hit-per-cell rule
    matched: int = 0  # kept onsets found again within 2 ms and 1 velocity
    max_ms: float = 0.0  # worst timing error among matched onsets
    max_velocity: int = 0  # worst velocity error among matched onsets

    def add(self, other: RoundTrip) -> None:
        self.onsets += other.onsets
        self.kept += other.kept
        self.matched += other.matched
        self.max_ms = max(self.max_ms, other.max_ms)
        self.max_velocity = max(self.max_velocity, other.max_velocity)


def onsets(path: str | Path, drum_map: DrumMap) -> list[tuple[float, float, int, int]]:
    """(seconds, sixteenths from the grid start, voice, velocity) of each mapped drum onset."""
    mid = mido.MidiFile(str(path))
    voice_of = drum_map.voice_of_pitch()
    step_ticks = mid.ticks_per_beat / 4
    tempo, seconds, tick, start = 500_000, 0.0, 0, 0
    out = []
    for msg in mido.merge_tracks(mid.tracks):
        seconds += mido.tick2second(msg.time, mid.ticks_per_beat, tempo)
        tick += msg.time
        if msg.type == "set_tempo":
            tempo = msg.tempo
        elif msg.type == "marker" and msg.text == "pdbridge:start":
            start = (tick, seconds)
        elif msg.type == "note_on" and msg.velocity > 0 and msg.channel == DRUM_CHANNEL:
            if msg.note in voice_of:
                out.append((seconds, tick / step_ticks, voice_of[msg.note], msg.velocity))
    if start:  # times relative to the marked grid start
        out = [(s - start[1], t - start[0] / step_ticks, v, vel) for s, t, v, vel in out]
    return out


def file_round_trip(path: str | Path, drum_map: DrumMap | None = None) -> RoundTrip:
    drum_map = drum_map or DrumMap()
    original = onsets(path, drum_map)
    # Which onsets the rule keeps: the loudest per (voice, nearest sixteenth), first on ties.
    best: dict[tuple[int, int], tuple[float, float, int, int]] = {}
    for o in original:
        cell = (o[2], math.floor(o[1] + 0.5))
        if cell not in best or o[3] > best[cell][3]:
            best[cell] = o
    kept = list(best.values())

    with tempfile.TemporaryDirectory() as tmp:
        pattern = read_midi(path, drum_map).pattern
        Path(tmp, "p.json").write_text(json.dumps(pattern.to_json_dict()))
        write_midi(Pattern.load_json(Path(tmp, "p.json")), Path(tmp, "p.mid"), drum_map)
        back = onsets(Path(tmp, "p.mid"), drum_map)

    by_voice: dict[int, list[tuple[float, int]]] = {}
    for s, _, v, vel in back:
        by_voice.setdefault(v, []).append((s, vel))
    result = RoundTrip(onsets=len(original), kept=len(kept))
    for s, _, v, vel in kept:
        near = [(abs(s - s2), abs(vel - vel2)) for s2, vel2 in by_voice.get(v, [])]
        ok = [(dt, dv) for dt, dv in near if dt <= 0.002 + 1e-9 and dv <= 1]
        if ok:
            dt, dv = min(ok)
            result.matched += 1
            result.max_ms = max(result.max_ms, dt * 1000)
            result.max_velocity = max(result.max_velocity, dv)
    return result


def onset_round_trip(files: list, show_progress: bool = False) -> RoundTrip:
    total = RoundTrip()
    for f in progress(files, "round trip", enabled=show_progress):
        total.add(file_round_trip(f))
    return total


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/midi_roundtrip.py DATASET_DIR", file=sys.stderr)
        return 2
    root = Path(argv[0])
    files = [p.path for p in find_performances(root) if p.time_signature in ("4-4", "")]
    t = onset_round_trip(files, show_progress=True)
    print(
        f"files: {len(files)}  onsets: {t.onsets}  kept by one-hit-per-cell: {t.kept} "
        f"(dropped {100 * (1 - t.kept / t.onsets):.2f}%)"
    )
    print(
        f"back within 2 ms and 1 velocity: {t.matched}/{t.kept} = {100 * t.matched / t.kept:.3f}%  "
        f"(worst {t.max_ms:.3f} ms, {t.max_velocity} velocity)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
