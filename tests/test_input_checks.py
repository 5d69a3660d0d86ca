"""Issue 18's examples, one by one: each refused in one line with its documented exit code (or
now served correctly), nothing written where nothing should be. The huge-size cases also run as
real processes under a memory limit in tests/test_cli_properties.py."""

from __future__ import annotations

import json
import logging
import zlib

import mido
import numpy as np
import pytest
import torch
from test_midi import midi_file
from tiny_models import make_tiny_models

from pdbridge.cli import main
from pdbridge.core.errors import ExitCode
from pdbridge.core.midi import read_midi, write_midi
from pdbridge.core.pattern import Pattern
from pdbridge.core.pattern_files import load_pattern

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    paths = make_tiny_models(tmp_path_factory.mktemp("models"))
    return paths


@pytest.fixture(scope="module")
def model_args(models):
    return [a for p in models for a in ("--model", str(p))]


def one_error_line(capsys, command: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("WARNING")]
    assert len(lines) == 1 and lines[0].startswith(f"pdbridge {command}: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_a_json_pattern_declaring_1e8_steps_is_refused_before_allocating(tmp_path, capsys):
    d = Pattern.empty(16).to_json_dict() | {"steps": 100_000_000}
    src = tmp_path / "huge.json"
    src.write_text(json.dumps(d))
    assert src.stat().st_size < 2500  # about 2 KB
    assert main(["convert", str(src), str(tmp_path / "out.mid")]) == ExitCode.BAD_INPUT
    assert "steps 100000000 must be a whole number 1..16384" in one_error_line(capsys, "convert")
    assert not (tmp_path / "out.mid").exists()


def test_a_37_byte_midi_whose_second_note_is_1e7_bars_later(tmp_path, capsys):
    mid = mido.MidiFile(type=0, ticks_per_beat=1)
    track = mido.MidiTrack()
    track.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0))
    track.append(mido.Message("note_on", channel=9, note=38, velocity=100, time=4 * 10**7))
    mid.tracks.append(track)
    src = tmp_path / "far.mid"
    mid.save(str(src))
    assert src.stat().st_size <= 37
    assert main(["convert", str(src), str(tmp_path / "out.json")]) == ExitCode.BAD_INPUT
    assert "notes span 10,000,001 bars" in one_error_line(capsys, "convert")
    # cut to a length, the far note is simply past the end
    assert main(["convert", str(src), str(tmp_path / "two.json"), "--bars", "2"]) == 0


@pytest.mark.parametrize(
    "argv, option",
    [
        (["sample", "--bars", "100000"], "--bars: 100000 out of range 1..1024"),
        (["train", "mlp_vae", "--data", ".", "--batch-size", "0"], "--batch-size: 0 out of range"),
        (["send", "/ping", "--timeout", "0"], "--timeout: 0 out of range"),
        (["bench", "--cpu", "99"], "--cpu: CPU 99 is not available"),
        (["serve", "--port", "70000"], "--port: 70000 out of range 0..65535"),
        (["serve", "--reply-port", "70000"], "--reply-port: 70000 out of range 1..65535"),
        (["serve", "--export-dir", "/proc/no/such"], "--export-dir: /proc/no/such: cannot write"),
        (["sample", "--temperature", "nan"], "--temperature: nan is not a finite number"),
    ],
)
def test_options_out_of_range_are_one_line_usage_errors(argv, option, tmp_path, capsys):
    if argv[0] == "sample":
        argv = [*argv, "--out", str(tmp_path / "x.mid")]
    assert main(argv) == ExitCode.USAGE
    err = capsys.readouterr()
    assert err.out == ""  # for serve: refused before any model loads, no ready line
    assert f"argument {option}" in err.err and len(err.err.strip().splitlines()) == 1, err.err
    assert "Traceback" not in err.err
    assert not (tmp_path / "x.mid").exists()


def test_seed_minus_one_means_random_as_over_osc(model_args, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["sample", "--seed", "-1", "--out", str(out), *model_args]) == 0
    assert Pattern.load_json(out).steps == 32
    assert main(["sample", "--seed", "-2", "--out", str(out), *model_args]) == ExitCode.USAGE
    assert "0..2147483647 or -1" in one_error_line(capsys, "sample")


def test_eval_of_a_task_without_training_windows_leaves_the_baseline_out(models, tmp_path, capsys):
    data = tmp_path / "mine" / "funk"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    a = np.zeros((64, 27), np.float32)
    a[:, :9] = rng.random((64, 9)) < 0.4
    a[:, 9:18] = a[:, :9] * 0.7
    # a folder without info.csv is split 90/10 by the CRC of each file's name: all validation
    name = next(f"take{i}.mid" for i in range(100) if zlib.crc32(f"funk/take{i}.mid".encode()) % 10 == 0)
    write_midi(Pattern.from_array(a), data / name)
    for task in ("drumify", "infill", "humanize"):
        model = next(p for p in models if p.stem == f"tiny_{task}")
        argv = ["eval", str(model), "--data", str(tmp_path / "mine"), "--json", "--no-latency"]
        assert main(argv) == 0, capsys.readouterr().err
        result = json.loads(capsys.readouterr().out)
        scores = result[task]
        assert "no baseline" in scores["baseline_note"]
        assert not any(k.startswith("baseline_") and k != "baseline_note" for k in scores)
        assert scores["velocity_mae"] is not None


def test_tempo_changes_keep_the_beats_and_are_warned_about(tmp_path, caplog):
    src = midi_file(
        tmp_path / "t.mid", [(0, 36, 90), (1920, 38, 90)], extra_tempos=[(960, 600_000)]
    )
    with caplog.at_level(logging.WARNING):
        pattern = load_pattern(src)
    assert pattern.bpm == 120 and pattern.hits[16, 1] == 1  # every note on its beat
    assert "1 tempo change (100 to 120 bpm)" in caplog.text
    assert read_midi(src).tempos == [120.0, 100.0]


def test_a_first_tempo_after_the_start_counts_as_a_change_from_120(tmp_path):
    src = midi_file(tmp_path / "late.mid", [(0, 36, 90)], extra_tempos=[(960, 600_000)])
    track = mido.MidiFile(str(src)).tracks[0]
    assert track[0].type == "set_tempo"  # midi_file always writes 120 first: make one without
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([m for m in track if m is not track[0]]))
    mid.save(str(tmp_path / "late2.mid"))
    d = read_midi(tmp_path / "late2.mid")
    assert d.pattern.bpm == 120 and d.tempos == [120.0, 100.0] and d.tempo_changes == 1


def test_meter_changes_are_refused_unless_any_meter(tmp_path, capsys):
    src = midi_file(tmp_path / "m.mid", [(0, 36, 90), (1920 * 2, 38, 90)])
    mid = mido.MidiFile(str(src))
    mid.tracks[0].insert(3, mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0))
    mid.save(str(src))
    out = tmp_path / "m.json"
    assert main(["convert", str(src), str(out)]) == ExitCode.BAD_INPUT
    assert "time signature 4/4, 3/4" in one_error_line(capsys, "convert")
    assert not out.exists()
    assert main(["convert", str(src), str(out), "--any-meter"]) == 0


def test_exported_midi_keeps_the_patterns_tempo(tmp_path):
    src = tmp_path / "a.json"
    Pattern.from_array(np.eye(32, 27, dtype=np.float32), bpm=97.5).save_json(src)
    assert main(["convert", str(src), str(tmp_path / "a.mid")]) == 0
    assert read_midi(tmp_path / "a.mid").pattern.bpm == 97.5


def test_export_names(models, tmp_path):
    from pdbridge.inference.engine import Controls, Engine
    from pdbridge.serve.osc_codec import decode, encode
    from pdbridge.serve.protocol import Protocol

    exports = tmp_path / "exports"
    try:
        protocol = Protocol(Engine.load([str(models[0])]), Controls, export_dir=exports)
    except TypeError:  # the file service built by the caller
        from pdbridge.serve.file_service import FileService

        protocol = Protocol(
            Engine.load([str(models[0])]), Controls, files=FileService(export_dir=exports)
        )

    def ask(*args):
        return decode(protocol.handle("c", decode(encode(*args))))

    ask("/sample")
    reply = ask("/export", ".mid")
    assert reply.address == "/error" and "needs a name before .mid" in reply.args[1]
    reply = ask("/export", "n" * 255)
    assert reply.address == "/error" and "at most 200 bytes" in reply.args[1], reply.args
    assert ask("/export", "beat").args == ["export", "beat.mid"]
    assert ask("/export", "take.MID").args == ["export", "take.MID"]
    assert sorted(p.name for p in exports.iterdir()) == ["beat.mid", "take.MID"]


def test_send_passes_arguments_after_the_pattern(models, tmp_path, capsys):
    from pdbridge.inference.engine import Controls, Engine
    from pdbridge.serve.protocol import Protocol
    from pdbridge.serve.server import Server, ServerConfig

    beat = tmp_path / "x.mid"
    write_midi(Pattern.from_array(np.eye(32, 27, dtype=np.float32)), beat)
    server = Server(Protocol(Engine.load([str(p) for p in models]), Controls), ServerConfig(port=0))
    server.start()
    try:
        port = str(server.address[1])
        assert main(["send", "/continue", "--pattern", str(beat), "4", "--port", port]) == 0
        assert "/pattern 64 steps" in capsys.readouterr().out  # 4 bars, not the default 2
        assert main(["send", "--port", port, "/continue", "3", "--pattern", str(beat)]) == 0
        assert "/pattern 48 steps" in capsys.readouterr().out
    finally:
        server.stop()


@pytest.mark.parametrize(
    "argv, text",
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["nope"], "invalid choice: 'nope'"),
        (["convert"], "the following arguments are required: input, output"),
    ],
)
def test_top_level_mistakes_are_one_line_usage_errors(argv, text, capsys):
    assert main(argv) == ExitCode.USAGE
    err = capsys.readouterr()
    assert err.out == "" and text in err.err and len(err.err.strip().splitlines()) == 1, err
