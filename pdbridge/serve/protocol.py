"""The OSC protocol: request address -> engine call -> reply message (docs/protocol.md).

This module checks every request (count, types, ranges, NaN), keeps each client's settings and
slots, calls the engine, and builds the reply bytes. It knows nothing of sockets (see
`pdbridge.serve.server`) or torch: the engine is duck-typed (`pdbridge.inference.engine.Engine` in practice; see
docs/architecture.md for its methods), and the controls class is handed in.

Every request gets exactly one reply. A request that is wrong, or that the engine refuses with a
`PdbridgeError`, gets `/error <request address> <message>`; anything unexpected is logged with its
traceback and answered the same way, so one bad message never stops the music.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pdbridge import __version__
from pdbridge.core.errors import BadInputError, PdbridgeError
from pdbridge.core.limits import MAX_REPLY_BARS
from pdbridge.core.paths import confine
from pdbridge.core.pattern import FEATURES, NUM_VOICES, VOICES, Pattern, default_thresholds
from pdbridge.serve.osc_codec import Message, encode

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
# Requests that a newer one of the same kind replaces while still waiting (a slider sweeping).
LATEST_WINS = frozenset({"/decode", "/interpolate"})
# Requests that end in one decode of a latent: those of several clients share one model call.
BATCHED = frozenset({"/decode", "/interpolate"})
SLOTS = ("a", "b")
MAX_TEMPERATURE = 10.0
MAX_MODELS = 16  # models loaded at once, so /load cannot fill the memory
MODEL_SUFFIXES = (".pt",)
MIDI_SUFFIXES = (".mid", ".midi")


@dataclass
class Slot:
    """An interpolation end point: a latent for one model, and the pattern it came from if any."""

    z: np.ndarray
    model: str
    pattern: np.ndarray | None = None


@dataclass
class ClientState:
    """Settings that belong to one client (one sender address), so two patches never clash."""

    temperature: float = 1.0
    seed: int | None = None
    thresholds: np.ndarray = field(default_factory=default_thresholds)
    style: str | None = None
    model: str | None = None
    slots: dict[str, Slot] = field(default_factory=dict)
    last_pattern: np.ndarray | None = None
    controls: object | None = None  # the engine's Controls for these settings, built once

    def changed(self) -> None:
        """Call after changing a setting: the next request builds new controls."""
        self.controls = None


class RequestError(BadInputError):
    """A request the protocol refuses; its message goes into the `/error` reply."""


def error_reply(address: str, message: str) -> bytes:
    return encode("/error", address, message)


class Protocol:
    """Turns decoded requests into reply bytes. One instance serves every client of a server.

    `handle(client, message)` must not run twice at once for the same client (the server keeps
    each client's requests in order); different clients may be served from different threads.
    """

    def __init__(
        self,
        engine: object,
        controls_type: Callable[..., object],
        max_clients: int = 256,
        load_model: Callable[[object, Path], tuple[object, str]] | None = None,
        model_dirs: Sequence[str | Path] = (),
        export_dir: str | Path | None = None,
    ) -> None:
        """`load_model(engine, path) -> (engine with that model added, its name)` serves `/load`
        for files in `model_dirs`; `/export` writes MIDI files into `export_dir`. Either request
        is refused when its folder is not given."""
        self.engine = engine
        self.controls_type = controls_type
        self.load_model = load_model
        self.model_dirs = list(model_dirs)
        self.export_dir = export_dir
        self._load_lock = threading.Lock()
        self._loaded_files: dict[Path, tuple[tuple[int, int], str]] = {}  # path -> (stat, name)
        self._infos = list(engine.models())  # fixed once loaded; asked on every request
        self.max_clients = max_clients
        self._clients: OrderedDict[object, ClientState] = OrderedDict()
        self._lock = threading.Lock()
        self._handlers: dict[str, Callable[[ClientState, Message], bytes]] = {
            "/ping": self._ping,
            "/sample": self._sample,
            "/encode": self._encode,
            "/decode": self._decode,
            "/store": self._store,
            "/interpolate": self._interpolate,
            "/humanize": self._humanize,
            "/drumify": self._drumify,
            "/infill": self._infill,
            "/continue": self._continue,
            "/temperature": self._temperature,
            "/seed": self._seed,
            "/threshold": self._threshold,
            "/density": self._density,
            "/style": self._style,
            "/styles": self._styles,
            "/models": self._models,
            "/model": self._model,
            "/reset": self._reset,
            "/load": self._load,
            "/export": self._export,
        }
        # The BATCHED requests' latents: what they decode, with whose controls.
        self._latents = {"/decode": self._decode_latent, "/interpolate": self._interpolate_latent}

    @property
    def addresses(self) -> list[str]:
        return list(self._handlers)

    # -- entry point

    def handle(self, client: object, message: Message) -> bytes:
        handler = self._handlers.get(message.address)
        if handler is None:
            return error_reply(message.address, f"unknown address {message.address}")
        return self._guarded(message.address, handler, self._state(client), message)

    def handle_many(self, requests: Sequence[tuple[object, Message]]) -> list[bytes]:
        """The replies `handle` would give, one per (client, message), for requests of different
        clients: their decodes (`BATCHED` addresses) go through the model as one batch."""
        replies: list[bytes] = [b""] * len(requests)
        waiting: list[tuple[int, ClientState, np.ndarray, object]] = []
        for i, (client, message) in enumerate(requests):
            latent = self._latents.get(message.address)
            if latent is None:
                replies[i] = self.handle(client, message)
                continue
            state = self._state(client)
            prepared = self._guarded(message.address, latent, state, message)
            if isinstance(prepared, bytes):  # an /error
                replies[i] = prepared
            else:
                waiting.append((i, state, *prepared))
        if waiting:
            try:
                patterns = self.engine.decode_many([w[2] for w in waiting], [w[3] for w in waiting])
            except Exception:  # one bad request spoils the batch: answer each on its own
                for i, _, _, _ in waiting:
                    replies[i] = self.handle(*requests[i])
            else:
                for (i, state, _, _), pattern in zip(waiting, patterns, strict=True):
                    replies[i] = self._pattern_reply(state, pattern)
        return replies

    def _decoded_reply(self, state: ClientState, z: np.ndarray, controls: object) -> bytes:
        return self._pattern_reply(state, self.engine.decode(z, controls))

    @staticmethod
    def _guarded(address: str, work: Callable[..., object], *args: object) -> object:
        """`work(*args)`, or the `/error` reply that says why it failed."""
        try:
            return work(*args)
        except PdbridgeError as e:
            return error_reply(address, str(e))
        except Exception as e:  # the server must keep answering whatever happens
            log.exception("%s failed", address)
            return error_reply(address, f"internal error: {type(e).__name__}: {e}")

    def _state(self, client: object) -> ClientState:
        with self._lock:
            state = self._clients.get(client)
            if state is None:
                state = self._clients[client] = ClientState()
                if len(self._clients) > self.max_clients:  # forget the least recently seen
                    self._clients.popitem(last=False)
            else:
                self._clients.move_to_end(client)
            return state

    # -- argument checks

    @staticmethod
    def _numbers(message: Message, start: int = 0, stop: int | None = None) -> np.ndarray:
        values = message.floats(start, stop)
        # One reduction instead of two: the sum of finite values is finite unless they are huge,
        # and then the exact check below runs anyway.
        if not math.isfinite(values.sum()) and not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values))[0]) + start + 1
            raise RequestError(f"argument {bad} is NaN or infinite")
        return values

    def _number(self, message: Message, index: int, name: str, lo: float, hi: float) -> float:
        value = float(self._numbers(message, index, index + 1)[0])
        if not lo <= value <= hi:
            raise RequestError(f"{name} {value:g} out of range {lo:g}..{hi:g}")
        return value

    @staticmethod
    def _count(message: Message, allowed: tuple[int, ...], usage: str) -> None:
        if len(message) not in allowed:
            raise RequestError(f"expects {usage}; got {len(message)} arguments")

    def _pattern_arg(self, message: Message, steps: int, start: int = 0) -> np.ndarray:
        """A `(steps, 27)` pattern; the engine cleans it (binary hits, ranges), in one place."""
        return self._numbers(message, start, start + FEATURES * steps).reshape(steps, FEATURES)

    def _seed_value(self, value: float) -> int | None:
        if value == -1:
            return None
        if value < 0 or value != math.floor(value) or value > 2**31 - 1:
            raise RequestError(f"seed {value:g} must be a whole number >= 0, or -1 for random")
        return int(value)

    def _controls(self, state: ClientState, **override: object) -> object:
        if state.controls is not None and not override:
            return state.controls
        settings = {
            "temperature": state.temperature,
            "seed": state.seed,
            "thresholds": state.thresholds.copy(),
            "style": state.style,
            "model": state.model,
        }
        settings.update(override)
        controls = self.controls_type(**settings)
        if not override:
            state.controls = controls
        return controls

    def _info(self, state: ClientState, name: str | None = None) -> object:
        """ModelInfo for `name`, else the client's model, else the engine's default VAE."""
        name = name if name is not None else state.model
        models = self._infos
        for info in models:
            if (info.name == name) if name is not None else (info.task == "vae"):
                return info
        if name is None:
            raise RequestError("no VAE model loaded (sample/encode/decode need one)")
        raise RequestError(f"no model named {name}; loaded: {' '.join(m.name for m in models)}")

    def _pattern_reply(self, state: ClientState, pattern: np.ndarray) -> bytes:
        pattern = np.asarray(pattern, np.float32)
        state.last_pattern = pattern
        return encode("/pattern", int(pattern.shape[0]), pattern.ravel())

    # -- the four verbs

    def _ping(self, state: ClientState, message: Message) -> bytes:
        self._count(message, (0,), "no arguments")
        return encode("/pong", PROTOCOL_VERSION, __version__)

    def _sample(self, state: ClientState, message: Message) -> bytes:
        self._count(message, (0, 1, 2), "[temperature] [seed]")
        override: dict[str, object] = {}
        if len(message) >= 1:
            override["temperature"] = self._number(message, 0, "temperature", 0.0, MAX_TEMPERATURE)
        if len(message) == 2:
            override["seed"] = self._seed_value(self._number(message, 1, "seed", -1, 2**31 - 1))
        return self._pattern_reply(state, self.engine.sample(self._controls(state, **override)))

    def _encode(self, state: ClientState, message: Message) -> bytes:
        steps = self._info(state).steps
        self._count(message, (FEATURES * steps,), f"{FEATURES * steps} floats (27 x {steps} steps)")
        z = np.asarray(
            self.engine.encode(self._pattern_arg(message, steps), self._controls(state)), np.float32
        )
        return encode("/z", int(z.size), z)

    def _decode(self, state: ClientState, message: Message) -> bytes:
        return self._decoded_reply(state, *self._decode_latent(state, message))

    def _decode_latent(self, state: ClientState, message: Message) -> tuple[np.ndarray, object]:
        z_dim = self._info(state).z_dim
        self._count(message, (z_dim,), f"{z_dim} floats (the latent vector)")
        return self._numbers(message), self._controls(state)

    def _store(self, state: ClientState, message: Message) -> bytes:
        if len(message) == 0:
            raise RequestError("expects <slot> [pattern or latent floats]; slot is a or b (0 or 1)")
        slot = self._slot_name(message)
        info = self._info(state)
        n = len(message) - 1
        if n == 0:
            if state.last_pattern is None or state.last_pattern.shape[0] != info.steps:
                raise RequestError("no pattern received yet to store; send one after the slot")
            pattern = state.last_pattern
            z = self.engine.encode(pattern, self._controls(state))
        elif n == FEATURES * info.steps:
            pattern = self._pattern_arg(message, info.steps, start=1)
            z = self.engine.encode(pattern, self._controls(state))
        elif n == info.z_dim:
            pattern, z = None, self._numbers(message, 1)
        else:
            raise RequestError(
                f"after the slot, expects {FEATURES * info.steps} pattern floats or "
                f"{info.z_dim} latent floats; got {n}"
            )
        state.slots[slot] = Slot(np.asarray(z, np.float32), info.name, pattern)
        return encode("/ok", "store", slot)

    def _slot_name(self, message: Message) -> str:
        tag = message.tags[0]
        if tag == "s":
            name = str(message.args[0]).lower()
        else:
            value = float(self._numbers(message, 0, 1)[0])
            name = SLOTS[int(value)] if value in (0.0, 1.0) else ""
        if name not in SLOTS:
            raise RequestError("slot must be a or b (or 0 or 1)")
        return name

    def _slot_latent(self, state: ClientState, slot: str, model: str) -> np.ndarray:
        stored = state.slots.get(slot)
        if stored is None:
            raise RequestError(f"slot {slot} is empty; send /store {slot} first")
        if stored.model != model:
            if stored.pattern is None:
                raise RequestError(
                    f"slot {slot} holds a latent of model {stored.model}; store again"
                )
            stored = state.slots[slot] = Slot(
                np.asarray(self.engine.encode(stored.pattern, self._controls(state)), np.float32),
                model,
                stored.pattern,
            )
        return stored.z

    def _interpolate(self, state: ClientState, message: Message) -> bytes:
        return self._decoded_reply(state, *self._interpolate_latent(state, message))

    def _interpolate_latent(
        self, state: ClientState, message: Message
    ) -> tuple[np.ndarray, object]:
        self._count(message, (1,), "<position 0..1>")
        t = self._number(message, 0, "position", 0.0, 1.0)
        model = self._info(state).name
        controls = self._controls(state)
        z = self.engine.interpolate(
            self._slot_latent(state, "a", model), self._slot_latent(state, "b", model), t, controls
        )
        return z, controls

    # -- task models

    def _task_pattern(self, message: Message, name: str, allow_bars: bool = False) -> np.ndarray:
        n = len(message) - (1 if allow_bars and len(message) % FEATURES == 1 else 0)
        if n == 0 or n % FEATURES:
            raise RequestError(f"expects 27 floats per step; got {len(message)} arguments")
        return self._pattern_arg(message, n // FEATURES)

    def _humanize(self, state: ClientState, message: Message) -> bytes:
        pattern = self._task_pattern(message, "humanize")
        return self._pattern_reply(state, self.engine.humanize(pattern, self._controls(state)))

    def _drumify(self, state: ClientState, message: Message) -> bytes:
        pattern = self._task_pattern(message, "drumify")
        return self._pattern_reply(state, self.engine.drumify(pattern, self._controls(state)))

    def _infill(self, state: ClientState, message: Message) -> bytes:
        pattern = self._task_pattern(message, "infill")
        return self._pattern_reply(state, self.engine.infill(pattern, self._controls(state)))

    def _continue(self, state: ClientState, message: Message) -> bytes:
        pattern = self._task_pattern(message, "continue", allow_bars=True)
        bars = 2
        if len(message) % FEATURES == 1:
            bars = self._number(message, len(message) - 1, "bars", 1, MAX_REPLY_BARS)
            if bars != int(bars):
                raise RequestError(f"bars {bars:g} must be a whole number")
        out = self.engine.continue_(pattern, int(bars), self._controls(state))
        return self._pattern_reply(state, out)

    # -- settings

    def _temperature(self, state: ClientState, message: Message) -> bytes:
        self._count(message, (1,), "<temperature>")
        state.temperature = self._number(message, 0, "temperature", 0.0, MAX_TEMPERATURE)
        state.changed()
        return encode("/ok", "temperature", state.temperature)

    def _seed(self, state: ClientState, message: Message) -> bytes:
        self._count(message, (1,), "<seed> (-1 for random)")
        state.seed = self._seed_value(self._number(message, 0, "seed", -1, 2**31 - 1))
        state.changed()
        return encode("/ok", "seed", -1 if state.seed is None else state.seed)

    def _voice_and_value(self, message: Message) -> tuple[int | None, float]:
        self._count(message, (1, 2), "<value> or <voice> <value>")
        value = self._number(message, len(message) - 1, "value", 0.0, 1.0)
        if len(message) == 1:
            return None, value
        if message.tags[0] == "s":
            name = str(message.args[0])
            if name not in VOICES:
                raise RequestError(f"unknown voice {name}; voices: {' '.join(VOICES)}")
            return VOICES.index(name), value
        voice = self._number(message, 0, "voice", 0, NUM_VOICES - 1)
        if voice != int(voice):
            raise RequestError(f"voice {voice:g} must be a whole number 0..8")
        return int(voice), value

    def _set_threshold(self, state: ClientState, message: Message, density: bool) -> bytes:
        voice, value = self._voice_and_value(message)
        threshold = 1.0 - value if density else value
        state.changed()
        if voice is None:
            state.thresholds[:] = threshold
            return encode("/ok", message.address[1:], value)
        state.thresholds[voice] = threshold
        return encode("/ok", message.address[1:], voice, value)

    def _threshold(self, state: ClientState, message: Message) -> bytes:
        return self._set_threshold(state, message, density=False)

    def _density(self, state: ClientState, message: Message) -> bytes:
        return self._set_threshold(state, message, density=True)

    def _style(self, state: ClientState, message: Message) -> bytes:
        self._count(message, (1,), "<style name> (or none)")
        if message.tags[0] != "s":
            raise RequestError("style must be a name (a symbol), e.g. /style funk")
        name = str(message.args[0])
        if name == "none":
            state.style = None
        else:
            styles = list(self._info(state).styles)
            if name not in styles:
                known = " ".join(styles) if styles else "none (this model has no styles)"
                raise RequestError(f"unknown style {name}; styles: {known}")
            state.style = name
        state.changed()
        return encode("/ok", "style", name)

    def _styles(self, state: ClientState, message: Message) -> bytes:
        self._count(message, (0,), "no arguments")
        styles = list(self._info(state).styles)
        return encode("/styles", len(styles), *styles)

    def _models(self, state: ClientState, message: Message) -> bytes:
        self._count(message, (0,), "no arguments")
        names = [m.name for m in self._infos]
        return encode("/models", len(names), *names)

    def _model(self, state: ClientState, message: Message) -> bytes:
        self._count(message, (0, 1), "[model name]")
        if len(message) == 1:
            if message.tags[0] != "s":
                raise RequestError("model must be a name (a symbol), e.g. /model default")
            info = self._info(state, str(message.args[0]))
            if info.task != "vae":
                raise RequestError(
                    f"model {info.name} does {info.task}; sample/encode/decode need a vae model"
                )
            if info.name != state.model:
                state.model = info.name
                state.style = None  # styles belong to a model
                state.changed()
        info = self._info(state)
        return encode("/model", info.name, info.task, int(info.z_dim), int(info.steps))

    def _symbol(self, message: Message, index: int, what: str) -> str:
        if message.tags[index] not in "sS":
            raise RequestError(f"{what} must be a name (a symbol)")
        return str(message.args[index])

    def _load(self, state: ClientState, message: Message) -> bytes:
        """Load a checkpoint from an allowed models folder; a bad file leaves everything as is."""
        self._count(message, (1,), "<model file> (e.g. /load mine or /load my_run/best.pt)")
        requested = self._symbol(message, 0, "model file")
        if self.load_model is None or not self.model_dirs:
            raise RequestError("loading models is off on this server")
        path = confine(requested, self.model_dirs, MODEL_SUFFIXES)
        with self._load_lock:  # one load at a time; requests meanwhile use the current engine
            stat = path.stat()
            seen = self._loaded_files.get(path)
            # The same unchanged file again: nothing to do (a reload costs time and memory).
            if seen is not None and seen[0] == (stat.st_mtime_ns, stat.st_size):
                name = seen[1]
            else:
                loaded = {m.name for m in self._infos}
                if len(loaded) >= MAX_MODELS and path.stem not in loaded:
                    raise RequestError(f"{MAX_MODELS} models loaded already; restart for others")
                engine, name = self.load_model(self.engine, path)
                # Engine first: a request that sees the new model list finds the model in it.
                self.engine = engine
                self._infos = list(engine.models())
                self._loaded_files[path] = ((stat.st_mtime_ns, stat.st_size), name)
        task = next(m.task for m in self._infos if m.name == name)
        log.info("loaded model %s (%s) from %s", name, task, path)
        return encode("/ok", "load", name, task)

    def _export(self, state: ClientState, message: Message) -> bytes:
        """Write this client's last pattern as a MIDI file into the export folder."""
        self._count(message, (1, 2), "<file.mid> [bpm]")
        requested = self._symbol(message, 0, "file name")
        bpm = self._number(message, 1, "bpm", 20.0, 400.0) if len(message) == 2 else 120.0
        if self.export_dir is None:
            raise RequestError("exporting is off on this server")
        if state.last_pattern is None:
            raise RequestError("no pattern to export yet; ask for one first (e.g. /sample)")
        path = confine(requested, [self.export_dir], MIDI_SUFFIXES, must_exist=False)
        from pdbridge.core.midi import write_midi  # mido: only when a patch exports

        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside, then rename: never half a file, and a symlink at `path` is replaced,
        # not followed.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            write_midi(Pattern.from_array(state.last_pattern, bpm=bpm), tmp)
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise RequestError(f"cannot write {requested}: {e.strerror}") from None
        return encode("/ok", "export", requested)

    def _reset(self, state: ClientState, message: Message) -> bytes:
        self._count(message, (0,), "no arguments")
        fresh = ClientState()
        state.__dict__.update(fresh.__dict__)
        return encode("/ok", "reset")


__all__ = ["BATCHED", "LATEST_WINS", "PROTOCOL_VERSION", "Protocol", "error_reply"]
