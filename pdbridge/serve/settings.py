"""The requests that change one client's settings and nothing else: `/temperature`, `/seed`,
`/threshold`, `/density`, `/busyness`, `/reset`. Each is `(state, message) -> reply bytes`."""

from __future__ import annotations

from pdbridge.core.limits import MAX_TEMPERATURE
from pdbridge.serve import requests as arg
from pdbridge.serve.client_state import ClientState
from pdbridge.serve.osc_codec import Message, encode
from pdbridge.serve.requests import RequestError


def temperature(state: ClientState, message: Message) -> bytes:
    arg.count(message, (1,), "<temperature>")
    state.temperature = arg.number(message, 0, "temperature", 0.0, MAX_TEMPERATURE)
    state.changed()
    return encode("/ok", "temperature", state.temperature)


def seed(state: ClientState, message: Message) -> bytes:
    arg.count(message, (1,), "<seed> (-1 for random)")
    state.seed = arg.seed(arg.number(message, 0, "seed", -1, arg.MAX_SEED))
    state.changed()
    return encode("/ok", "seed", -1 if state.seed is None else state.seed)


def _set_threshold(state: ClientState, message: Message, density: bool) -> bytes:
    voice, value = arg.voice_and_value(message)
    threshold = 1.0 - value if density else value
    state.changed()
    if voice is None:
        state.thresholds[:] = threshold
        return encode("/ok", message.address[1:], value)
    state.thresholds[voice] = threshold
    return encode("/ok", message.address[1:], voice, value)


def threshold(state: ClientState, message: Message) -> bytes:
    return _set_threshold(state, message, density=False)


def density(state: ClientState, message: Message) -> bytes:
    """Per-voice density: 1 - the hit threshold (more = busier)."""
    return _set_threshold(state, message, density=True)


def busyness(state: ClientState, message: Message) -> bytes:
    """How busy a density model's beat is: 0 (1 hit) .. 1 (75 hits), or -1: as busy as the
    pattern sent. Not the per-voice /density, which moves the hit thresholds."""
    arg.count(message, (1,), "<busyness 0..1> (or -1: the pattern's own)")
    value = arg.number(message, 0, "busyness", -1.0, 1.0)
    if -1.0 < value < 0.0:
        raise RequestError(f"busyness {value:g} must be 0..1, or -1 for the pattern's own")
    state.busyness = None if value < 0 else value
    state.changed()
    return encode("/ok", "busyness", -1.0 if state.busyness is None else state.busyness)


def reset(state: ClientState, message: Message) -> bytes:
    arg.count(message, (0,), "no arguments")
    state.reset()
    return encode("/ok", "reset")


HANDLERS = {
    "/temperature": temperature,
    "/seed": seed,
    "/threshold": threshold,
    "/density": density,
    "/busyness": busyness,
    "/reset": reset,
}
