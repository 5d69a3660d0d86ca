"""`pdbridge serve`: run the OSC server for Pure Data until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import threading
import time

from pdbridge.cli.options import input_dir, int_range, port, writable_dir
from pdbridge.core import limits
from pdbridge.serve.app import build_protocol, freeze_models, ready_line
from pdbridge.serve.server import Server, ServerConfig, check_host, is_loopback

log = logging.getLogger(__name__)

def configure(parser: argparse.ArgumentParser, command_name: str) -> None:
    c = ServerConfig()
    _network_options(parser, c)
    _model_options(parser, c)
    _file_options(parser, c)


def _network_options(parser: argparse.ArgumentParser, c: ServerConfig) -> None:
    """Where it listens, where replies go, who may send."""
    group = parser.add_argument_group("network")
    group.add_argument("--host", default=c.host, help=f"address to listen on (default {c.host})")
    group.add_argument(
        "--port",
        type=port(allow_zero=True),
        default=c.port,
        help=f"UDP port (default {c.port}; 0 = any free port)",
    )
    group.add_argument(
        "--reply-port",
        type=port(),
        default=None,
        help="send replies to this port on the sender's host (course convention: 1123) "
        "instead of to the sender's own address",
    )
    group.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --host to be an address other computers can reach (prints a warning); "
        "without it only loopback (127.0.0.1, localhost) is accepted",
    )
    group.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="NETWORK",
        help="a client address or network that may send requests, e.g. 192.168.1.0/24; "
        "repeatable. Loopback is always allowed; datagrams from others are dropped unanswered",
    )


def _model_options(parser: argparse.ArgumentParser, c: ServerConfig) -> None:
    """Which models answer, and how the work is shared out."""
    group = parser.add_argument_group("models and work")
    group.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="NAME_OR_PATH",
        help="a shipped name, an alias, a .pt file or a course Groove Transformer .pth (imported "
        "as it loads); repeat for several, e.g. --model default --model runs/mine.pt to add "
        "yours to the shipped set. The first VAE answers unless a client chooses another with "
        "/model (and /drumifier for drumify). Default: default (the shipped set)",
    )
    group.add_argument(
        "--workers",
        type=int_range(1, limits.MAX_WORKERS),
        default=c.workers,
        help=f"inference threads (default {c.workers})",
    )
    group.add_argument(
        "--torch-threads",
        type=int_range(1, limits.MAX_THREADS),
        default=c.torch_threads,
        help=f"CPU threads torch may use per inference (default {c.torch_threads}, leaving "
        "the other cores to Pd)",
    )
    group.add_argument(
        "--queue-size",
        type=int_range(1, limits.MAX_QUEUE_SIZE),
        default=c.queue_size,
        help=f"requests that may wait per client before 'server busy' (default {c.queue_size})",
    )
    group.add_argument(
        "--batch",
        type=int_range(1, limits.MAX_SERVER_BATCH),
        default=c.batch,
        help=f"decodes of different clients answered in one model call at most (default "
        f"{c.batch}; 1 turns batching off)",
    )


def _file_options(parser: argparse.ArgumentParser, c: ServerConfig) -> None:
    """The folders /load and /export may touch."""
    group = parser.add_argument_group("files")
    group.add_argument(
        "--models-dir",
        action="append",
        default=[],
        metavar="DIR",
        type=input_dir,
        help="a folder /load may read checkpoints from, besides the shipped models; repeatable",
    )
    group.add_argument(
        "--export-dir",
        type=writable_dir,  # checked before any model loads: never an /export that must fail
        default=c.export_dir,
        metavar="DIR",
        help=f"the folder /export writes MIDI files into (default {c.export_dir})",
    )


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        host=args.host,
        port=args.port,
        reply_port=args.reply_port,
        models=args.model or ["default"],
        workers=max(1, args.workers),
        torch_threads=max(1, args.torch_threads),
        queue_size=max(1, args.queue_size),
        batch=max(1, args.batch),
        allow_remote=args.allow_remote,
        allow=list(args.allow),
        models_dirs=[str(d) for d in args.models_dir],
        export_dir=str(args.export_dir),
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    started = time.monotonic()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    check_host(config)  # before the models load: a refused address fails at once
    if not is_loopback(config.host):
        allowed = " ".join(config.allow) or "none (loopback only: add --allow NETWORK)"
        log.warning(
            "listening on %s: other computers can reach this server; allowed clients: %s",
            config.host,
            allowed,
        )
    try:  # Ctrl-C at any moment, even while the models load, is a clean stop
        protocol = build_protocol(config, freeze=False)
        gc.freeze()  # the loaded models never die: keep the collector from walking them mid-beat
        with Server(protocol, config) as server:
            print(ready_line(server, protocol), flush=True)
            log.debug("ready in %.2f s", time.monotonic() - started)
            # Freezing the models into graphs halves a decode but takes a second or two: answer
            # with the plain models meanwhile, so the server is ready that much sooner.
            freezer = threading.Thread(target=freeze_models, args=(protocol, stop), name="freeze")
            try:
                freezer.start()
                while not stop.wait(0.5):
                    pass
            finally:  # never leave torch working in a thread while Python shuts down
                stop.set()
                if freezer.ident is not None:
                    freezer.join()
    except KeyboardInterrupt:
        pass
    print("pdbridge serve: stopped", flush=True)
    return 0
