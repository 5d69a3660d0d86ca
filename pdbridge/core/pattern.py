"""The drum pattern: the one language every part of pdbridge speaks.

Layout (the "HVO" layout of GrooVAE and hvo_sequence):

- 16 steps per 4/4 bar (sixteenth notes); models work on 2 bars = 32 steps.
- 9 voices, in `VOICES` order: kick, snare, closed hi-hat, open hi-hat, low tom, mid tom,
  high tom, crash, ride.
- Per step and voice: hit in {0, 1}; velocity in [0, 1] (MIDI velocity / 127); offset in
  [-0.5, 0.5], the distance from the grid line in steps, positive = late. Velocity and offset are
  0 where hit is 0. At most one hit per voice per step.
- As an array: `(steps, 27)` float32, per step 9 hits, then 9 velocities, then 9 offsets.
  The flat vector (what travels over OSC) is that array read row by row: 27 * steps floats.

The array-level functions (`quantize_array`, `tap_array`, ...) work on any `(..., steps, 27)`
array so training can transform whole batches; the `Pattern` methods call them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pdbridge.core import limits
from pdbridge.core.errors import BadInputError

VOICES: tuple[str, ...] = (
    "kick",
    "snare",
    "closed_hihat",
    "open_hihat",
    "low_tom",
    "mid_tom",
    "high_tom",
    "crash",
    "ride",
)
NUM_VOICES = len(VOICES)
STEPS_PER_BAR = 16
FEATURES = 3 * NUM_VOICES  # 27 values per step
DEFAULT_THRESHOLD = 0.5  # a hit when its probability is above this, unless a client says


def default_thresholds() -> np.ndarray:
    """(9,) float32: the default hit threshold for every voice."""
    return np.full(NUM_VOICES, DEFAULT_THRESHOLD, np.float32)

DEFAULT_STEPS = 2 * STEPS_PER_BAR
JSON_FORMAT = "pdbridge-pattern"
JSON_VERSION = 1

# Column slices of the (steps, 27) array.
HITS = slice(0, NUM_VOICES)
VELOCITIES = slice(NUM_VOICES, 2 * NUM_VOICES)
OFFSETS = slice(2 * NUM_VOICES, 3 * NUM_VOICES)


# ---------------------------------------------------------------------------- array level


def clean_array(a: np.ndarray) -> np.ndarray:
    """Clip to the legal ranges, binarize hits, and zero velocity/offset where there is no hit."""
    a = np.array(a, dtype=np.float32, copy=True)
    hits = (a[..., HITS] >= 0.5).astype(np.float32)
    a[..., HITS] = hits
    a[..., VELOCITIES] = np.clip(a[..., VELOCITIES], 0.0, 1.0) * hits
    a[..., OFFSETS] = np.clip(a[..., OFFSETS], -0.5, 0.5) * hits
    return a


def quantize_array(a: np.ndarray) -> np.ndarray:
    """All offsets to 0: every hit on its grid line."""
    out = np.array(a, dtype=np.float32, copy=True)
    out[..., OFFSETS] = 0.0
    return out


def with_velocity_array(a: np.ndarray, velocity: float = 0.8) -> np.ndarray:
    """Every hit at the same velocity (a stiff, programmed beat)."""
    out = np.array(a, dtype=np.float32, copy=True)
    out[..., VELOCITIES] = out[..., HITS] * np.float32(velocity)
    return out


def tap_array(a: np.ndarray, voice: int = 0) -> np.ndarray:
    """Collapse all voices into one rhythm on `voice`.

    Per step: a hit if any voice hits; velocity and offset of the loudest hit (GrooVAE's "tap").
    """
    a = np.asarray(a, dtype=np.float32)
    hits = a[..., HITS]
    vel = a[..., VELOCITIES] * hits
    loudest = np.argmax(vel + hits * 1e-6, axis=-1)[..., None]  # hits with velocity 0 still count
    any_hit = hits.max(axis=-1)
    out = np.zeros_like(a)
    out[..., HITS.start + voice] = any_hit
    out[..., VELOCITIES.start + voice] = np.take_along_axis(vel, loudest, -1)[..., 0] * any_hit
    out[..., OFFSETS.start + voice] = (
        np.take_along_axis(a[..., OFFSETS], loudest, -1)[..., 0] * any_hit
    )
    return out


def drop_voices_array(a: np.ndarray, voices: Iterable[int | str]) -> np.ndarray:
    """Silence the given voices (indices or names from `VOICES`)."""
    out = np.array(a, dtype=np.float32, copy=True)
    for v in voices:
        out[..., voice_columns(v)] = 0.0
    return out


def voice_columns(voice: int | str) -> list[int]:
    """A voice's hit, velocity and offset columns in the 27 values of a step."""
    i = voice_index(voice)
    return [HITS.start + i, VELOCITIES.start + i, OFFSETS.start + i]


def voice_index(voice: int | str) -> int:
    """A voice number 0..8 from a number or a name in `VOICES`."""
    if isinstance(voice, str):
        if voice not in VOICES:
            raise BadInputError(f"unknown voice {voice!r}; voices are {', '.join(VOICES)}")
        return VOICES.index(voice)
    if not 0 <= int(voice) < NUM_VOICES:
        raise BadInputError(f"voice {voice} out of range 0..{NUM_VOICES - 1}")
    return int(voice)


# ---------------------------------------------------------------------------- the Pattern type


@dataclass
class Pattern:
    """A drum pattern: three `(steps, 9)` float32 arrays and a tempo."""

    hits: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray
    bpm: float = 120.0

    def __post_init__(self) -> None:
        shapes = {np.shape(self.hits), np.shape(self.velocities), np.shape(self.offsets)}
        if len(shapes) != 1:
            raise BadInputError(f"hits, velocities and offsets differ in shape: {sorted(shapes)}")
        shape = shapes.pop()
        if len(shape) != 2 or shape[1] != NUM_VOICES:
            raise BadInputError(f"a pattern is (steps, {NUM_VOICES}); got {shape}")
        if not (np.isfinite(self.bpm) and limits.MIN_BPM <= self.bpm <= limits.MAX_BPM):
            raise BadInputError(
                f"bpm {self.bpm} out of range {limits.MIN_BPM:g}..{limits.MAX_BPM:g}"
            )
        a = clean_array(np.concatenate([self.hits, self.velocities, self.offsets], axis=-1))
        self.hits, self.velocities, self.offsets = a[:, HITS], a[:, VELOCITIES], a[:, OFFSETS]
        self.bpm = float(self.bpm)

    # -- construction and views

    @classmethod
    def empty(cls, steps: int = DEFAULT_STEPS, bpm: float = 120.0) -> Pattern:
        z = np.zeros((steps, NUM_VOICES), np.float32)
        return cls(z, z.copy(), z.copy(), bpm)

    @classmethod
    def from_array(cls, a: np.ndarray, bpm: float = 120.0) -> Pattern:
        """From a `(steps, 27)` array (hits >= 0.5 count as hits)."""
        a = np.asarray(a, dtype=np.float32)
        if a.ndim != 2 or a.shape[1] != FEATURES:
            raise BadInputError(f"a pattern array is (steps, {FEATURES}); got {a.shape}")
        return cls(a[:, HITS], a[:, VELOCITIES], a[:, OFFSETS], bpm)

    @classmethod
    def from_flat(cls, values: Sequence[float] | np.ndarray, bpm: float = 120.0) -> Pattern:
        """From the step-major flat vector of 27 * steps floats."""
        v = np.asarray(values, dtype=np.float32).ravel()
        if v.size == 0 or v.size % FEATURES:
            raise BadInputError(f"a flat pattern has 27 values per step; got {v.size} values")
        if not np.all(np.isfinite(v)):
            raise BadInputError("a flat pattern contains NaN or infinity")
        return cls.from_array(v.reshape(-1, FEATURES), bpm)

    def to_array(self) -> np.ndarray:
        return np.concatenate([self.hits, self.velocities, self.offsets], axis=-1)

    def to_flat(self) -> np.ndarray:
        return self.to_array().ravel()

    @property
    def steps(self) -> int:
        return int(self.hits.shape[0])

    @property
    def num_bars(self) -> float:
        return self.steps / STEPS_PER_BAR

    @property
    def num_hits(self) -> int:
        return int(self.hits.sum())

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Pattern)
            and self.bpm == other.bpm
            and np.array_equal(self.to_array(), other.to_array())
        )

    def allclose(self, other: Pattern, atol: float = 1e-6) -> bool:
        return self.steps == other.steps and np.allclose(
            self.to_array(), other.to_array(), atol=atol
        )

    # -- transforms (each returns a new Pattern)

    def quantize(self) -> Pattern:
        return Pattern.from_array(quantize_array(self.to_array()), self.bpm)

    def with_velocity(self, velocity: float = 0.8) -> Pattern:
        return Pattern.from_array(with_velocity_array(self.to_array(), velocity), self.bpm)

    def tap(self, voice: int = 0) -> Pattern:
        return Pattern.from_array(tap_array(self.to_array(), voice), self.bpm)

    def drop_voices(self, voices: Iterable[int | str]) -> Pattern:
        return Pattern.from_array(drop_voices_array(self.to_array(), voices), self.bpm)

    def bars(self, start: int, stop: int | None = None) -> Pattern:
        """Bars `start` up to (not including) `stop`, padded with silence past the end."""
        stop = start + 1 if stop is None else stop
        if start < 0 or stop <= start:
            raise BadInputError(f"bars({start}, {stop}): need 0 <= start < stop")
        a = self.to_array()[start * STEPS_PER_BAR : stop * STEPS_PER_BAR]
        want = (stop - start) * STEPS_PER_BAR
        if len(a) < want:
            a = np.concatenate([a, np.zeros((want - len(a), FEATURES), np.float32)])
        return Pattern.from_array(a, self.bpm)

    def fit(self, steps: int) -> Pattern:
        """Cut or pad with silence to exactly `steps` steps."""
        a = self.to_array()[:steps]
        if len(a) < steps:
            a = np.concatenate([a, np.zeros((steps - len(a), FEATURES), np.float32)])
        return Pattern.from_array(a, self.bpm)

    @staticmethod
    def join(patterns: Sequence[Pattern]) -> Pattern:
        """One pattern after another, at the first one's tempo."""
        if not patterns:
            raise BadInputError("join needs at least one pattern")
        return Pattern.from_array(np.concatenate([p.to_array() for p in patterns]), patterns[0].bpm)

    # -- JSON

    def to_json_dict(self) -> dict:
        """A versioned, readable form: one string per voice per bar would hide velocities, so
        hits/velocities/offsets are lists per voice (voice -> steps), rounded for readability."""
        return {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "bpm": self.bpm,
            "steps": self.steps,
            "steps_per_bar": STEPS_PER_BAR,
            "voices": list(VOICES),
            "hits": {v: [int(h) for h in self.hits[:, i]] for i, v in enumerate(VOICES)},
            "velocities": {
                v: [round(float(x), 4) for x in self.velocities[:, i]] for i, v in enumerate(VOICES)
            },
            "offsets": {
                v: [round(float(x), 4) for x in self.offsets[:, i]] for i, v in enumerate(VOICES)
            },
        }

    @classmethod
    def from_json_dict(cls, d: dict, where: str = "JSON") -> Pattern:
        def fail(msg: str) -> BadInputError:
            return BadInputError(f"{where}: {msg}")

        if not isinstance(d, dict) or d.get("format") != JSON_FORMAT:
            raise fail(f'not a pdbridge pattern (expected "format": "{JSON_FORMAT}")')
        if d.get("version") != JSON_VERSION:
            raise fail(
                f"pattern version {d.get('version')!r} not supported (this reads {JSON_VERSION})"
            )
        try:
            steps = d["steps"]
            most = limits.MAX_PATTERN_BARS * STEPS_PER_BAR
            if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= most:
                raise fail(
                    f"steps {steps!r} must be a whole number 1..{most} "
                    f"({limits.MAX_PATTERN_BARS} bars, limits.MAX_PATTERN_BARS)"
                )
            voices = list(d.get("voices", VOICES))
            arrays = []
            for key in ("hits", "velocities", "offsets"):
                per_voice = d[key]
                a = np.zeros((steps, NUM_VOICES), np.float32)
                if not isinstance(per_voice, dict):
                    raise fail(f"{key} must map voice names to lists of {steps} numbers")
                for name, values in per_voice.items():
                    if name not in voices or name not in VOICES:
                        raise fail(f"{key}: unknown voice {name!r}")
                    if not isinstance(values, list) or len(values) != steps:
                        raise fail(f"{key}.{name} has {len(values)} values, expected {steps}")
                    column = np.asarray(values, dtype=np.float32)
                    if not np.all(np.isfinite(column)):
                        raise fail(f"{key}.{name} holds NaN, infinity or a number too large")
                    a[:, VOICES.index(name)] = column
                arrays.append(a)
            bpm = d.get("bpm", 120.0)
            if isinstance(bpm, bool) or not isinstance(bpm, (int, float)):
                raise fail(f"bpm {bpm!r} must be a number")
            return cls(*arrays, bpm=float(bpm))
        except BadInputError as e:
            if str(e).startswith(where):
                raise
            raise fail(str(e)) from None
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise fail(f"malformed pattern ({type(e).__name__}: {e})") from None

    def save_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json_dict(), indent=1) + "\n")

    @classmethod
    def load_json(cls, path: str | Path) -> Pattern:
        from pdbridge.core.json_files import read_json

        path = Path(path)
        return cls.from_json_dict(read_json(path), where=str(path))

    def __repr__(self) -> str:
        return f"Pattern(steps={self.steps}, hits={self.num_hits}, bpm={self.bpm:g})"

    def to_text(self) -> str:
        """A drum-tab view for terminals: one line per voice, velocity as . o O."""
        lines = []
        for i, name in enumerate(VOICES):
            cells = []
            for s in range(self.steps):
                if s and s % STEPS_PER_BAR == 0:
                    cells.append("|")
                v = self.velocities[s, i]
                cells.append(
                    "-" if not self.hits[s, i] else "." if v < 0.35 else "o" if v < 0.7 else "O"
                )
            lines.append(f"{name:>12} {''.join(cells)}")
        return "\n".join(lines)
