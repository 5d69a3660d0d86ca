"""`pdbridge sample / humanize / drumify / continue`: MIDI in, MIDI out, through the real Engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import make_tiny_models

from pdbridge.cli import main
from pdbridge.core.errors import ExitCode
from pdbridge.core.midi import read_midi, write_midi
from pdbridge.core.pattern import Pattern

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    paths = make_tiny_models(tmp_path_factory.mktemp("models"))
    return [arg for p in paths for arg in ("--model", str(p))]


@pytest.fixture(scope="module")
def stiff_beat(tmp_path_factory):
    """Three bars of a plain rock beat at one velocity, 100 bpm, as a MIDI file."""
    a = np.zeros((48, 27), np.float32)
    a[0::8, 0] = 1  # kick
    a[4::8, 1] = 1  # snare
    a[0::2, 2] = 1  # closed hi-hat
    a[:, 9:18] = a[:, :9] * 0.8
    path = tmp_path_factory.mktemp("in") / "stiff.mid"
    write_midi(Pattern.from_array(a, bpm=100.0), path)
    return path


def test_sample_writes_a_beat(models, tmp_path, capsys):
    out = tmp_path / "beat.mid"
    assert main(["sample", "--out", str(out), "--seed", "3", "--bars", "4", *models]) == 0
    assert str(out) in capsys.readouterr().out
    beat = read_midi(out, bars=4).pattern
    assert beat.steps == 64 and beat.num_hits > 0 and beat.bpm == 120.0
    again = tmp_path / "again.mid"
    assert main(["sample", "--out", str(again), "--seed", "3", "--bars", "4", *models]) == 0
    assert read_midi(again, bars=4).pattern == beat
    # two windows with different seeds: the second two bars differ from the first two
    assert not np.array_equal(beat.hits[:32], beat.hits[32:])


def test_sample_json_with_style_and_threshold(models, tmp_path):
    out = tmp_path / "beat.json"
    args = ["sample", "--out", str(out), "--style", "funk", "--threshold", "1", *models]
    assert main(args) == 0
    assert Pattern.load_json(out).num_hits == 0
    assert main(["sample", "--out", str(out), "--style", "disco", *models]) == ExitCode.BAD_INPUT


def test_humanize_keeps_hits_and_length(models, stiff_beat, tmp_path):
    out = tmp_path / "human.mid"
    assert main(["humanize", str(stiff_beat), "--out", str(out), *models]) == 0
    stiff, human = read_midi(stiff_beat).pattern, read_midi(out, bars=3).pattern
    assert human.steps == 48 and human.bpm == 100.0
    assert np.array_equal(human.hits, stiff.hits)
    assert not np.allclose(human.velocities, stiff.velocities)


def test_infill_keeps_the_other_voices_and_length(models, stiff_beat, tmp_path):
    out = tmp_path / "hats.mid"
    assert main(["infill", str(stiff_beat), "--out", str(out), "--threshold", "0", *models]) == 0
    stiff, hats = read_midi(stiff_beat).pattern, read_midi(out, bars=3).pattern
    assert hats.steps == 48 and hats.bpm == 100.0
    others = [v for v in range(9) if v != 2]  # every voice but the closed hi-hat
    assert np.array_equal(hats.hits[:, others], stiff.hits[:, others])
    assert hats.hits[:, 2].all()  # threshold 0: a closed hi-hat on every step


def test_drumify_and_continue(models, stiff_beat, tmp_path):
    kit = tmp_path / "kit.json"
    assert main(["drumify", str(stiff_beat), "--out", str(kit), "--seed", "1", *models]) == 0
    assert Pattern.load_json(kit).steps == 48
    more = tmp_path / "more.json"
    assert main(["continue", str(stiff_beat), "--bars", "2", "--out", str(more), *models]) == 0
    assert Pattern.load_json(more).steps == 32
    both = tmp_path / "both.json"
    args = ["continue", str(stiff_beat), "--bars", "1", "--with-input", "--out", str(both)]
    assert main([*args, *models]) == 0
    joined = Pattern.load_json(both)
    assert joined.steps == 64
    assert np.array_equal(joined.hits[:48], read_midi(stiff_beat).pattern.hits)


def test_errors_are_one_line_messages(models, stiff_beat, tmp_path, capsys):
    vae_only = models[:2]
    out = str(tmp_path / "x.mid")
    assert main(["humanize", str(stiff_beat), "--out", out, *vae_only]) == ExitCode.BAD_MODEL
    assert "no humanize model loaded" in capsys.readouterr().err
    missing = str(tmp_path / "missing.mid")
    assert main(["drumify", missing, "--out", out, *models]) == ExitCode.BAD_INPUT
    assert "no such file" in capsys.readouterr().err
    # option values are checked as the command line is read: usage errors, one line
    assert main(["continue", str(stiff_beat), "--bars", "0", "--out", out, *models]) == 2
    assert "argument --bars: 0 out of range 1..64" in capsys.readouterr().err
    assert main(["sample", "--out", str(tmp_path / "x.wav"), *models]) == ExitCode.USAGE
    assert "unknown file type" in capsys.readouterr().err
