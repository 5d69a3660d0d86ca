"""The kit's sound, measured in real Pd: recorded with [writesf~] (DSP runs under -nosound -batch)
and read back here.

- On time: every event's first non-zero sample is the sample holding its logical time, for every
  voice, at 120 and 200 BPM, including hits that start inside a DSP block.
- Gain staging: every voice at velocity 1, and all nine at once, peak below 0.99 at the default
  levels; a single kick at velocity 1 peaks above 0.5.

Run with -s to see the figures:  .venv/bin/python -m pytest -q -s tests/test_kit_sound.py
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from pd_harness import error_lines, run_batch

from pdbridge.core.pattern import VOICES

pytestmark = pytest.mark.pd

SR = 44100  # Pd runs at this rate (-r), so a sample is 1000/44100 ms


def read_wav(path: Path) -> np.ndarray:
    """A [writesf~ -bytes 4] file (32-bit float WAV) as a (frames, channels) float array."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not a WAV file"
    pos, channels, fmt, samples = 12, None, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt, channels, rate = struct.unpack("<HHI", body[:8])
            assert rate == SR, rate
            if fmt == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the real format is in the sub-format GUID
                fmt = struct.unpack("<H", body[24:26])[0]
            assert fmt == 3, f"expected 32-bit float samples, got format {fmt}"
        elif cid == b"data":
            # Pd may quit before [writesf~]'s thread writes the final sizes into the header
            # (-batch: no wall time passes after `stop`): then the data runs to the end of file
            if size == 0 or pos + 8 + size > len(data):
                body = data[pos + 8 :]
            samples = np.frombuffer(body[: len(body) // 4 * 4], dtype="<f4")
            break
        pos += 8 + size + (size & 1)
    assert channels and samples is not None, "no fmt or data chunk"
    return samples[: len(samples) // channels * channels].reshape(-1, channels)


# The recording patch. FUDI on [r ks]: `pattern <steps> <floats>` and `player <msg>` go to a
# [pdbridge-player], `hit <voice> <velocity>` straight to the kits (at its logical time), `start
# <file> <ms>` switches DSP on and, at the first block boundary ([bang~]), opens and starts the
# recorder, resets the clock and presses play; after <ms> it stops recording and quits.
# Each channel records one [pdbridge-kit~]: in `split` mode channel v's kit gets only voice v's
# events (so each hit's onset is found after silence); in `mix` mode one kit gets all events.
# Every event is printed as `ev: <ms since start> <voice> <velocity>`.
RECORDER_HEAD = """#N canvas 0 50 900 600 12;
#X obj 20 10 r ks;
#X obj 20 40 route pattern player hit start;
#X obj 20 100 pdbridge-player;
#X obj 20 140 t a a b;
#X obj 20 170 list prepend;
#X obj 20 200 print ev;
#X obj 120 170 timer;
#X obj 300 70 list split 1;
#X obj 300 100 t b b a;
#X msg 300 130 \\; pd dsp 1;
#X obj 400 130 bang~;
#X obj 400 160 spigot;
#X obj 400 190 t b b b b;
#X msg 470 250 play;
#X obj 580 160 symbol;
#X msg 580 190 open -bytes 4 \\$1 \\, start;
#X obj 580 220 writesf~ {channels};
#X obj 520 130 f;
#X obj 520 250 delay;
#X msg 520 280 stop;
#X msg 620 280 \\; pd quit;
#X msg 440 160 0;
#X msg 460 100 1;
#X text 20 70 pattern: a list (steps floats) for the player;
#X text 20 240 ev: ms voice velocity;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 3 2 6 1;
#X connect 1 1 2 0;
#X connect 2 0 3 0;
#X connect 1 2 3 0;
#X connect 3 1 4 0;
#X connect 4 0 5 0;
#X connect 6 0 4 1;
#X connect 1 3 7 0;
#X connect 7 0 14 1;
#X connect 7 1 17 1;
#X connect 8 0 9 0;
#X connect 7 0 8 0;
#X connect 8 1 22 0;
#X connect 22 0 11 1;
#X connect 10 0 11 0;
#X connect 11 0 12 0;
#X connect 12 0 21 0;
#X connect 21 0 11 1;
#X connect 12 3 14 0;
#X connect 14 0 15 0;
#X connect 15 0 16 0;
#X connect 12 2 6 0;
#X connect 12 1 13 0;
#X connect 13 0 2 0;
#X connect 12 0 17 0;
#X connect 17 0 18 0;
#X connect 18 0 19 0;
#X connect 19 0 16 0;
#X connect 18 0 20 0;
"""
# objects 0..24 above; kits and their routing follow
N_HEAD = 25


def recorder_patch(mode: str) -> tuple[str, int]:
    """The patch text and its channel count: `split` (9 kits, one voice each) or `mix` (1 kit)."""
    channels = 9 if mode == "split" else 1
    lines = [RECORDER_HEAD.format(channels=channels).rstrip("\n")]
    n = N_HEAD
    conns = []
    if mode == "mix":
        lines.append("#X obj 20 300 pdbridge-kit~;")
        conns += [f"#X connect 3 0 {n} 0;", f"#X connect {n} 0 16 0;"]
    else:
        lines.append("#X obj 20 300 route 0 1 2 3 4 5 6 7 8;")
        route = n
        n += 1
        for v in range(9):
            lines.append(f"#X obj {20 + 90 * v} 340 list prepend {v};")
            lines.append(f"#X obj {20 + 90 * v} 380 pdbridge-kit~;")
            conns += [
                f"#X connect {route} {v} {n} 0;",
                f"#X connect {n} 0 {n + 1} 0;",
                f"#X connect {n + 1} 0 16 {v};",
            ]
            n += 2
        conns.append(f"#X connect 3 0 {route} 0;")
    return "\n".join(lines + conns) + "\n", channels


def record(tmp_path: Path, mode: str, sends: tuple[str, ...], ms: float, name: str):
    """Run the recorder in -batch; return (audio (frames, channels), events [(ms, voice, vel)]).

    The file may lose its last buffer (Pd quits while [writesf~]'s thread writes): record a
    second more than you need."""
    text, _ = recorder_patch(mode)
    patch = tmp_path / f"{name}.pd"
    patch.write_text(text)
    wav = tmp_path / f"{name}.wav"
    err = run_batch(
        patch,
        (*sends, f"ks start {wav} {ms}"),
        quit=False,
        timeout=120,
        flags=("-r", str(SR)),
    )
    assert error_lines(err) == [], err
    evs = []
    for line in err.splitlines():
        m = re.match(r"ev: (\S+) (\S+) (\S+)$", line)
        if m:
            evs.append((float(m.group(1)), int(float(m.group(2))), float(m.group(3))))
    return read_wav(wav), evs


def onset_pattern(steps: int = 64) -> np.ndarray:
    """Each voice hits three times, 21 steps apart (longer than the crash's 1.3 s decay at 200
    BPM), with offsets that put the onsets anywhere inside a DSP block."""
    p = np.zeros((steps, 27), dtype=np.float32)
    offsets = [-0.37, 0.13, 0.41, -0.21, 0.29, -0.05, 0.47, -0.44, 0.02]
    for v in range(9):
        for k, vel in enumerate((1.0, 0.55, 0.2)):
            s = (2 * v + 21 * k) % steps
            p[s, v], p[s, 9 + v] = 1, vel
            p[s, 18 + v] = offsets[(v + 3 * k) % len(offsets)]
    return p


def pattern_send(p: np.ndarray) -> str:
    return f"ks pattern {len(p)} " + " ".join(f"{x:.6g}" for x in p.ravel())


def onset_errors(audio: np.ndarray, evs, channel_of) -> list[tuple[int, float, int]]:
    """(voice, event ms, measured - expected samples) for each event.

    [vline~] gives sample n the value at the end of that sample's period, so a segment starting at
    t ms first shows in sample floor(t * SR / 1000): that is the on-time sample. The measured onset
    is the first non-zero sample after the silence before the event.
    """
    out = []
    for ms, voice, _ in evs:
        x = audio[:, channel_of(voice)]
        expected = math.floor(ms * SR / 1000 + 1e-9)
        if expected + 100 >= len(x):
            continue  # after the recording ended
        lo = max(0, expected - 2 * 64)  # two blocks of silence before: the old kit was one late
        assert not np.any(x[lo : expected - 1]), f"{VOICES[voice]} at {ms} ms: sound before it"
        nz = np.flatnonzero(x[lo:])
        assert len(nz), f"{VOICES[voice]} at {ms} ms: no sound"
        out.append((voice, ms, int(lo + nz[0] - expected)))
    return out


@pytest.mark.parametrize("bpm", [120, 200])
def test_every_hit_starts_at_its_logical_time(tmp_path, bpm):
    p = onset_pattern()
    step_ms = 15000 / bpm
    ms = (1 + len(p) + 1) * step_ms  # one loop and a bit (the next loop's first hits count too)
    sends = (pattern_send(p), f"ks player bpm {bpm}")
    audio, evs = record(tmp_path, "split", sends, ms + 1000, f"onsets{bpm}")
    assert audio.shape[1] == 9 and len(audio) > ms * SR / 1000, audio.shape
    evs = [e for e in evs if e[0] < ms]
    assert len(evs) >= 27, evs  # the whole first loop
    errors = onset_errors(audio, evs, channel_of=lambda v: v)
    assert len(errors) == len(evs)
    assert {v for v, _, _ in errors} == set(range(9)), "a voice was never measured"
    inside = sum(1 for _, t, _ in errors if (t * SR / 1000) % 64 > 1)
    per_voice = {VOICES[v]: sorted({e for vv, _, e in errors if vv == v}) for v in range(9)}
    print(
        f"\n{bpm} BPM: {len(errors)} onsets ({inside} inside a DSP block), error in samples "
        f"(measured - logical): {per_voice}"
    )
    assert inside >= len(errors) // 2  # the test does reach sub-block starts
    late = [(VOICES[v], t, e) for v, t, e in errors if not -1 <= e <= 0]
    assert not late, f"onsets off by more than a sample: {late}"


def test_levels_peak_below_full_scale_and_the_kick_is_loud(tmp_path):
    """Each voice alone at velocity 1 (1.5 s apart), then all nine at once, five times at other
    places in the DSP block and the oscillators' cycles; default levels."""
    gap, times = 1500.0, 5
    hits = [(v * gap, f"{v} 1") for v in range(9)]
    starts = [(9 + k) * gap + 7.3 * k for k in range(times)]
    hits += [(t, f"{v} 1") for t in starts for v in range(9)]
    x = record_hits(tmp_path, hits, ms=(10 + times) * gap)[:, 0]

    def peak(a_ms, b_ms):
        return float(np.abs(x[int(a_ms * SR / 1000) : int(b_ms * SR / 1000)]).max())

    assert len(x) > (9 + times) * gap * SR / 1000
    peaks = {VOICES[v]: peak(v * gap, (v + 1) * gap) for v in range(9)}
    together = [peak(t, t + gap - 100) for t in starts]
    peaks["all nine"] = max(together)
    knee = int((np.abs(x) > 0.8).sum())  # samples in the mix bus's soft knee
    print(
        "\npeaks at velocity 1, default levels: "
        + ", ".join(f"{k} {v:.3f}" for k, v in peaks.items())
        + f" (all nine, {times} times: {', '.join(f'{p:.3f}' for p in together)}; "
        + f"{knee} samples in the soft knee above 0.8)"
    )
    assert all(0 < v < 0.99 for v in peaks.values()), peaks
    assert peaks["kick"] > 0.5, peaks
    # each voice alone is in the bus's linear range: its sound is untouched by the knee
    assert all(peaks[name] < 0.8 for name in VOICES), peaks


def record_hits(tmp_path: Path, hits, ms: float) -> np.ndarray:
    """Events `<voice> <velocity>` straight into one kit at chosen logical times: a [qlist]
    (lines `<wait ms> kskit <voice> <velocity>`), started at the recorder's first sample (the
    `play` message becomes `; ksgo bang`)."""
    text, _ = recorder_patch("mix")
    count = sum(1 for line in text.splitlines() if line.startswith(("#X obj", "#X msg", "#X text")))
    kit = count - 1  # the mix recorder's last object
    q, rq, rgo = count, count + 1, count + 2
    text += (
        "\n".join(
            [
                "#X obj 300 400 qlist;",
                "#X obj 300 370 r ksq;",
                "#X obj 400 370 r ksgo;",
                "#X obj 500 370 r kskit;",
                f"#X connect {rq} 0 {q} 0;",
                f"#X connect {count + 3} 0 {kit} 0;",
                f"#X connect {rgo} 0 {q} 0;",
            ]
        )
        + "\n"
    )
    text = text.replace("#X msg 470 250 play;", "#X msg 470 250 \\; ksgo bang;")
    patch = tmp_path / "hits.pd"
    patch.write_text(text)
    wav = tmp_path / "hits.wav"
    sends, last = [], 0.0
    for t, msg in sorted(hits):
        sends.append(f"ksq add {t - last:g} kskit {msg}")
        last = t
    err = run_batch(
        patch, (*sends, f"ks start {wav} {ms}"), quit=False, timeout=120, flags=("-r", str(SR))
    )
    assert error_lines(err) == [], err
    return read_wav(wav)
