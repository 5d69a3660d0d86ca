"""The CLI as users meet it: real subprocesses, exit codes, one-line errors, no tracebacks."""

import json
import subprocess
import sys

import pytest
from test_midi import midi_file

from pdbridge.core.pattern import Pattern


def pdbridge(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "pdbridge", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_help_lists_commands():
    r = pdbridge("--help")
    assert r.returncode == 0 and "convert" in r.stdout and "dataset" in r.stdout


def test_convert_midi_json_midi(tmp_path, groove_dir):
    src = next(groove_dir.glob("drummer1/session1/*_beat_4-4.mid"))
    r = pdbridge("convert", src, tmp_path / "a.json", "--bars", 2)
    assert r.returncode == 0, r.stderr
    d = json.loads((tmp_path / "a.json").read_text())
    assert d["steps"] == 32
    r = pdbridge("convert", tmp_path / "a.json", tmp_path / "a.mid", "--bpm", 100)
    assert r.returncode == 0, r.stderr
    r = pdbridge("convert", tmp_path / "a.mid", tmp_path / "b.json")
    b = Pattern.load_json(tmp_path / "b.json")
    assert b.bpm == 100 and b.allclose(Pattern.load_json(tmp_path / "a.json"), atol=1e-3)


@pytest.mark.parametrize(
    "case", ["missing", "not_midi", "no_notes", "bad_json", "waltz", "wrong_channel"]
)
def test_bad_input_is_one_line_error_with_nonzero_exit(tmp_path, case):
    src = tmp_path / ("in.json" if case == "bad_json" else "in.mid")
    if case == "not_midi":
        src.write_text("hello")
    elif case == "no_notes":
        midi_file(src, [])
    elif case == "bad_json":
        src.write_text('{"format": "pdbridge-pattern", "version": 1, "steps": 3}')
    elif case == "waltz":
        midi_file(src, [(0, 36, 90)], sig=(3, 4))
    elif case == "wrong_channel":
        midi_file(src, [(0, 36, 90)], channel=3)
    r = pdbridge("convert", src, tmp_path / "out.json")
    assert r.returncode == 3
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(src) in lines[0], r.stderr
    assert not (tmp_path / "out.json").exists()


def test_dataset_command_counts_windows_per_split(tmp_path, groove_dir):
    r = pdbridge("dataset", groove_dir, "--split", "validation", "--cache-dir", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "validation" in r.stdout and "rock" in r.stdout
    assert "train" not in r.stdout.splitlines()[1]
