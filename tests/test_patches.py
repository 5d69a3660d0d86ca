"""Real Pd, no server: every patch opens clean; the player's timing in logical time (-batch)."""

from __future__ import annotations

import numpy as np
import pytest
from pd_harness import PATCHES, error_lines, events, run_batch, write_harness

pytestmark = pytest.mark.pd

ALL_PATCHES = sorted(PATCHES.rglob("*.pd"))


def test_there_are_patches():
    names = {p.name for p in ALL_PATCHES}
    for name in ["pdbridge-client", "pdbridge-player", "pdbridge-kit~", "pdbridge-groove"]:
        assert f"{name}.pd" in names
        assert f"{name}-help.pd" in names  # the Pd convention: help beside each abstraction
    assert {"pdbridge.pd", "pdbridge-latency.pd"} <= names
    assert len(list((PATCHES / "lab").glob("lab*.pd"))) >= 5


@pytest.mark.parametrize("patch", ALL_PATCHES, ids=lambda p: str(p.relative_to(PATCHES)))
def test_patch_opens_clean(patch):
    """As a user opens it: no -path; patches find the abstractions beside them (lab: [declare])."""
    err = run_batch(patch, search_path=False)
    assert error_lines(err) == [], err


def make_pattern(steps: int = 32, seed: int = 0) -> np.ndarray:
    """A busy pattern with the extreme offsets (-0.5 and +0.5) on purpose."""
    rng = np.random.default_rng(seed)
    hits = (rng.random((steps, 9)) < 0.35).astype(np.float32)
    hits[0, 0] = 1  # kick on the downbeat, early by half a step: before the grid line
    vel = hits * rng.uniform(0.1, 1.0, (steps, 9))
    off = hits * rng.uniform(-0.5, 0.5, (steps, 9))
    off[0, 0] = -0.5
    hits[steps - 1, 1] = 1  # last step late by half a step: after the loop's end
    vel[steps - 1, 1] = 0.5
    off[steps - 1, 1] = 0.5
    return np.concatenate([hits, vel, off], axis=1).astype(np.float32)


def pattern_message(p: np.ndarray) -> str:
    return f"ctl pattern {len(p)} " + " ".join(f"{x:.6g}" for x in p.ravel())


def expected(p: np.ndarray, step_ms: float, loops: int, first_loop: int = 0):
    """(time, voice, velocity) of every hit, from `player play`: one step of look-ahead."""
    steps = len(p)
    out = []
    for loop in range(first_loop, first_loop + loops):
        for s in range(steps):
            for v in range(9):
                if p[s, v] >= 0.5:
                    t = (1 + loop * steps + s + p[s, 18 + v]) * step_ms
                    out.append((t, v, float(p[s, 9 + v])))
    return sorted(out)


def check_events(got, want, tolerance_ms: float = 2.0):
    assert len(got) == len(want), f"{len(got)} events, expected {len(want)}"
    times = [e.ms for e in got]
    assert times == sorted(times), "events out of order"
    for e, (t, v, vel) in zip(got, sorted(want, key=lambda w: (w[0], w[1])), strict=True):
        assert abs(e.ms - t) <= tolerance_ms, (e, t)
        assert e.voice == v, (e, v)
        assert e.velocity == pytest.approx(vel, abs=1e-4)


def run_player(tmp_path, sends, quit_after_ms):
    patch = write_harness(tmp_path, server_port=1, ctl_port=0)
    err = run_batch(patch, (*sends, f"ctl after {quit_after_ms}"), quit=False)
    assert error_lines(err) == [], err
    return err


def sort_events(evs):
    return sorted(evs, key=lambda e: (round(e.ms, 3), e.voice))


def test_player_plays_every_hit_once_per_loop_on_time(tmp_path):
    p = make_pattern()
    bpm = 300.0
    step_ms = 15000.0 / bpm
    # two loops and a bit: stop before the third loop's first look-ahead events
    sends = (pattern_message(p), f"ctl player bpm {bpm}", "ctl player play")
    err = run_player(tmp_path, sends, quit_after_ms=(1 + 2 * 32) * step_ms - 0.5 * step_ms)
    got = sort_events(events(_lines(err)))
    want = [w for w in expected(p, step_ms, loops=3) if w[0] < (1 + 64 - 0.5) * step_ms]
    check_events(got, want, tolerance_ms=0.01)  # logical time: exact


@pytest.mark.parametrize("steps", [16, 64])
def test_player_loops_patterns_of_any_length(tmp_path, steps):
    p = make_pattern(steps=steps, seed=steps)
    step_ms = 50.0
    end = (1 + 2 * steps - 0.5) * step_ms
    sends = (pattern_message(p), "ctl player bpm 300", "ctl player play")
    err = run_player(tmp_path, sends, quit_after_ms=end)
    got = sort_events(events(_lines(err)))
    want = [w for w in expected(p, step_ms, loops=3) if w[0] < end]
    check_events(got, want, tolerance_ms=0.01)


def test_player_swaps_at_the_next_bar(tmp_path):
    a, b = make_pattern(seed=1), make_pattern(seed=2)
    step_ms = 50.0
    # b arrives in the middle of the first bar: it takes over from step 16 (the next bar line)
    sends = (
        pattern_message(a),
        "ctl player bpm 300",
        "ctl player play",
        "ctl at 430 " + pattern_message(b)[4:],
    )
    err = run_player(tmp_path, sends, quit_after_ms=(1 + 32 - 0.5) * step_ms)
    got = sort_events(events(_lines(err)))
    want_a = [w for w in expected(a, step_ms, 1) if w[0] < (1 + 15) * step_ms + 0.5 * step_ms]
    want_a = [w for w in want_a if _step_of(w[0], step_ms) < 16]
    want_b = [w for w in expected(b, step_ms, 1) if 16 <= _step_of(w[0], step_ms) < 32]
    want_b = [w for w in want_b if w[0] < (1 + 32 - 0.5) * step_ms]
    check_events(got, sorted(want_a + want_b), tolerance_ms=0.01)


def _step_of(t: float, step_ms: float) -> int:
    return int(round(t / step_ms - 1))


def test_player_swaps_at_once_when_asked(tmp_path):
    a, b = make_pattern(seed=3), make_pattern(seed=4)
    step_ms = 50.0
    # at 430 ms the tick for step 9 has fired (ticks at 0, 50, ...): b plays from step 9 on
    sends = (
        pattern_message(a),
        "ctl player bpm 300",
        "ctl player swap now",
        "ctl player play",
        "ctl at 430 " + pattern_message(b)[4:],
    )
    err = run_player(tmp_path, sends, quit_after_ms=(1 + 32 - 0.5) * step_ms)
    got = sort_events(events(_lines(err)))
    want = [w for w in expected(a, step_ms, 1) if _step_of(w[0], step_ms) < 9]
    want += [
        w
        for w in expected(b, step_ms, 1)
        if 9 <= _step_of(w[0], step_ms) and w[0] < (1 + 32 - 0.5) * step_ms
    ]
    check_events(got, sorted(want), tolerance_ms=0.01)


def test_player_stop_silences_pending_events(tmp_path):
    p = make_pattern(seed=5)
    sends = (pattern_message(p), "ctl player bpm 300", "ctl player play", "ctl at 1000 player stop")
    err = run_player(tmp_path, sends, quit_after_ms=2000)
    got = events(_lines(err))
    assert got, "nothing played"
    assert max(e.ms for e in got) <= 1000.0


def test_player_follows_midi_clock(tmp_path):
    """24 ppqn: 6 clocks per step. After a MIDI start, step 0 sounds at the first clock."""
    p = make_pattern(seed=6)
    p[:, 18:] = np.where(p[:, :9] >= 0.5, 0.25, 0.0)  # all late: nothing clipped at the start
    step_ms = 60.0  # a clock every 10 ms
    sends = (
        pattern_message(p),
        "ctl player bpm 250",
        "ctl player midiclock 1",
        "ctl player rt 250",
        "ctl clock 10",
    )
    err = run_player(tmp_path, sends, quit_after_ms=(2 * 32 - 1) * step_ms)
    got = sort_events(events(_lines(err)))
    want = [(t - step_ms, v, vel) for t, v, vel in expected(p, step_ms, 2)]
    want = [w for w in want if w[0] < (2 * 32 - 1) * step_ms]
    check_events(got, want, tolerance_ms=0.01)


def _lines(text: str):
    from pd_harness import Line

    return [Line(0.0, line) for line in text.splitlines()]


KIT_TEST = """#N canvas 0 50 450 300 12;
#X obj 10 10 loadbang;
#X msg 10 40 \\; pd dsp 1;
#X obj 100 40 metro 500;
#X obj 100 70 f;
#X obj 140 70 + 1;
#X obj 100 100 moses 9;
#X obj 100 130 t f f;
#X msg 100 160 \\$1 1;
#X obj 100 200 pdbridge-kit~;
#X obj 100 230 env~ 1024;
#X obj 100 260 print env;
#X obj 200 160 print voice;
#X msg 200 100 \\; pd quit;
#X obj 300 160 r kit;
#X obj 200 10 delay 50;
#X connect 0 0 1 0;
#X connect 0 0 14 0;
#X connect 14 0 2 0;
#X connect 2 0 3 0;
#X connect 3 0 4 0;
#X connect 4 0 3 1;
#X connect 3 0 5 0;
#X connect 5 0 6 0;
#X connect 5 1 12 0;
#X connect 6 0 7 0;
#X connect 6 1 11 0;
#X connect 7 0 8 0;
#X connect 8 0 9 0;
#X connect 9 0 10 0;
#X connect 13 0 8 0;
"""


def kit_loudness(tmp_path, sends=()):
    """Hit each of the 9 voices in turn (DSP on, -batch); the loudest [env~] dB after each."""
    patch = tmp_path / "kit.pd"
    patch.write_text(KIT_TEST)
    err = run_batch(patch, sends, quit=False)
    assert error_lines(err) == [], err
    loud, voice = {}, None
    for line in err.splitlines():
        if line.startswith("voice:"):
            voice = int(float(line.split()[1]))
            loud[voice] = 0.0
        elif line.startswith("env:") and voice is not None:
            loud[voice] = max(loud[voice], float(line.split()[1]))
    return loud


def test_kit_sounds_every_voice(tmp_path):
    loud = kit_loudness(tmp_path)
    assert sorted(loud) == list(range(9))
    for voice, db in loud.items():
        assert db > 70, f"voice {voice} peaks at {db} dB"  # 100 dB = full scale in Pd


def test_kit_levels_and_synth_switch(tmp_path):
    loud = kit_loudness(tmp_path, ("kit level 0 0", "kit level 1 0.1", "kit synth 1"))
    full = kit_loudness(tmp_path)
    assert loud[0] < 1  # silent (env~ floors at 0 dB)
    assert loud[1] < full[1] - 12  # a tenth of the level (20 dB less, some of it clipped)
    off = kit_loudness(tmp_path, ("kit synth 0",))
    assert max(off.values()) < 1


GROOVE_TEST = """#N canvas 0 50 450 300 12;
#X obj 10 10 r g;
#X obj 10 40 pdbridge-groove;
#X obj 10 200 list split 1;
#X obj 10 230 t b a;
#X obj 100 260 array set gout;
#X msg 10 290 \\; gout write groove.txt;
#X obj 200 200 array define gout 864;
#X obj 200 40 qlist;
#X obj 200 10 r q;
#X obj 10 320 print out;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 2 1 3 0;
#X connect 3 1 4 0;
#X connect 3 0 5 0;
#X connect 3 0 9 0;
#X connect 8 0 7 0;
"""


def test_groove_quantizes_taps_and_keeps_offsets(tmp_path):
    """bpm 300 = 50 ms steps. Taps land on the nearest step with their offset; loudest wins."""
    script = [
        (0, "g bpm 300"),
        (0, "g record"),
        (0, "g tap 0 1"),  # step 0, on time
        (210, "g tap 1 0.9"),  # 4.2 steps: step 4, 0.2 late
        (160, "g tap 2 0.5"),  # 7.4: step 7, 0.4 late
        (10, "g tap 2 0.6"),  # 7.6: step 8, 0.4 early
        (1180, "g tap 3 0.6"),  # 31.2: step 31, 0.2 late
        (30, "g tap 0 0.5"),  # 31.8: step 0 of the loop, early; softer than the first: dropped
        (100, "g cell 10 5 0.7"),  # after the 2 bars: drawn on the grid
        (0, "g cell 4 1 0"),  # and the snare erased
        (0, "g bang"),
        (50, "pd quit"),
    ]
    sends = [f"q add {dt} {msg}" for dt, msg in script] + ["q bang"]
    patch = tmp_path / "groove.pd"
    patch.write_text(GROOVE_TEST)
    err = run_batch(patch, tuple(sends), quit=False)
    assert error_lines(err) == [], err
    assert err.count("out: bang") == 2, err  # once when recording ended, once on bang
    values = np.array([float(x) for x in (tmp_path / "groove.txt").read_text().split()])
    g = values.reshape(32, 27)
    want = np.zeros((32, 27), dtype=np.float32)
    for step, voice, vel, off in [
        (0, 0, 1, 0),
        (7, 2, 0.5, 0.4),
        (8, 2, 0.6, -0.4),
        (31, 3, 0.6, 0.2),
        (10, 5, 0.7, 0),
    ]:
        want[step, voice], want[step, 9 + voice], want[step, 18 + voice] = 1, vel, off
    np.testing.assert_allclose(g, want, atol=1e-4)
