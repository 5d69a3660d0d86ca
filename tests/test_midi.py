import glob

import mido
import numpy as np
import pytest
from conftest import load_script
from test_pattern import random_pattern

from pdbridge.core.errors import BadInputError
from pdbridge.core.midi import DrumMap, pattern_to_midi, read_midi, write_midi
from pdbridge.core.pattern import Pattern


def midi_file(path, notes, tpb=480, tempo=500_000, sig=(4, 4), channel=9, extra_tempos=()):
    """Write a type-0 file of (tick, pitch, velocity) note-ons, each 30 ticks long."""
    events = []
    for tick, pitch, vel in notes:
        events.append((tick, mido.Message("note_on", channel=channel, note=pitch, velocity=vel)))
        events.append((tick + 30, mido.Message("note_on", channel=channel, note=pitch, velocity=0)))
    for tick, t in extra_tempos:
        events.append((tick, mido.MetaMessage("set_tempo", tempo=t)))
    events.sort(key=lambda e: e[0])
    track = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=tempo),
            mido.MetaMessage("time_signature", numerator=sig[0], denominator=sig[1]),
        ]
    )
    now = 0
    for tick, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    mid = mido.MidiFile(type=0, ticks_per_beat=tpb)
    mid.tracks.append(track)
    mid.save(str(path))
    return path


def test_pattern_midi_pattern_is_identical(tmp_path):
    for seed in range(5):
        p = random_pattern(seed, bpm=90.0 + seed)
        write_midi(p, tmp_path / "p.mid")
        assert read_midi(tmp_path / "p.mid").pattern == p


def test_written_file_is_type0_gm_channel10_with_tempo(tmp_path):
    p = random_pattern(bpm=100)
    mid = pattern_to_midi(p)
    assert mid.type == 0 and len(mid.tracks) == 1
    msgs = list(mid.tracks[0])
    assert any(m.type == "set_tempo" and m.tempo == mido.bpm2tempo(100) for m in msgs)
    ons = [m for m in msgs if m.type == "note_on"]
    assert len(ons) == p.num_hits
    assert {m.channel for m in ons} == {9}
    assert {m.note for m in ons} <= {36, 38, 42, 46, 43, 47, 50, 49, 51}


def test_snapping_offsets_and_loudest_wins(tmp_path):
    # 120 ticks per step at 480 ticks a beat.
    path = midi_file(
        tmp_path / "a.mid",
        [
            (0, 36, 100),  # kick on step 0
            (130, 38, 50),  # snare 10 ticks late of step 1
            (350, 42, 40),  # hat 10 ticks early of step 3 ...
            (365, 44, 90),  # ... and a louder pedal hat in the same cell (same voice) wins
            (60, 51, 70),  # exactly half a step: goes late, to step 1 with offset -0.5
        ],
    )
    d = read_midi(path)
    p = d.pattern
    assert p.steps == 16 and d.onsets == 5 and d.collisions == 1
    assert p.hits[0, 0] and p.velocities[0, 0] == pytest.approx(100 / 127)
    assert p.hits[1, 1] and p.offsets[1, 1] == pytest.approx(10 / 120)
    assert p.hits[3, 2] and p.velocities[3, 2] == pytest.approx(90 / 127)
    assert p.offsets[3, 2] == pytest.approx(5 / 120)
    assert p.hits[1, 8] and p.offsets[1, 8] == pytest.approx(-0.5)
    assert p.num_hits == 4


def test_note_on_velocity_zero_is_a_note_off(tmp_path):
    path = midi_file(tmp_path / "a.mid", [(0, 36, 100)])
    assert read_midi(path).pattern.num_hits == 1  # its velocity-0 note-on added nothing


def test_hit_half_a_step_early_at_the_start_survives_round_trip(tmp_path):
    p = Pattern.empty(32, bpm=120)
    p.hits[0, 1], p.velocities[0, 1], p.offsets[0, 1] = 1, 64 / 127, -0.5
    p.hits[31, 0], p.velocities[31, 0], p.offsets[31, 0] = 1, 1.0, 0.25
    write_midi(p, tmp_path / "early.mid")
    q = read_midi(tmp_path / "early.mid").pattern
    assert q == p  # not lost, not wrapped onto the last step


def test_notes_past_the_last_bar(tmp_path):
    path = midi_file(tmp_path / "long.mid", [(0, 36, 90), (16 * 120 * 3, 38, 90)])
    assert read_midi(path).pattern.steps == 64  # grows to the bar of the last note
    d = read_midi(path, bars=2)
    assert d.pattern.steps == 32 and d.past_end == 1 and d.pattern.num_hits == 1


def test_three_four_time_signature_is_reported(tmp_path):
    path = midi_file(tmp_path / "waltz.mid", [(0, 36, 90)], sig=(3, 4))
    assert read_midi(path).time_signature == (3, 4)


def test_several_tempos_keep_the_grid_and_report_changes(tmp_path):
    path = midi_file(
        tmp_path / "t.mid", [(0, 36, 90), (1920, 38, 90)], extra_tempos=[(960, 400_000)]
    )
    d = read_midi(path)
    assert d.tempo_changes == 1 and d.pattern.bpm == 120
    assert d.pattern.hits[16, 1] and d.pattern.offsets[16, 1] == 0  # still on its beat


def test_channel_is_configurable(tmp_path):
    path = midi_file(tmp_path / "ch1.mid", [(0, 36, 90)], channel=0)
    with pytest.raises(BadInputError, match="no drum notes on MIDI channel 10.*channel 1"):
        read_midi(path)
    assert read_midi(path, channel=0).pattern.num_hits == 1
    assert read_midi(path, channel=None).pattern.num_hits == 1


def test_input_pitch_map_is_configurable(tmp_path):
    path = midi_file(tmp_path / "cowbell.mid", [(0, 56, 90)])
    with pytest.raises(BadInputError, match="no note matches"):
        read_midi(path)
    dm = DrumMap(input_pitches={"ride": (56,)})
    assert read_midi(path, dm).pattern.hits[0, 8] == 1


@pytest.mark.parametrize("kind", ["missing", "empty", "garbage"])
def test_bad_files_are_refused_with_a_clear_error(tmp_path, kind):
    path = tmp_path / "x.mid"
    if kind == "empty":
        midi_file(path, [])
    elif kind == "garbage":
        path.write_bytes(b"this is not a midi file")
    with pytest.raises(BadInputError) as e:
        read_midi(path)
    assert str(path) in str(e.value)


def test_real_gmd_files_round_trip(groove_dir):
    files = sorted(glob.glob(str(groove_dir / "drummer*/**/*.mid"), recursive=True))[::50]
    assert len(files) >= 20
    for f in files:
        d = read_midi(f)
        mid = pattern_to_midi(d.pattern)
        tmp = mid.ticks_per_beat  # 480, as GMD
        assert tmp == 480
        again = read_midi_from(mid)
        assert again == d.pattern, f
        # MIDI -> pattern keeps every onset but the ones sharing a cell
        assert d.pattern.num_hits == d.onsets - d.collisions


def read_midi_from(mid, tmp=[]):  # noqa: B006 - a scratch path shared by the calls above
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".mid") as fh:
        mid.save(fh.name)
        return read_midi(fh.name).pattern


def test_gmd_onsets_within_2ms_and_1_velocity(groove_dir):
    """Onset-level check on a few GMD files: every kept onset comes back within 2 ms / 1 velocity."""
    onset_round_trip = load_script("midi_roundtrip").onset_round_trip

    files = sorted(glob.glob(str(groove_dir / "drummer*/**/*.mid"), recursive=True))[::97]
    total = onset_round_trip(files)
    assert total.kept > 0
    assert total.matched / total.kept >= 0.99
    assert total.max_ms <= 2.0 + 1e-9 and total.max_velocity <= 1


def test_write_then_read_arbitrary_values_is_close(tmp_path):
    rng = np.random.default_rng(3)
    p = Pattern.from_array(
        np.concatenate(
            [(rng.random((32, 9)) < 0.3), rng.random((32, 9)), rng.random((32, 9)) - 0.5], axis=1
        )
    )
    write_midi(p, tmp_path / "x.mid")
    q = read_midi(tmp_path / "x.mid").pattern
    assert np.array_equal(q.hits, p.hits)
    assert np.abs(q.velocities - p.velocities).max() <= 0.5 / 127 + 1e-6
    assert np.abs(q.offsets - p.offsets).max() <= 1 / 120 + 1e-6  # 1 tick at most
