"""The OSC protocol: request address -> engine call -> reply message (docs/protocol.md).

`Protocol` is the dispatch table and the handlers; the pieces it stands on each have a module:
`requests` reads and checks arguments, `client_state` keeps each client's settings and slots,
`file_service` serves `/load` and `/export`. It knows nothing of sockets (`serve.server`) or
torch: the engine is anything with `EngineAPI`'s methods (`pdbridge.inference.engine.Engine` in
practice), and the controls class is handed in.

Every request gets exactly one reply. A request that is wrong, or that the engine refuses with a
`PdbridgeError`, gets `/error <request address> <message>`; anything unexpected is logged with its
traceback and answered the same way, so one bad message never stops the music.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol as Interface

import numpy as np

from pdbridge import __version__
from pdbridge.core.errors import PdbridgeError
from pdbridge.core.limits import MAX_BPM, MAX_REPLY_BARS, MAX_TEMPERATURE, MIN_BPM
from pdbridge.core.pattern import FEATURES
from pdbridge.models.tasks import pattern_tasks
from pdbridge.serve import requests as arg
from pdbridge.serve import settings
from pdbridge.serve.catalog import Catalog
from pdbridge.serve.client_state import Clients, ClientState, Slot
from pdbridge.serve.file_service import FileService, LoadModel
from pdbridge.serve.osc_codec import Message, encode
from pdbridge.serve.requests import RequestError, error_reply

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1  # additions since 1.0 are listed in docs/protocol.md; nothing has changed
# Requests that a newer one of the same kind replaces while still waiting (a slider sweeping).
LATEST_WINS = frozenset({"/decode", "/interpolate", "/morph"})
# Requests that end in one decode of a latent: those of several clients share one model call.
BATCHED = frozenset({"/decode", "/interpolate", "/morph"})
DEFAULT_EXPORT_BPM = 120.0
CATALOG_REQUESTS = ("/style", "/styles", "/models", "/model", "/drumifier")


class EngineAPI(Interface):
    """What the protocol needs of an engine (numpy patterns (steps, 27) in and out)."""

    def models(self) -> list: ...
    def sample(self, controls: object) -> np.ndarray: ...
    def encode(self, pattern: np.ndarray, controls: object) -> np.ndarray: ...
    def decode(self, z: np.ndarray, controls: object) -> np.ndarray: ...
    def decode_many(self, zs: Sequence[np.ndarray], controls: Sequence[object]) -> list: ...
    def interpolate(self, a: np.ndarray, b: np.ndarray, t: float, controls: object) -> np.ndarray: ...
    def transform(self, task: str, pattern: np.ndarray, controls: object) -> np.ndarray: ...
    def continue_(self, pattern: np.ndarray, bars: int, controls: object) -> np.ndarray: ...


Handler = Callable[[ClientState, Message], bytes]


class Protocol:
    """Turns decoded requests into reply bytes. One instance serves every client of a server.

    `handle(client, message)` must not run twice at once for the same client (the server keeps
    each client's requests in order); different clients may be served from different threads.
    """

    def __init__(
        self,
        engine: EngineAPI,
        controls_type: Callable[..., object],
        max_clients: int = 256,
        load_model: LoadModel | None = None,
        model_dirs: Sequence[str | Path] = (),
        export_dir: str | Path | None = None,
    ) -> None:
        """`load_model(engine, path) -> (engine with that model added, its name)` serves `/load`
        for files in `model_dirs`; `/export` writes MIDI files into `export_dir`. Either request
        is refused when its folder is not given."""
        self.engine = engine
        self.controls_type = controls_type
        self.files = FileService(load_model, model_dirs, export_dir)
        self.catalog = Catalog(engine.models())  # replaced when /load changes the engine
        self.clients = Clients(max_clients)
        self._handlers: dict[str, Handler] = {
            "/ping": self._ping,
            "/sample": self._sample,
            "/encode": self._encode,
            "/decode": self._decode,
            "/store": self._store,
            "/interpolate": self._interpolate,
            "/morph": self._morph,
            # one handler for every pattern task (humanize, drumify, infill: their records)
            **{t.request: functools.partial(self._pattern_task, t.name) for t in pattern_tasks()},
            "/continue": self._continue,
            **settings.HANDLERS,  # this client's settings only
            # the loaded models and the client's choice among them: asked of the current catalog
            **{address: self._in_catalog(address) for address in CATALOG_REQUESTS},
            "/load": self._load,
            "/export": self._export,
        }
        # The BATCHED requests' latents: what they decode, with whose controls.
        self._latents = {
            "/decode": self._decode_latent,
            "/interpolate": self._interpolate_latent,
            "/morph": self._morph_latent,
        }

    @property
    def addresses(self) -> list[str]:
        return list(self._handlers)

    def state(self, client: object) -> ClientState:
        return self.clients.get(client)

    # -- entry points

    def handle(self, client: object, message: Message) -> bytes:
        handler = self._handlers.get(message.address)
        if handler is None:
            return error_reply(message.address, f"unknown address {message.address}")
        return self._guarded(message.address, handler, self.state(client), message)

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
            state = self.state(client)
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

    # -- helpers

    def _in_catalog(self, address: str) -> Handler:
        method = address[1:]  # /style -> Catalog.style

        def handler(state: ClientState, message: Message) -> bytes:
            return getattr(self.catalog, method)(state, message)

        return handler

    def _controls(self, state: ClientState, **override: object) -> object:
        return state.controls_for(self.controls_type, **override)

    def _info(self, state: ClientState, name: str | None = None) -> object:
        return self.catalog.info(state, name)

    def _pattern_reply(self, state: ClientState, pattern: np.ndarray) -> bytes:
        pattern = np.asarray(pattern, np.float32)
        state.last_pattern = pattern
        return encode("/pattern", int(pattern.shape[0]), pattern.ravel())

    def _decoded_reply(self, state: ClientState, z: np.ndarray, controls: object) -> bytes:
        return self._pattern_reply(state, self.engine.decode(z, controls))

    # -- the VAE verbs

    def _ping(self, state: ClientState, message: Message) -> bytes:
        arg.count(message, (0,), "no arguments")
        return encode("/pong", PROTOCOL_VERSION, __version__)

    def _sample(self, state: ClientState, message: Message) -> bytes:
        arg.count(message, (0, 1, 2), "[temperature] [seed]")
        override: dict[str, object] = {}
        if len(message) >= 1:
            override["temperature"] = arg.number(message, 0, "temperature", 0.0, MAX_TEMPERATURE)
        if len(message) == 2:
            override["seed"] = arg.seed(arg.number(message, 1, "seed", -1, arg.MAX_SEED))
        return self._pattern_reply(state, self.engine.sample(self._controls(state, **override)))

    def _encode(self, state: ClientState, message: Message) -> bytes:
        steps = self._info(state).steps
        arg.count(message, (FEATURES * steps,), f"{FEATURES * steps} floats (27 x {steps} steps)")
        pattern = arg.pattern(message, steps)
        z = np.asarray(self.engine.encode(pattern, self._controls(state)), np.float32)
        return encode("/z", int(z.size), z)

    def _decode(self, state: ClientState, message: Message) -> bytes:
        return self._decoded_reply(state, *self._decode_latent(state, message))

    def _decode_latent(self, state: ClientState, message: Message) -> tuple[np.ndarray, object]:
        z_dim = self._info(state).z_dim
        arg.count(message, (z_dim,), f"{z_dim} floats (the latent vector)")
        return arg.numbers(message), self._controls(state)

    def _store(self, state: ClientState, message: Message) -> bytes:
        if len(message) == 0:
            raise RequestError("expects <slot> [pattern or latent floats]; slot is a, b, c or d")
        slot = arg.slot(message)
        info = self._info(state)
        n = len(message) - 1
        if n == 0:
            if state.last_pattern is None or state.last_pattern.shape[0] != info.steps:
                raise RequestError("no pattern received yet to store; send one after the slot")
            pattern = state.last_pattern
            z = self.engine.encode(pattern, self._controls(state))
        elif n == FEATURES * info.steps:
            pattern = arg.pattern(message, info.steps, start=1)
            z = self.engine.encode(pattern, self._controls(state))
        elif n == info.z_dim:
            pattern, z = None, arg.numbers(message, 1)
        else:
            raise RequestError(
                f"after the slot, expects {FEATURES * info.steps} pattern floats or "
                f"{info.z_dim} latent floats; got {n}"
            )
        state.slots[slot] = Slot(np.asarray(z, np.float32), info.name, pattern)
        return encode("/ok", "store", slot)

    def _slot_latent(self, state: ClientState, slot: str, model: str) -> np.ndarray:
        """A slot's latent for `model`: a stored pattern is encoded again for another model."""
        stored = state.slots.get(slot)
        if stored is None:
            raise RequestError(f"slot {slot} is empty; send /store {slot} first")
        if stored.model != model:
            if stored.pattern is None:
                raise RequestError(
                    f"slot {slot} holds a latent of model {stored.model}; store again"
                )
            z = self.engine.encode(stored.pattern, self._controls(state))
            stored = state.slots[slot] = Slot(np.asarray(z, np.float32), model, stored.pattern)
        return stored.z

    def _interpolate(self, state: ClientState, message: Message) -> bytes:
        return self._decoded_reply(state, *self._interpolate_latent(state, message))

    def _interpolate_latent(
        self, state: ClientState, message: Message
    ) -> tuple[np.ndarray, object]:
        arg.count(message, (1,), "<position 0..1>")
        t = arg.number(message, 0, "position", 0.0, 1.0)
        a, b = self._slot_latents(state, "ab")
        controls = self._controls(state)
        return self.engine.interpolate(a, b, t, controls), controls

    def _morph(self, state: ClientState, message: Message) -> bytes:
        return self._decoded_reply(state, *self._morph_latent(state, message))

    def _morph_latent(self, state: ClientState, message: Message) -> tuple[np.ndarray, object]:
        """Four corners, a (0, 0), b (1, 0), c (0, 1) and d (1, 1): slerp along x on both
        edges, then along y between them (magenta.js's four-corner pad, spherical)."""
        arg.count(message, (2,), "<x 0..1> <y 0..1>")
        x = arg.number(message, 0, "x", 0.0, 1.0)
        y = arg.number(message, 1, "y", 0.0, 1.0)
        a, b, c, d = self._slot_latents(state, "abcd")
        controls = self._controls(state)
        lerp = self.engine.interpolate
        z = lerp(lerp(a, b, x, controls), lerp(c, d, x, controls), y, controls)
        return z, controls

    def _slot_latents(self, state: ClientState, slots: str) -> list[np.ndarray]:
        model = self._info(state).name
        return [self._slot_latent(state, s, model) for s in slots]

    # -- task models

    def _pattern_task(self, task: str, state: ClientState, message: Message) -> bytes:
        pattern = arg.task_pattern(message)
        out = self.engine.transform(task, pattern, self._controls(state))
        return self._pattern_reply(state, out)

    def _continue(self, state: ClientState, message: Message) -> bytes:
        pattern = arg.task_pattern(message, allow_bars=True)
        bars = 2
        if len(message) % FEATURES == 1:
            bars = arg.whole(message, len(message) - 1, "bars", 1, MAX_REPLY_BARS)
        out = self.engine.continue_(pattern, bars, self._controls(state))
        return self._pattern_reply(state, out)

    # -- files

    def _load(self, state: ClientState, message: Message) -> bytes:
        """Load a checkpoint from an allowed models folder; a bad file leaves everything as is."""
        arg.count(message, (1,), "<model file> (e.g. /load mine or /load my_run/best.pt)")
        requested = arg.symbol(message, 0, "model file")
        loaded = set(self.catalog.names)
        engine, name, path = self.files.load(self.engine, requested, loaded)
        if engine is not self.engine:
            # Engine first: a request that sees the new model list finds the model in it.
            self.engine = engine
            self.catalog = Catalog(engine.models())
        task = self.catalog.task_of(name)
        log.info("loaded model %s (%s) from %s", name, task, path)
        return encode("/ok", "load", name, task)

    def _export(self, state: ClientState, message: Message) -> bytes:
        """Write this client's last pattern as a MIDI file into the export folder."""
        arg.count(message, (1, 2), "<file.mid> [bpm]")
        requested = arg.symbol(message, 0, "file name")
        bpm = arg.number(message, 1, "bpm", MIN_BPM, MAX_BPM) if len(message) == 2 else DEFAULT_EXPORT_BPM
        if self.files.export_dir is None:
            raise RequestError("exporting is off on this server")
        if state.last_pattern is None:
            raise RequestError("no pattern to export yet; ask for one first (e.g. /sample)")
        written = self.files.export(state.last_pattern, requested, bpm)
        return encode("/ok", "export", written)  # the file's own name: `beat` -> beat.mid


__all__ = ["BATCHED", "LATEST_WINS", "PROTOCOL_VERSION", "EngineAPI", "Protocol", "error_reply"]
