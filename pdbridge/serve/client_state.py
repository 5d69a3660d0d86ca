"""What the server remembers of each client (one sender address): its settings and slots, so
two patches on one server never disturb each other."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pdbridge.core.pattern import default_thresholds


@dataclass
class Slot:
    """An interpolation end point: a latent for one model, and the pattern it came from if any."""

    z: np.ndarray
    model: str
    pattern: np.ndarray | None = None


@dataclass
class ClientState:
    """Settings that belong to one client."""

    temperature: float = 1.0
    seed: int | None = None
    thresholds: np.ndarray = field(default_factory=default_thresholds)
    style: str | None = None
    model: str | None = None
    task_models: dict[str, str] = field(default_factory=dict)  # job -> model (/drumifier)
    busyness: float | None = None  # /busyness: a density model's hits; None = the input's own
    slots: dict[str, Slot] = field(default_factory=dict)
    last_pattern: np.ndarray | None = None
    controls: object | None = None  # the engine's Controls for these settings, built once

    def changed(self) -> None:
        """Call after changing a setting: the next request builds new controls."""
        self.controls = None

    def reset(self) -> None:
        self.__dict__.update(ClientState().__dict__)

    def controls_for(self, controls_type: Callable[..., object], **override: object) -> object:
        """The engine's controls for these settings (built once until a setting changes), or,
        with `override`, for these settings but the overridden ones (not kept)."""
        if self.controls is not None and not override:
            return self.controls
        settings = {
            "temperature": self.temperature,
            "seed": self.seed,
            "thresholds": self.thresholds.copy(),
            "style": self.style,
            "model": self.model,
            "task_models": dict(self.task_models),
            "busyness": self.busyness,
        }
        settings.update(override)
        controls = controls_type(**settings)
        if not override:
            self.controls = controls
        return controls


class Clients:
    """Each client's state, the least recently seen forgotten beyond `max_clients`."""

    def __init__(self, max_clients: int = 256) -> None:
        self.max_clients = max_clients
        self._states: OrderedDict[object, ClientState] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._states)

    def get(self, client: object) -> ClientState:
        with self._lock:
            state = self._states.get(client)
            if state is None:
                state = self._states[client] = ClientState()
                if len(self._states) > self.max_clients:
                    self._states.popitem(last=False)
            else:
                self._states.move_to_end(client)
            return state
