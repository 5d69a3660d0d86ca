"""One `Task` record per job a model can do: the one place that says what a task is.

A checkpoint's `task` field names its record. The trainer, the engine, the protocol, the CLI, the
clip tools, `pdbridge models` and `pdbridge eval` all loop over `TASKS`, so adding a task is one
record here and its model (see docs/architecture.md, "Adding a task").

Each record says:
- `kind`: the model interface that does it (`"vae"`: encode/decode over whole patterns;
  `"direct"`: one forward pass, input -> whole pattern, no latent; `"next_step"`: the last bar
  -> the next step);
- `model_input`: the model's input as a transform of a real performance (the trainer's input and
  the engine's, so a task model is trained and served on exactly the same thing);
- `merge`: how the model's answer joins the input the user gave (infill keeps every other voice);
- `all_hits`: the model decodes every cell and the input's hits are kept (humanize);
- how it is judged: a `baseline` (the simplest thing that could work, from training windows),
  the part of a pattern that is `scored`, and whether a hit F1 says anything about it;
- its OSC `request` and CLI `verb`, with a one-line `help`; a task that `serves` another's job
  (a course drumify model serves "drumify") has neither and answers that job's request and verb
  when a client chooses it (`Controls.task_models`, `/drumifier`);
- `latent`: a model of it also offers sample/encode/decode/interpolate over its latent, encoding
  a pattern through `model_input` (chosen with `/model`);
- `busyness`: how the `/busyness` control (0..1, how many hits the beat should have) enters the
  model input, for a model that has such an input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pdbridge.core.errors import ModelError
from pdbridge.core.pattern import (
    FEATURES,
    HITS,
    NUM_VOICES,
    OFFSETS,
    VELOCITIES,
    VOICES,
    clean_array,
    drop_voices_array,
    quantize_array,
    tap_array,
    voice_columns,
    with_velocity_array,
)

HUMANIZE_VELOCITY = 0.8  # the one velocity of a "stiff" beat, as the humanize model sees it
INFILL_VOICE = "closed_hihat"  # the voice an infill model writes anew (GrooVAE's hi-hat infilling)

Transform = Callable[[np.ndarray], np.ndarray]
Control = Callable[[np.ndarray, float], np.ndarray]  # (model input, control value) -> model input
Merge = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (input pattern, model answer) -> reply
Baseline = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (windows, training windows) -> answers


def _as_is(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.float32)


def _answer(x: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    return decoded


@dataclass(frozen=True)
class Task:
    name: str  # the checkpoint's `task` field
    kind: str  # "vae" or "next_step": the model interface
    help: str  # one line, for the CLI and the docs
    verb: str | None  # the CLI command, if any
    request: str | None  # the OSC address that runs it on a pattern, if any
    model_input: Transform = _as_is
    merge: Merge = _answer
    all_hits: bool = False  # decode every cell; the input's hits are the answer's hits
    scored: Transform = _as_is  # the part of a pattern that eval compares
    baseline: Baseline | None = None  # for eval; needs the training windows
    hit_f1: bool = True  # does a hit F1 say something about this task's models?
    serves: str | None = None  # the task whose request and verb it answers, if not its own
    latent: bool = False  # offers sample/encode/decode/interpolate over its latent
    busyness: Control | None = None  # how the /busyness control enters the model input

    @property
    def job(self) -> str:
        """The task whose request it answers: its own name, or the one it `serves`."""
        return self.serves or self.name


# ---------------------------------------------------------------------------- baselines


def nearest_hits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each row of `a` (N, cells), the index of the row of `b` (M, cells) nearest in Hamming
    distance (both 0/1; ties go to the first)."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    distance = a @ (1.0 - b).T + (1.0 - a) @ b.T  # (N, M) cells that differ
    return distance.argmin(1)


def step_voice_means(train_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean velocity and mean offset of the hits at each (step, voice) over `train_x`, each
    (steps, 9); a cell that never has a hit takes its voice's mean over all steps."""
    hits = train_x[..., HITS]
    count = hits.sum(0)
    voice_count = np.maximum(hits.sum((0, 1)), 1)
    out = []
    for cols in (VELOCITIES, OFFSETS):
        total = (train_x[..., cols] * hits).sum(0)
        voice_mean = total.sum(0) / voice_count
        out.append(np.where(count > 0, total / np.maximum(count, 1), voice_mean).astype(np.float32))
    return out[0], out[1]


def humanize_baseline(x: np.ndarray, train_x: np.ndarray) -> np.ndarray:
    """`x`'s hits, each with its (step, voice) mean velocity and offset from the training data."""
    vel, off = step_voice_means(train_x)
    hits = x[..., HITS]
    return np.concatenate([hits, hits * vel, hits * off], axis=-1).astype(np.float32)


def tapped_rhythm(x: np.ndarray) -> np.ndarray:
    """(N, steps) bool: the steps where the tapped version of each window has a hit."""
    return tap_array(x)[..., HITS.start] >= 0.5


def nearest_tap(x: np.ndarray, train_x: np.ndarray) -> np.ndarray:
    """For each window of `x`, the index of the training window with the nearest tapped rhythm
    (Hamming distance; ties go to the first)."""
    return nearest_hits(tapped_rhythm(x), tapped_rhythm(train_x))


def drumify_baseline(x: np.ndarray, train_x: np.ndarray) -> np.ndarray:
    """The training window whose tapped rhythm is nearest, as is."""
    return train_x[nearest_tap(x, train_x)]


OTHER_VOICES = [v for v in VOICES if v != INFILL_VOICE]


def infill_only(a: np.ndarray) -> np.ndarray:
    """Only the infilled voice (the others silenced): metrics on it alone."""
    return drop_voices_array(a, OTHER_VOICES)


def without_infill_voice(a: np.ndarray) -> np.ndarray:
    return drop_voices_array(a, [INFILL_VOICE])


def infill_baseline(x: np.ndarray, train_x: np.ndarray) -> np.ndarray:
    """`x` with the infilled voice of the training window whose other voices are nearest."""

    def others(a: np.ndarray) -> np.ndarray:
        return without_infill_voice(a)[..., HITS].reshape(len(a), -1) >= 0.5

    nearest = train_x[nearest_hits(others(x), others(train_x))]
    return without_infill_voice(x) + infill_only(nearest)


# ---------------------------------------------------------------------------- merges


def keep_input_hits(x: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """The input's hits with the model's velocities and offsets (humanize)."""
    return clean_array(np.concatenate([x[:, :NUM_VOICES], decoded[:, NUM_VOICES:]], axis=-1))


def replace_infill_voice(x: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """The input exactly as it is, but the infilled voice, which is the model's."""
    columns = voice_columns(INFILL_VOICE)
    out = x.copy()
    out[:, columns] = decoded[:, columns]
    return out


def humanize_input(a: np.ndarray) -> np.ndarray:
    return with_velocity_array(quantize_array(a), HUMANIZE_VELOCITY)


# The course's Groove Transformer models (pdbridge.models.groove_transformer, imported when used:
# it needs torch, and this module is read by `pdbridge --help`).


def course_groove(a: np.ndarray) -> np.ndarray:
    """The course's "monotonic groove": every step's loudest hit, in the closed hi-hat."""
    from pdbridge.models.groove_transformer import groove_input

    return groove_input(a)


def course_groove_with_density(a: np.ndarray) -> np.ndarray:
    """The density VAE's input for a pattern: its groove and its own density, (hits - 1) / 74
    (28 features per step): drumify at the busyness of the pattern given, and /encode."""
    from pdbridge.models.groove_transformer import count_hits, density_input, density_value

    return density_input(course_groove(a), density_value(count_hits(a)))


def with_density(x: np.ndarray, busyness: float) -> np.ndarray:
    """The density VAE's input with its density feature set to `busyness` (0 = 1 hit, 1 = 75)."""
    out = np.array(x, np.float32)
    out[..., -1] = busyness
    return out


# ---------------------------------------------------------------------------- the records

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "vae",
            "vae",
            "sample a new beat into a MIDI file",
            verb="sample",
            request=None,
            latent=True,
        ),
        Task(
            "humanize",
            "vae",
            "give a stiff MIDI beat human velocity and timing",
            verb="humanize",
            request="/humanize",
            model_input=humanize_input,
            merge=keep_input_hits,
            all_hits=True,
            baseline=humanize_baseline,
            hit_f1=False,  # it keeps its input's hits (its hit head is not trained)
        ),
        Task(
            "drumify",
            "vae",
            "turn a tapped rhythm (MIDI) into a full drum kit",
            verb="drumify",
            request="/drumify",
            model_input=tap_array,
            baseline=drumify_baseline,
        ),
        Task(
            "infill",
            "vae",
            "write new closed hi-hats for a MIDI beat",
            verb="infill",
            request="/infill",
            model_input=without_infill_voice,
            merge=replace_infill_voice,
            scored=infill_only,
            baseline=infill_baseline,
            hit_f1=False,  # over all voices it is mostly the voices it was given
        ),
        Task(
            "groove_drumify",
            "direct",
            "drumify with a course Monotonic Groove Transformer (a groove in, a beat out)",
            verb=None,
            request=None,
            serves="drumify",
            model_input=course_groove,
            baseline=drumify_baseline,
        ),
        Task(
            "density_drumify",
            "vae",
            "drumify with a course density VAE (a groove and how busy the beat should be)",
            verb=None,
            request=None,
            serves="drumify",
            model_input=course_groove_with_density,
            baseline=drumify_baseline,
            latent=True,
            busyness=with_density,
        ),
        # feel_net (issue 15): direct models that see their input and draw each velocity and
        # offset from a distribution at the request's temperature; they serve the same jobs
        Task(
            "feel_humanize",
            "direct",
            "humanize with a feel_net (velocity and timing drawn at the temperature)",
            verb=None,
            request=None,
            serves="humanize",
            model_input=humanize_input,
            merge=keep_input_hits,
            all_hits=True,
            baseline=humanize_baseline,
            hit_f1=False,
        ),
        Task(
            "feel_drumify",
            "direct",
            "drumify with a feel_net (a tapped rhythm in, a kit with feel out)",
            verb=None,
            request=None,
            serves="drumify",
            model_input=tap_array,
            baseline=drumify_baseline,
        ),
        Task(
            "feel_infill",
            "direct",
            "infill closed hi-hats with a feel_net",
            verb=None,
            request=None,
            serves="infill",
            model_input=without_infill_voice,
            merge=replace_infill_voice,
            scored=infill_only,
            baseline=infill_baseline,
            hit_f1=False,
        ),
        Task(
            "next_step",
            "next_step",
            "continue a MIDI beat for N bars",
            verb="continue",
            request="/continue",
        ),
    )
}


def task(name: str) -> Task:
    if name not in TASKS:
        raise ModelError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


def pattern_tasks() -> list[Task]:
    """The tasks that turn one pattern into another through a VAE-kind model (humanize,
    drumify, infill): one request, one clip command and one engine path for all of them."""
    return [t for t in TASKS.values() if t.kind == "vae" and t.request is not None]


def task_input(name: str, a: np.ndarray) -> np.ndarray:
    return task(name).model_input(a)


def input_features(name: str) -> int:
    """Features per step of the task's model input (27; 28 for the density VAE)."""
    return int(task(name).model_input(np.zeros((1, 1, FEATURES), np.float32)).shape[-1])
