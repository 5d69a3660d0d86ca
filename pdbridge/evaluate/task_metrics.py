"""How good is a task model, against the simplest thing that could work: its record's baseline.

Task models are scored on real performances (`x`, the targets) through the engine, exactly as
served: the model reads its task's input and its answer, merged as the record says, is compared
with `x` on the part of the pattern the task writes (`Task.scored`). Velocity MAE is in MIDI
units, timing MAE in ms at each window's tempo, hits at threshold 0.5, deterministic.

The baselines (`pdbridge.models.tasks`):
- humanize: each (step, voice)'s mean velocity and offset over the training windows;
- drumify: the training window whose tapped rhythm is nearest in Hamming distance, as is;
- infill: the closed hi-hat of the training window whose other voices' hits are nearest.
"""

from __future__ import annotations

import numpy as np

from pdbridge.core import metrics
from pdbridge.inference.checkpoint import Checkpoint
from pdbridge.inference.engine import Controls, Engine
from pdbridge.models.tasks import TASKS

DETERMINISTIC = Controls(temperature=0.0, seed=0)

# score name -> metric(pred, true, bpm)
METRICS = {
    "hit_f1": lambda pred, true, bpm: metrics.hit_f1(pred, true),
    "velocity_mae": lambda pred, true, bpm: metrics.velocity_mae(pred, true),
    "timing_mae_ms": metrics.timing_mae_ms,
}


def engine_outputs(ckpt: Checkpoint, task: str, x: np.ndarray) -> np.ndarray:
    """The engine's deterministic answer for each window of `x`, as a server would give it."""
    engine = Engine([ckpt])
    return np.stack([engine.transform(task, w, DETERMINISTIC) for w in x])


def score_names(task: str) -> tuple[str, ...]:
    """What is scored: a task that keeps its input's hits (humanize) has no hit F1."""
    names = tuple(METRICS)
    return names[1:] if TASKS[task].all_hits else names


NO_BASELINE = "no baseline: it needs training windows, and the data has none"


def task_scores(
    ckpt: Checkpoint, x: np.ndarray, bpm: np.ndarray, train_x: np.ndarray | None
) -> dict[str, float | str]:
    """The model's scores and its task's baseline's, on windows `x` with tempos `bpm`. Without
    training windows (`train_x` None or empty) the baseline is left out, and `baseline_note`
    says so: never a number computed from nothing."""
    record = TASKS[ckpt.task]
    want = record.scored(x)
    pred = record.scored(engine_outputs(ckpt, ckpt.task, x))
    names = score_names(ckpt.task)
    scores: dict[str, float | str] = {name: METRICS[name](pred, want, bpm) for name in names}
    if train_x is None or len(train_x) == 0:
        return scores | {"baseline_note": NO_BASELINE}
    base = record.scored(record.baseline(x, train_x))
    scores |= {f"baseline_{name}": METRICS[name](base, want, bpm) for name in names}
    return scores


def scored_tasks() -> list[str]:
    """The tasks eval scores against a baseline."""
    return [t.name for t in TASKS.values() if t.baseline is not None]
