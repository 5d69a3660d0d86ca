"""The loaded models as the protocol sees them, and which of them a client uses: `/models`,
`/model`, `/style`, `/styles`, `/drumifier` (each request is the method of its name). A new `Catalog` replaces the old one when `/load`
changes the engine; the requests read it on every call, so it is one list, built once."""

from __future__ import annotations

from collections.abc import Sequence

from pdbridge.serve import requests as arg
from pdbridge.serve.client_state import ClientState
from pdbridge.serve.osc_codec import Message, encode
from pdbridge.serve.requests import RequestError


class Catalog:
    def __init__(self, infos: Sequence[object]) -> None:
        self.infos = list(infos)  # the engine's ModelInfo, in load order

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.infos]

    def info(self, state: ClientState, name: str | None = None) -> object:
        """ModelInfo for `name`, else the client's model, else the engine's default VAE."""
        name = name if name is not None else state.model
        for info in self.infos:
            if (info.name == name) if name is not None else (info.task == "vae"):
                return info
        if name is None:
            raise RequestError("no VAE model loaded (sample/encode/decode need one)")
        raise RequestError(f"no model named {name}; loaded: {' '.join(self.names)}")

    def task_of(self, name: str) -> str:
        return next(m.task for m in self.infos if m.name == name)

    # -- requests

    def models(self, state: ClientState, message: Message) -> bytes:
        """`/models`: the names; `/models kinds`: name, kind and task of each."""
        arg.count(message, (0, 1), "no arguments, or kinds")
        if len(message) == 0:
            return encode("/models", len(self.infos), *self.names)
        if arg.symbol(message, 0, "the argument") != "kinds":
            raise RequestError("expects no arguments, or kinds")
        triples = [v for m in self.infos for v in (m.name, m.kind, m.task)]
        return encode("/models", len(self.infos), *triples)

    def model(self, state: ClientState, message: Message) -> bytes:
        arg.count(message, (0, 1), "[model name]")
        if len(message) == 1:
            if message.tags[0] != "s":
                raise RequestError("model must be a name (a symbol), e.g. /model default")
            info = self.info(state, str(message.args[0]))
            if not getattr(info, "latent", info.task == "vae"):
                raise RequestError(
                    f"model {info.name} does {info.task}; sample/encode/decode need a vae model"
                )
            if info.name != state.model:
                state.model = info.name
                state.style = None  # styles belong to a model
                state.changed()
        info = self.info(state)
        return encode("/model", info.name, info.task, int(info.z_dim), int(info.steps))

    def style(self, state: ClientState, message: Message) -> bytes:
        arg.count(message, (1,), "<style name> (or none)")
        if message.tags[0] != "s":
            raise RequestError("style must be a name (a symbol), e.g. /style funk")
        name = str(message.args[0])
        if name == "none":
            state.style = None
        else:
            styles = list(self.info(state).styles)
            if name not in styles:
                known = " ".join(styles) if styles else "none (this model has no styles)"
                raise RequestError(f"unknown style {name}; styles: {known}")
            state.style = name
        state.changed()
        return encode("/ok", "style", name)

    def styles(self, state: ClientState, message: Message) -> bytes:
        arg.count(message, (0,), "no arguments")
        styles = list(self.info(state).styles)
        return encode("/styles", len(styles), *styles)

    def drumifier(self, state: ClientState, message: Message) -> bytes:
        """Which model answers this client's /drumify: `/drumifier NAME`, `/drumifier next` (the
        next drumify model, in load order), `/drumifier default` (the first loaded); without an
        argument, just report. Replies `/ok drumifier <name>`."""
        arg.count(message, (0, 1), "[model name, next or default]")
        models = [m.name for m in self.infos if getattr(m, "job", m.task) == "drumify"]
        if not models:
            raise RequestError("no drumify model loaded")
        chosen = state.task_models.get("drumify")
        current = chosen if chosen in models else self._default_drumifier(models)
        if len(message) == 1:
            name = arg.symbol(message, 0, "model")
            if name == "next":
                name = models[(models.index(current) + 1) % len(models)]
            elif name == "default":
                name = self._default_drumifier(models)
            elif name not in models:
                if name in self.names:
                    raise RequestError(f"model {name} does not drumify; drumify models: "
                                       f"{' '.join(models)}")  # fmt: skip
                raise RequestError(f"no model named {name}; drumify models: {' '.join(models)}")
            state.task_models["drumify"] = current = name
            state.changed()
        return encode("/ok", "drumifier", current)

    def _default_drumifier(self, models: list[str]) -> str:
        """The model the engine picks when a client chooses none: the first of task drumify
        (ours), else the first that serves it."""
        own = [m.name for m in self.infos if m.task == "drumify"]
        return own[0] if own else models[0]
