"""Clip tools for files, like Magenta Studio's: the models without Pd or a server.

    pdbridge sample --out beat.mid [--temperature 0.8] [--seed 1] [--style funk] [--bars 4]
    pdbridge humanize stiff.mid --out human.mid
    pdbridge drumify taps.mid --out kit.mid
    pdbridge infill beat.mid --out hats.mid
    pdbridge continue beat.mid --bars 2 --out more.mid

Inputs and outputs are .mid or .json (`pdbridge.core.pattern_files`). Files longer than a model's window
(2 bars) are processed window by window and joined; the tempo of the input is kept.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from pdbridge.cli.options import (
    add_pattern_input_options,
    float_range,
    input_file,
    int_range,
    midi_channel,
    output_file,
    seed,
)
from pdbridge.core import limits
from pdbridge.core.errors import ModelError
from pdbridge.core.pattern import DEFAULT_THRESHOLD, NUM_VOICES, STEPS_PER_BAR, Pattern
from pdbridge.core.pattern_files import PATTERN_SUFFIXES, load_pattern, save_pattern
from pdbridge.core.progress import progress
from pdbridge.models.tasks import TASKS

VERBS = {t.verb: t for t in TASKS.values() if t.verb}  # clip command -> its task


def configure(parser: argparse.ArgumentParser, command_name: str) -> None:
    if command_name != "sample":
        parser.add_argument(
            "input", type=input_file(*PATTERN_SUFFIXES), help="a drum pattern, .mid or .json"
        )
    parser.add_argument(
        "--out", type=output_file(*PATTERN_SUFFIXES), required=True, help="where to write: .mid or .json"
    )
    parser.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="NAME_OR_PATH",
        help="model(s) to load (repeatable); default: the shipped default set",
    )
    parser.add_argument(
        "--temperature",
        type=float_range(0.0, limits.MAX_TEMPERATURE),
        default=1.0,
        help=f"how freely hits are drawn, 0..{limits.MAX_TEMPERATURE:g}; 0 = most likely",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=None,
        help=f"repeat a result exactly: 0..{limits.MAX_SEED}; -1 (the default) = random",
    )
    parser.add_argument(
        "--threshold",
        type=float_range(0.0, 1.0),
        default=DEFAULT_THRESHOLD,
        help="hit threshold 0..1 (higher = fewer hits)",
    )
    if command_name == "sample":
        parser.add_argument("--style", default=None, help="sample in one style, e.g. funk")
        parser.add_argument(
            "--bars",
            type=int_range(1, limits.MAX_SAMPLE_BARS),
            default=2,
            help=f"bars to sample, 1..{limits.MAX_SAMPLE_BARS} (whole windows of the model)",
        )
        parser.add_argument(
            "--bpm",
            type=float_range(limits.MIN_BPM, limits.MAX_BPM),
            default=120.0,
            help="tempo of the file",
        )
    else:
        add_pattern_input_options(parser)
    if command_name == "continue":
        parser.add_argument(
            "--bars",
            type=int_range(1, limits.MAX_CONTINUE_BARS),
            default=2,
            help=f"bars to add, 1..{limits.MAX_CONTINUE_BARS} (default 2)",
        )
        parser.add_argument(
            "--with-input", action="store_true", help="write the input followed by the new bars"
        )


def _engine(args: argparse.Namespace):
    from pdbridge.inference.engine import Controls, Engine, configure_torch

    configure_torch(1)  # small models: more threads only cost start-up time

    engine = Engine.load(args.model or ["default"])
    controls = Controls(
        temperature=args.temperature,
        seed=args.seed,
        thresholds=np.full(NUM_VOICES, args.threshold, np.float32),
        style=getattr(args, "style", None),
    )
    return engine, controls


def _windows(pattern: Pattern, steps: int) -> list[np.ndarray]:
    """The pattern cut into windows of `steps` steps, the last one padded with silence."""
    padded = pattern.fit(-(-pattern.steps // steps) * steps).to_array()
    return [padded[i : i + steps] for i in range(0, len(padded), steps)]


def _task_steps(engine, task: str) -> int:
    for info in engine.models():
        if info.job == task:  # its own task, or one that serves it (a course drumify model)
            return info.steps
    raise ModelError(f"no {task} model loaded; add one with --model NAME_OR_PATH")


def transform(engine, task: str, pattern: Pattern, controls) -> Pattern:
    """Humanize, drumify or infill a pattern of any length, one model window at a time."""
    steps = _task_steps(engine, task)

    def run(window: np.ndarray, controls) -> np.ndarray:
        return engine.transform(task, window, controls)

    windows = progress(_windows(pattern, steps), task, unit="window")  # a bar for a long file
    if controls.seed is not None:  # one seed per window, so windows differ but repeat
        outs = [run(w, replace(controls, seed=controls.seed + i)) for i, w in enumerate(windows)]
    else:
        outs = [run(w, controls) for w in windows]
    return Pattern.from_array(np.concatenate(outs), pattern.bpm).fit(pattern.steps)


def run(args: argparse.Namespace) -> int:
    command = args.command
    task = VERBS[command]
    # The input first: a bad file is refused before any model loads.
    pattern = None if task.name == "vae" else load_pattern(
        args.input, channel=midi_channel(args), any_meter=args.any_meter
    )
    engine, controls = _engine(args)
    if task.name == "vae":
        vae = next((m for m in engine.models() if m.task == "vae"), None)
        if vae is None:
            raise ModelError("no VAE model loaded; add one with --model NAME_OR_PATH")
        windows = -(-args.bars * STEPS_PER_BAR // vae.steps)
        parts = []
        for i in progress(range(windows), "sample", unit="window"):
            window_seed = None if args.seed is None else args.seed + i
            parts.append(engine.sample(replace(controls, seed=window_seed)))
        out = Pattern.from_array(np.concatenate(parts), args.bpm).fit(args.bars * STEPS_PER_BAR)
    else:
        if task.kind == "next_step":
            more = engine.continue_(pattern.to_array(), args.bars, controls)
            out = Pattern.from_array(more, pattern.bpm)
            if args.with_input:
                out = Pattern.join([pattern, out])
        else:
            out = transform(engine, task.name, pattern, controls)
    save_pattern(out, args.out)
    print(f"{args.out}: {out.num_hits} hits, {out.steps} steps, {out.bpm:g} bpm")
    return 0
