"""The composition root of a server: models loaded into an engine, wrapped in a protocol."""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time

from pdbridge import __version__
from pdbridge.core import places
from pdbridge.serve.protocol import PROTOCOL_VERSION, Protocol
from pdbridge.serve.server import Server, ServerConfig

log = logging.getLogger(__name__)

def add_model(engine: object, path: object) -> tuple[object, str]:
    """A new engine with the checkpoint at `path` added (or replacing one of its name), for
    `/load`. The current engine is left untouched, so a bad file changes nothing."""
    from pdbridge.inference import checkpoint

    new = checkpoint.load(path)
    bigger = engine.with_model(new)
    bigger.freeze()  # models the start-up freeze had not reached yet, if any
    return bigger, new.name


def build_protocol(config: ServerConfig, freeze: bool = True) -> Protocol:
    """Load the models (this imports torch) and wrap them in a `Protocol`. With `freeze=False`
    the engine answers with the plain models until `protocol.engine.freeze()` is called."""
    from pdbridge.inference import checkpoint
    from pdbridge.inference.engine import Controls, Engine, configure_torch

    configure_torch(config.torch_threads)

    return Protocol(
        Engine.load(config.models, freeze=freeze),
        Controls,
        max_clients=config.max_clients,
        load_model=add_model,
        model_dirs=[checkpoint.models_dir(), *(config.models_dirs or [places.user_models_dir()])],
        export_dir=config.export_dir,
    )


def freeze_models(protocol: Protocol, stop: threading.Event) -> None:
    # Ctrl-C and SIGTERM go to the main thread: delivered here, they would interrupt torch's C++
    # code mid-trace, which then aborts the whole process ("terminate called ...").
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    started = time.monotonic()
    try:
        protocol.engine.freeze(cancel=stop.is_set)
    except Exception:  # the plain models keep serving
        log.exception("could not freeze the models; serving them unfrozen")
        return
    gc.freeze()
    log.debug("models frozen in %.2f s", time.monotonic() - started)


def ready_line(server: Server, protocol: Protocol) -> str:
    host, port = server.address
    names = " ".join(m.name for m in protocol.engine.models())
    replies = (
        "replies to sender"
        if server.config.reply_port is None
        else f"replies to port {server.config.reply_port}"
    )
    return (
        f"pdbridge {__version__} serving udp://{host}:{port} ({replies}); "
        f"models: {names}; protocol {PROTOCOL_VERSION}"
    )
