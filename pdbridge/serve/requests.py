"""Reading a request's arguments: counts, types, ranges, NaN, names. One place for every check,
each failure a `RequestError` whose message goes into the `/error` reply (docs/protocol.md)."""

from __future__ import annotations

import math

import numpy as np

from pdbridge.core.errors import BadInputError
from pdbridge.core.pattern import FEATURES, NUM_VOICES, VOICES
from pdbridge.serve.osc_codec import Message, encode

SLOTS = ("a", "b", "c", "d")  # a and b for /interpolate; all four corners for /morph
MAX_SEED = 2**31 - 1


class RequestError(BadInputError):
    """A request the protocol refuses; its message goes into the `/error` reply."""


def error_reply(address: str, message: str) -> bytes:
    return encode("/error", address, message)


def count(message: Message, allowed: tuple[int, ...], usage: str) -> None:
    if len(message) not in allowed:
        raise RequestError(f"expects {usage}; got {len(message)} arguments")


def numbers(message: Message, start: int = 0, stop: int | None = None) -> np.ndarray:
    values = message.floats(start, stop)
    # One reduction instead of two: the sum of finite values is finite unless they are huge,
    # and then the exact check below runs anyway.
    if not math.isfinite(values.sum()) and not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values))[0]) + start + 1
        raise RequestError(f"argument {bad} is NaN or infinite")
    return values


def number(message: Message, index: int, name: str, lo: float, hi: float) -> float:
    value = float(numbers(message, index, index + 1)[0])
    if not lo <= value <= hi:
        raise RequestError(f"{name} {value:g} out of range {lo:g}..{hi:g}")
    return value


def whole(message: Message, index: int, name: str, lo: int, hi: int) -> int:
    value = number(message, index, name, lo, hi)
    if value != int(value):
        raise RequestError(f"{name} {value:g} must be a whole number {lo}..{hi}")
    return int(value)


def symbol(message: Message, index: int, what: str) -> str:
    if message.tags[index] not in "sS":
        raise RequestError(f"{what} must be a name (a symbol)")
    return str(message.args[index])


def pattern(message: Message, steps: int, start: int = 0) -> np.ndarray:
    """A `(steps, 27)` pattern; the engine cleans it (binary hits, ranges), in one place."""
    return numbers(message, start, start + FEATURES * steps).reshape(steps, FEATURES)


def task_pattern(message: Message, allow_bars: bool = False) -> np.ndarray:
    """A pattern of any whole number of steps (27 floats each), maybe followed by a bar count."""
    n = len(message) - (1 if allow_bars and len(message) % FEATURES == 1 else 0)
    if n == 0 or n % FEATURES:
        raise RequestError(f"expects 27 floats per step; got {len(message)} arguments")
    return pattern(message, n // FEATURES)


def seed(value: float) -> int | None:
    """A seed from its float; -1 means random (None)."""
    if value == -1:
        return None
    if value < 0 or value != math.floor(value) or value > MAX_SEED:
        raise RequestError(f"seed {value:g} must be a whole number >= 0, or -1 for random")
    return int(value)


def slot(message: Message, index: int = 0) -> str:
    """A slot name: a, b, c or d (or 0..3)."""
    if message.tags[index] == "s":
        name = str(message.args[index]).lower()
    else:
        value = float(numbers(message, index, index + 1)[0])
        name = SLOTS[int(value)] if value in range(len(SLOTS)) else ""
    if name not in SLOTS:
        raise RequestError("slot must be a, b, c or d (or 0..3)")
    return name


def voice_and_value(message: Message) -> tuple[int | None, float]:
    """`<value>` for every voice, or `<voice> <value>` (voice by name or index 0..8)."""
    count(message, (1, 2), "<value> or <voice> <value>")
    value = number(message, len(message) - 1, "value", 0.0, 1.0)
    if len(message) == 1:
        return None, value
    if message.tags[0] == "s":
        name = str(message.args[0])
        if name not in VOICES:
            raise RequestError(f"unknown voice {name}; voices: {' '.join(VOICES)}")
        return VOICES.index(name), value
    return whole(message, 0, "voice", 0, NUM_VOICES - 1), value
