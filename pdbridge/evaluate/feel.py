"""Does a task model carry the feel of real drumming (issue 15)? Scores at temperature 0 and 1.

A model that predicts each hit's average velocity and timing has a low absolute error and
sounds like a machine, so next to the errors this reports the spread of what the model writes
against the real drumming's (`pdbridge.core.metrics.spread_ratio`, per voice, 1 = as varied)
and inside each window (`within_window_spread_ratio`). Temperature 0 is the most likely
performance; temperature 1 should have the spread of real drummers. Every window is answered
through the engine as a server would answer it, seeded with its index at temperature 1.

    humanize: MAEs at 0 and 1, offset / velocity / within-window spread ratios at 0 and 1;
    drumify: hit F1, timing and velocity MAE at 0 and 1, hits per window (model and real);
    infill: hat F1 at 0 and 1 and hats per window.
"""

from __future__ import annotations

import numpy as np

from pdbridge.core import metrics
from pdbridge.inference.checkpoint import Checkpoint
from pdbridge.inference.engine import Controls, Engine
from pdbridge.models.tasks import TASKS

TEMPERATURES = (0.0, 1.0)


def answers(engine: Engine, task: str, x: np.ndarray, temperature: float) -> np.ndarray:
    """The engine's answer for each window of `x`, window i seeded with i."""
    return np.stack(
        [engine.transform(task, w, Controls(temperature=temperature, seed=i)) for i, w in enumerate(x)]
    )


def feel_scores(ckpt: Checkpoint, x: np.ndarray, bpm: np.ndarray) -> dict[str, float]:
    """Keys `<score>_t0` and `<score>_t1` (see the module docstring) for a pattern task model."""
    record = TASKS[ckpt.task]
    engine = Engine([ckpt])
    want = record.scored(x)
    out: dict[str, float] = {"data_hits_per_window": metrics.mean_hits(want)}
    for t in TEMPERATURES:
        pred = record.scored(answers(engine, record.job, x, t))
        tag = f"_t{t:g}"
        if not record.all_hits:
            out["hit_f1" + tag] = metrics.hit_f1(pred, want)
            out["hits_per_window" + tag] = metrics.mean_hits(pred)
        out["velocity_mae" + tag] = metrics.velocity_mae(pred, want)
        out["timing_mae_ms" + tag] = metrics.timing_mae_ms(pred, want, bpm)
        out["offset_spread_ratio" + tag] = metrics.spread_ratio(pred, want, "offsets")[0]
        out["velocity_spread_ratio" + tag] = metrics.spread_ratio(pred, want, "velocities")[0]
        out["within_window_spread_ratio" + tag] = metrics.within_window_spread_ratio(pred, want)
    return out
