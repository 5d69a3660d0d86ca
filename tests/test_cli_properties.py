"""Property-based tests of every command (hypothesis): generated command lines, good and bad files.

The commands are found in `pdbridge.cli.COMMANDS` and their options read from their own parsers
(`pdbridge.cli.command_parser`), so a new command is tested as soon as it exists. For each example
hypothesis draws an argv: every option the command takes, each maybe left out, with a value in
its range, just outside it, absurd (huge, negative, NaN, not a number, empty), and files from a
pool of good, corrupt, oversized and missing ones (MIDI, JSON, checkpoints, folders).

Invariants (docs/reliability.md, "Every command"):
- the exit code is one of the documented table's;
- no traceback, and a failure is exactly one `pdbridge CMD: error: ...` line on stderr;
- every option an error message suggests (`--name`) is one the command accepts;
- a command that fails writes no output file;
- under an address-space limit (`RLIMIT_AS`) and a time limit, as a real process, for the files
  that declare huge sizes (`test_size_cases_stay_within_memory_and_time`,
  `test_corrupt_files_in_a_process_stay_within_memory_and_time`).

Most examples run in this process through `pdbridge.cli.main` (fast); the work a command does
after its checks is stubbed where it would run for long (training, benchmarking, serving: they
raise `ReachedWork` instead), so the checks themselves are what is tested. CI runs a fixed
number of examples with a fixed seed (`derandomize`): PDBRIDGE_HYPOTHESIS_EXAMPLES=2000 runs
more (docs/reliability.md has the command).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import mido
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_midi import midi_file
from tiny_models import make_tiny_models

from pdbridge.cli import COMMANDS, command_parser, main
from pdbridge.cli.options import float_range, int_range
from pdbridge.core import limits
from pdbridge.core.midi import write_midi
from pdbridge.core.pattern import Pattern

torch.set_num_threads(1)

# docs/reliability.md, "Exit codes": every command exits with one of these.
DOCUMENTED_EXIT_CODES = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 130}
EXAMPLES = int(os.environ.get("PDBRIDGE_HYPOTHESIS_EXAMPLES", "320"))
PROCESS_EXAMPLES = int(os.environ.get("PDBRIDGE_HYPOTHESIS_PROCESS_EXAMPLES", "12"))
# Address space for a command run as a process: a torch command peaks at 0.67-0.77 GB of virtual
# memory (VmPeak measured for sample and models), convert at 0.15 GB; 2 GiB leaves room and
# still stops any unbounded allocation at once (MemoryError, a traceback the test sees).
MEMORY_LIMIT = 2 * 1024**3
TIME_LIMIT_S = 60
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


class ReachedWork(BaseException):  # noqa: N818 (not an error: the checks passed)
    """Raised by the stubs for long work: the command got past all its checks."""


def _reached(*args, **kwargs):
    raise ReachedWork


# ---------------------------------------------------------------------------- the file pool


def _pattern(steps: int = 32, seed: int = 0, bpm: float = 100.0) -> Pattern:
    rng = np.random.default_rng(seed)
    a = np.zeros((steps, 27), np.float32)
    a[:, :9] = rng.random((steps, 9)) > 0.7
    a[:, 9:18] = a[:, :9] * rng.uniform(0.2, 1.0, (steps, 9))
    a[:, 18:] = a[:, :9] * rng.uniform(-0.4, 0.4, (steps, 9))
    return Pattern.from_array(a, bpm=bpm)


def _json_pattern(path: Path, **override) -> Path:
    import json

    d = _pattern().to_json_dict() | override
    path.write_text(json.dumps(d))
    return path


def make_pool(folder: Path) -> dict[str, Path]:
    """Files of every kind a user (or an attacker) might hand a command."""
    folder.mkdir(parents=True, exist_ok=True)
    pool: dict[str, Path] = {}
    write_midi(_pattern(48), folder / "beat.mid")
    pool["beat.mid"] = folder / "beat.mid"
    _pattern(32, 1).save_json(folder / "beat.json")
    pool["beat.json"] = folder / "beat.json"
    pool["tempo_map.mid"] = midi_file(
        folder / "tempo_map.mid", [(0, 36, 90), (1920, 38, 90)], extra_tempos=[(960, 400_000)]
    )
    pool["waltz.mid"] = midi_file(folder / "waltz.mid", [(0, 36, 90)], sig=(3, 4))
    pool["channel1.mid"] = midi_file(folder / "channel1.mid", [(0, 36, 90)], channel=0)
    pool["no_notes.mid"] = midi_file(folder / "no_notes.mid", [])
    pool["tempo0.mid"] = midi_file(folder / "tempo0.mid", [(0, 36, 90)], tempo=0)
    pool["far.mid"] = _far_midi(folder / "far.mid")
    pool["huge_steps.json"] = _json_pattern(folder / "huge_steps.json", steps=100_000_000)
    pool["bool_steps.json"] = _json_pattern(folder / "bool_steps.json", steps=True)
    pool["nan.json"] = folder / "nan.json"
    pool["nan.json"].write_text(
        pool["beat.json"].read_text().replace('"velocities": {"kick": [', '"velocities": {"kick": [NaN, ', 1)
    )
    pool["deep.json"] = folder / "deep.json"
    pool["deep.json"].write_text("[" * 50_000 + "]" * 50_000)
    pool["big_int.json"] = folder / "big_int.json"
    pool["big_int.json"].write_text('{"format": "pdbridge-pattern", "version": 1, "steps": ' + "9" * 5000 + "}")
    pool["too_big.json"] = folder / "too_big.json"
    pool["too_big.json"].write_bytes(b" " * (limits.MAX_JSON_BYTES + 1))
    pool["too_big.mid"] = folder / "too_big.mid"
    pool["too_big.mid"].write_bytes(pool["beat.mid"].read_bytes() + bytes(limits.MAX_MIDI_BYTES))
    pool["empty.mid"] = folder / "empty.mid"
    pool["empty.mid"].write_bytes(b"")
    pool["text.mid"] = folder / "text.mid"
    pool["text.mid"].write_text("hello")
    pool["smpte.mid"] = folder / "smpte.mid"
    raw = bytearray(pool["beat.mid"].read_bytes())
    raw[12:14] = b"\xe7\x28"  # division: SMPTE 25 fps, 40 ticks a frame
    pool["smpte.mid"].write_bytes(bytes(raw))
    pool["zero_tpb.mid"] = folder / "zero_tpb.mid"
    raw[12:14] = b"\x00\x00"
    pool["zero_tpb.mid"].write_bytes(bytes(raw))
    pool["notes.txt"] = folder / "notes.txt"
    pool["notes.txt"].write_text("kick snare")
    pool["folder.mid"] = folder / "folder.mid"
    pool["folder.mid"].mkdir(exist_ok=True)
    pool["missing.mid"] = folder / "missing.mid"
    pool["config.json"] = folder / "config.json"
    pool["config.json"].write_text('{"model": "mlp_vae", "epochs": 1, "batch_size": 0}')
    models = make_tiny_models(folder / "models")
    pool["tiny.pt"] = models[0]
    pool["truncated.pt"] = folder / "truncated.pt"
    pool["truncated.pt"].write_bytes(models[0].read_bytes()[:3000])
    pool["random.pt"] = folder / "random.pt"
    pool["random.pt"].write_bytes(np.random.default_rng(0).bytes(5000))
    pool["random.pth"] = folder / "random.pth"
    pool["random.pth"].write_bytes(np.random.default_rng(1).bytes(5000))
    return pool


def _dense_midi(path: Path, size: int) -> Path:
    """A file of exactly `size` bytes of kicks at one tick (running status: 3 bytes a note),
    the most events a file within the limit can hold."""
    n = (size - 30) // 3
    body = b"\x00\x99\x24\x64" + b"\x00\x24\x64" * (n - 2) + b"\x00\xff\x2f\x00"
    head = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(body))
    path.write_bytes(head + body)
    return path


def _far_midi(path: Path) -> Path:
    """37 bytes: a kick, then a snare 10^7 bars later (one tick a beat)."""
    mid = mido.MidiFile(type=0, ticks_per_beat=1)
    track = mido.MidiTrack()
    track.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0))
    track.append(mido.Message("note_on", channel=9, note=38, velocity=100, time=4 * 10**7))
    mid.tracks.append(track)
    mid.save(str(path))
    return path


def split_of(name: str) -> str:
    """The split `pdbridge.train.dataset` gives a file of a folder without info.csv."""
    return "validation" if zlib.crc32(name.encode()) % 10 == 0 else "train"


def make_dataset(folder: Path) -> Path:
    """A user's folder of .mid files (no info.csv): split 90/10 by name; 4 files of training
    windows and 2 of validation windows."""
    names = [f"funk/take{i}.mid" for i in range(200)]
    train = [n for n in names if split_of(n) == "train"][:4]
    validation = [n for n in names if split_of(n) == "validation"][:2]
    for i, name in enumerate(train + validation):
        write_midi(_pattern(64, 10 + i, 90 + i), folder / name)
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("properties")
    pool = make_pool(root / "pool")
    data = root / "data"
    (data / "funk").mkdir(parents=True)
    make_dataset(data)
    only_validation = root / "validation_only"
    (only_validation / "funk").mkdir(parents=True)
    for path in (data / "funk").glob("*.mid"):  # a user's test folder: no training split
        if split_of(f"funk/{path.name}") == "validation":
            shutil.copy(path, only_validation / "funk" / path.name)
    models = sorted((root / "pool" / "models").glob("*.pt"))
    (root / "out").mkdir()
    from pdbridge.inference.engine import Controls, Engine
    from pdbridge.serve.protocol import Protocol
    from pdbridge.serve.server import Server, ServerConfig

    server = Server(Protocol(Engine.load([str(m) for m in models]), Controls), ServerConfig(port=0))
    server.start()
    yield {"root": root, "pool": pool, "data": data, "models": models, "out": root / "out",
           "port": server.address[1]}  # fmt: skip
    server.stop()


@pytest.fixture(autouse=True)
def _stub_long_work(monkeypatch, world):
    """Training, benchmarking and serving would run for minutes or forever once their checks
    pass: they stop with `ReachedWork` instead. Everything before them runs for real."""
    import pdbridge.cli.bench
    import pdbridge.cli.serve
    import pdbridge.cli.train

    monkeypatch.chdir(world["root"])  # relative names land in the test's folder
    monkeypatch.setattr(pdbridge.cli.train, "train", _reached)
    monkeypatch.setattr(pdbridge.cli.bench, "run_bench", _reached)
    monkeypatch.setattr(pdbridge.cli.serve, "build_protocol", _reached)


# ---------------------------------------------------------------------------- argv strategies


JUNK = ["", "x", "-", "1e400", "nan", "inf", "-inf", "0x10", "１", "-0", " 7 ", "9" * 40]


def _number_values(kind, valid: bool) -> st.SearchStrategy[str]:
    """Valid: in range, small and cheap mostly, sometimes the upper bound. Else: just outside,
    absurd, or not a number."""
    if isinstance(kind, int_range):
        lo = kind.lo if kind.lo is not None else -5
        hi = kind.hi if kind.hi is not None else lo + 100
        if valid:
            cheap = st.integers(lo, min(hi, lo + 3))
            return st.one_of(cheap, cheap, cheap, st.sampled_from([hi, *kind.special])).map(str)
        outside = [lo - 1, hi + 1, 2**31, -(2**63), 10**30]
        return st.sampled_from(outside).map(str) | st.sampled_from(JUNK + ["3.5"])
    lo, hi = kind.lo, kind.hi
    if valid:
        cheap = st.floats(lo, min(hi, lo + 2.0), allow_nan=False)
        return st.one_of(cheap, st.sampled_from([hi])).filter(lambda v: v > lo or not kind.lo_open).map(repr)
    outside = [lo - 1e-9, hi * 1.001 + 1, -1.0, 1e308, float("nan"), float("inf")]
    if kind.lo_open:
        outside.append(lo)
    return st.sampled_from(outside).map(repr) | st.sampled_from(JUNK)


def _path_values(world, dest: str, command: str, valid: bool) -> st.SearchStrategy[str]:
    pool = world["pool"]
    if dest in ("out", "output", "export"):  # a fresh name each time, or an impossible one
        suffixes = [".mid", ".json"] if valid else [".pt", ".midi", ".txt", ""]
        if command in ("import",) or dest == "export":
            suffixes = [".pt"] if valid else [".mid", ""]
        fresh = st.builds(
            lambda s, n: str(world["out"] / f"n{n}" / f"o{n}{s}"),
            st.sampled_from(suffixes),
            st.integers(0, 10**9),
        )
        if valid:
            return fresh
        bad = st.sampled_from(
            ["/proc/x/o.mid", str(pool["beat.mid"] / "o.mid"), str(world["out"]), "", ".mid",
             str(world["out"] / ("n" * 300 + ".mid"))]
        )  # fmt: skip
        return st.one_of(fresh, bad)
    if dest in ("dir", "data", "models_dir"):
        if valid:
            return st.sampled_from([str(world["data"]), str(world["root"] / "validation_only")])
        return st.sampled_from([str(pool["beat.mid"]), "/nonexistent", "", "n" * 300])
    if getattr(action_type(world, command, dest), "__name__", "") == "writable_dir" and dest not in (
        "cache_dir", "export_dir"
    ):  # any folder a command writes into: a fresh one in the test's own folder, never "/"
        if valid:
            return st.integers(0, 10**9).map(lambda n: str(world["out"] / f"d{n}"))
        return st.sampled_from(["/proc/nope", str(pool["beat.mid"]), "n" * 300])
    if dest in ("cache_dir", "export_dir"):
        if valid:
            return st.just(str(world["root"] / "cache"))
        return st.sampled_from(["/proc/nope", str(pool["beat.mid"]), "/sys/x", "n" * 300])
    if valid and dest in ("input", "pattern"):
        return st.sampled_from([str(pool[k]) for k in ("beat.mid", "beat.json", "tempo_map.mid")])
    if valid and dest == "file":
        return st.sampled_from([str(pool["tiny.pt"])])
    if dest == "file":  # a command's one input: the names most likely to go wrong, often
        return st.sampled_from(["n" * 300 + ".pth", str(pool["missing.mid"]), str(pool["folder.mid"]),
                                str(pool["random.pth"]), str(pool["truncated.pt"]), ""])  # fmt: skip
    # anything else names a file to read: never "/" or another place outside the test's folder
    # (a command that writes there would write into the machine's root)
    return st.sampled_from([str(p) for p in pool.values()] + ["", "n" * 300])


def action_type(world, command: str, dest: str):
    """The argparse type of `dest` in `command`'s parser."""
    return next((a.type for a in command_parser(command)._actions if a.dest == dest), None)


def _value(world, command: str, action, valid: bool) -> st.SearchStrategy[str]:
    kind = action.type
    dest = action.dest
    pool = world["pool"]
    if command == "send" and dest == "timeout":  # a valid timeout waits that long: keep it short
        return st.sampled_from(["0.05", "0.1"] if valid else ["0", "-1", "nan", "1e999", "x"])
    if command == "send" and dest == "port" and valid:
        return st.just(str(world["port"]))
    if command == "serve" and dest == "port" and valid:
        return st.just("0")
    if isinstance(kind, (int_range, float_range)):
        return _number_values(kind, valid)
    if action.choices:
        return st.sampled_from(list(action.choices) if valid else ["nope", ""])
    if dest == "model" and command == "train":
        if valid:
            return st.sampled_from(["mlp_vae", "next_step"])
        return st.sampled_from(
            ["nope", str(pool["config.json"]), str(pool["deep.json"]), str(pool["beat.json"])]
        )
    if dest == "model":
        if valid:
            return st.just(str(pool["tiny.pt"]))
        return st.sampled_from(
            [str(pool["truncated.pt"]), str(pool["random.pt"]), str(pool["missing.mid"]),
             "no_such_model", "mlp_vae", str(pool["config.json"]), "n" * 300 + ".pt", "n" * 300]
        )  # fmt: skip
    if getattr(kind, "__name__", "") in ("file", "input_dir", "writable_dir") or dest in (
        "input", "file", "output", "out", "dir", "data", "export", "pattern"
    ):  # fmt: skip
        return _path_values(world, dest, command, valid)
    if dest == "address":
        if valid:
            return st.sampled_from(["/ping", "/sample", "/continue", "/humanize", "/nope"])
        return st.sampled_from(["ping", "", "x/"])
    if dest == "args":
        return st.sampled_from(["1", "-1", "0.5", "a", "funk", "1e39", "nan", "-"])
    if dest == "set":
        if valid:
            return st.sampled_from(["z_dim=4", "hidden=[8]"])
        return st.sampled_from(["zdim=3", "x", "z_dim=-1", "hidden=[100000,100000]", "z_dim=[[[[1]]]]"])
    if dest == "seed" and kind is None:
        return st.sampled_from(["1", "-1"] if valid else ["x"])
    if dest == "host":
        if valid:
            return st.just("127.0.0.1")
        return st.sampled_from(["0.0.0.0", "::1", "not a host", "256.1.1.1"])
    if dest == "allow":
        return st.sampled_from(["10.0.0.0/8", "127.0.0.1"] if valid else ["nonsense", "300.0.0.0/8"])
    if dest == "split":
        return st.sampled_from(["validation", "train"] if valid else ["nope", ""])
    if dest == "style":
        return st.sampled_from(["funk", "rock"] if valid else ["nope", ""])
    return st.sampled_from(["funk", "validation", "none"] if valid else ["", "x" * 300, "nope"])


@st.composite
def argv_for(draw, world, command: str) -> list[str]:
    """A command line: all valid, exactly one value invalid, or anything goes."""
    parser = command_parser(command)
    actions = [a for a in parser._actions if a.dest != "help"]
    mode = draw(st.sampled_from(["valid", "one bad", "one bad", "chaos"]))
    bad = draw(st.integers(0, max(0, len(actions) - 1))) if mode == "one bad" else -1
    argv = [command]
    optional: list[str] = []
    for i, action in enumerate(actions):
        valid = mode == "valid" or (mode == "one bad" and i != bad)
        if mode == "chaos":
            valid = draw(st.booleans())
        value = _value(world, command, action, valid)
        if not action.option_strings:  # a positional
            if action.nargs in ("*", "?"):
                argv += draw(st.lists(value, min_size=0, max_size=3))
            else:
                argv.append(draw(value))
            continue
        if not action.required and i != bad and not draw(st.booleans()):
            continue
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:  # store_true and the like
            optional.append(flag)
            continue
        repeats = draw(st.integers(1, 2)) if type(action).__name__ == "_AppendAction" else 1
        for _ in range(repeats):
            optional += [flag, draw(value)]
    # The tiny models stand in for the shipped ones where a command loads models by default.
    if command in CLIPS or command == "serve":
        if "--model" not in optional or draw(st.booleans()):
            for m in world["models"]:
                optional += ["--model", str(m)]
    # options before, between or after the positionals
    cut = draw(st.integers(0, len(optional) // 2)) * 2
    return argv[:1] + optional[:cut] + argv[1:] + optional[cut:]


CLIPS = {name for name, (module, _) in COMMANDS.items() if module == "pdbridge.cli.clips"}


# ---------------------------------------------------------------------------- the invariants


def _outputs(argv: list[str], world) -> list[Path]:
    out = world["out"]
    return [Path(a) for a in argv if a.startswith(str(out)) and Path(a) != out]


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long to exist
        return False


def check_run(argv: list[str], world) -> tuple[int | None, str]:
    """Run one command line in this process and check every invariant; its code and stderr."""
    outputs = [p for p in _outputs(argv, world) if not _exists(p)]
    err, out = io.StringIO(), io.StringIO()
    code: int | None
    started = time.monotonic()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(list(argv))
    except ReachedWork:
        code = None  # every check passed; the long work itself is not run here
    except SystemExit as e:  # --help, --version
        code = e.code if isinstance(e.code, int) else 2
        assert code == 0, (argv, err.getvalue())
    text = err.getvalue()
    assert time.monotonic() - started < TIME_LIMIT_S, (argv, "took too long")
    assert "Traceback" not in text, (argv, text)
    if code is None:
        return code, text
    assert code in DOCUMENTED_EXIT_CODES, (argv, code, text)
    command = argv[0]
    errors = [line for line in text.splitlines() if ": error: " in line]
    others = [
        line for line in text.splitlines()
        if ": error: " not in line and not line.startswith(("WARNING", "INFO", "DEBUG", "...", "/"))
    ]  # fmt: skip
    if code != 0:
        if command == "send" and code == 1 and text.startswith("/error"):
            pass  # the server's own /error reply, printed as is
        else:
            assert len(errors) == 1 and not others, (argv, text)
            assert errors[0].startswith((f"pdbridge {command}: error: ", "pdbridge: error: "))
        for path in outputs:
            assert not _exists(path), (argv, f"{path} written by a failing command")
    accepted = set(command_parser(command)._option_string_actions) if command in COMMANDS else set()
    for line in errors:
        for option in OPTION.findall(line):
            assert option in accepted, (argv, f"{option} suggested but not accepted: {line}")
    return code, text


COMMAND_NAMES = sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_every_command_line_is_answered_by_the_table(world, command):
    """Generated argv for each command: documented code, one-line error, valid suggestions."""
    seen: dict[int | None, int] = {}

    @settings(
        max_examples=max(10, EXAMPLES // len(COMMAND_NAMES) * (3 if command in ("convert", "sample") else 1)),
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(argv=argv_for(world, command))
    def run(argv):
        code, _ = check_run(argv, world)
        seen[code] = seen.get(code, 0) + 1

    run()
    print(f"{command}: exit codes {dict(sorted(seen.items(), key=str))}")
    assert seen, command


@settings(max_examples=max(20, EXAMPLES // 3), derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(data=st.binary(min_size=0, max_size=400), cut=st.integers(0, 600), suffix=st.sampled_from([".mid", ".json"]))
def test_corrupt_pattern_files_are_refused_in_one_line(world, data, cut, suffix):
    """Bytes from a good file, cut, with generated bytes spliced in: read or refused, cleanly."""
    good = world["pool"]["beat" + suffix].read_bytes()
    mangled = good[:cut] + data + good[cut + len(data) // 2 :]
    path = world["root"] / f"corrupt{suffix}"
    path.write_bytes(mangled)
    out = world["out"] / f"c{time.monotonic_ns()}.json"
    code, text = check_run(["convert", str(path), str(out)], world)
    assert code in (0, 3), (mangled[:80], text)


# ---------------------------------------------------------------------------- as real processes


def run_limited(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`python -m pdbridge ARGV` under an address-space and a time limit."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run(
        [sys.executable, "-m", "pdbridge", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=TIME_LIMIT_S,
        preexec_fn=limit,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def _size_cases(world) -> list[tuple[list[str], int]]:
    pool, out, models = world["pool"], world["out"], [a for m in world["models"] for a in ("--model", str(m))]
    return [
        (["convert", str(pool["huge_steps.json"]), str(out / "a.mid")], 3),
        (["convert", str(pool["far.mid"]), str(out / "b.json")], 3),
        (["convert", str(pool["deep.json"]), str(out / "c.mid")], 3),
        (["convert", str(pool["too_big.mid"]), str(out / "d.json")], 3),
        # at the limit: the most events a MIDI file may hold (7 s; not in the pool: too slow)
        (["convert", str(_dense_midi(world["root"] / "dense.mid", limits.MAX_MIDI_BYTES)),
          str(out / "dense.json")], 0),
        (["convert", str(pool["too_big.json"]), str(out / "e.mid")], 3),
        (["convert", str(pool["big_int.json"]), str(out / "f.mid")], 3),
        (["sample", "--bars", "100000", "--out", str(out / "g.mid"), *models], 2),
        (["humanize", str(pool["far.mid"]), "--out", str(out / "h.mid"), *models], 3),
        (["continue", str(pool["beat.mid"]), "--bars", "100000", "--out", str(out / "i.mid"), *models], 2),
        (["train", "mlp_vae", "--data", str(world["data"]), "--set", "hidden=[100000,100000]"], 2),
    ]  # fmt: skip


def test_size_cases_stay_within_memory_and_time(world):
    """Each file or option that declares a huge size, as a real process under 2 GiB of address
    space: refused with its documented code and one line, nothing written."""
    world["out"].mkdir(exist_ok=True)
    for argv, code in _size_cases(world):
        r = run_limited(argv, world["root"])
        assert r.returncode == code, (argv, r.returncode, r.stderr[-2000:])
        assert "Traceback" not in r.stderr, (argv, r.stderr[-2000:])
        if code:
            assert len(r.stderr.strip().splitlines()) == 1, (argv, r.stderr[-2000:])
    assert not any(world["out"].glob("[a-i].*"))


@settings(max_examples=PROCESS_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(
    kind=st.sampled_from(["mid", "json", "pt"]),
    cut=st.integers(0, 3000),
    data=st.binary(min_size=1, max_size=64),
    repeat=st.sampled_from([1, 1000, 100_000]),
)
def test_corrupt_files_in_a_process_stay_within_memory_and_time(world, kind, cut, data, repeat):
    """Corrupt MIDI, JSON and checkpoints through a real process under the memory limit."""
    pool, out = world["pool"], world["out"]
    good = {"mid": pool["beat.mid"], "json": pool["beat.json"], "pt": pool["tiny.pt"]}[kind]
    raw = good.read_bytes()
    mangled = raw[:cut] + data * repeat + raw[cut + len(data) :]
    path = world["root"] / f"p_corrupt.{kind}"
    path.write_bytes(mangled)
    out.mkdir(exist_ok=True)
    target = out / f"p{time.monotonic_ns()}.json"
    if kind == "pt":
        argv = ["sample", "--model", str(path), "--out", str(target)]
    else:
        argv = ["convert", str(path), str(target)]
    r = run_limited(argv, world["root"])
    assert r.returncode in DOCUMENTED_EXIT_CODES, (argv, r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    if r.returncode != 0:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not target.exists()
