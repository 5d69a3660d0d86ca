"""The `pdbridge` command: a thin argparse layer over importable functions.

Each subcommand lives in its own module, which defines `configure(parser, name)` and
`run(args) -> int` (and `INTERMIXED = True` if its options may come between its positional
arguments, as in `pdbridge send /continue --pattern x.mid 4`).
Modules are imported only when their command runs, so `pdbridge --help` stays fast and a command
never pays for torch unless it needs it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from pdbridge import __version__
from pdbridge.cli.options import Parser
from pdbridge.core import progress
from pdbridge.core.errors import ExitCode, PdbridgeError
from pdbridge.models.tasks import TASKS

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("pdbridge.cli.convert", "convert a drum pattern between .mid and .json"),
    "dataset": (
        "pdbridge.cli.dataset",
        "read a Groove MIDI Dataset folder, count and cache its windows",
    ),
    "train": ("pdbridge.cli.train", "train a model on a dataset folder"),
    "eval": ("pdbridge.cli.eval", "evaluate a model on a split"),
    "models": ("pdbridge.cli.models", "list the shipped models"),
    "import": (
        "pdbridge.cli.import_gt",
        "import a course Groove Transformer checkpoint (.pth) as a pdbridge model",
    ),
    "serve": ("pdbridge.cli.serve", "run the OSC server for Pure Data"),
    "send": ("pdbridge.cli.send", "send one OSC request to a running server and print the reply"),
    "bench": ("pdbridge.cli.bench", "benchmark the server against a bare UDP echo and a naive server"),
    "paths": ("pdbridge.cli.paths", "print where the models, patches, exports and cache are"),
    "patches": (
        "pdbridge.cli.patches",
        "print the installed Pd patches folder, or copy it as a Pd package (--copy DIR)",
    ),
}
# the clip tools: one command per task that has a verb (pdbridge.models.tasks)
COMMANDS |= {t.verb: ("pdbridge.cli.clips", t.help) for t in TASKS.values() if t.verb}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="pdbridge", description="Generative drum models for Pure Data, over OSC."
    )
    parser.add_argument("--version", action="version", version=f"pdbridge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def command_parser(name: str, module: object | None = None) -> Parser:
    """The parser of one command, as `main` builds it (tests read its options from here)."""
    module = module or importlib.import_module(COMMANDS[name][0])
    parser = Parser(prog=f"pdbridge {name}", description=COMMANDS[name][1])
    module.configure(parser, name)
    if not any("--quiet" in a.option_strings for a in parser._actions):
        parser.add_argument(
            "--quiet", action="store_true", help="no progress bars (none either off a terminal)"
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    # First pass: find the command without importing every module.
    try:
        args, rest = parser.parse_known_args(argv)
    except PdbridgeError as e:
        print(f"pdbridge: error: {e}", file=sys.stderr)
        return e.exit_code
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        if rest:  # `pdbridge --bogus`: an option no command was named for
            print(
                f"pdbridge: error: unrecognized arguments: {' '.join(rest)} (see pdbridge --help)",
                file=sys.stderr,
            )
            return ExitCode.USAGE
        parser.print_help()
        return ExitCode.OK
    module_name, help_text = COMMANDS[args.command]
    try:  # Ctrl-C while a command's module (torch) is still importing: a quiet stop too
        module = importlib.import_module(module_name)
        cmd_parser = command_parser(args.command, module)
        if getattr(module, "INTERMIXED", False):
            cmd_args = cmd_parser.parse_intermixed_args(rest)
        else:
            cmd_args = cmd_parser.parse_args(rest)
        cmd_args.command = args.command
        cmd_args.verbose = args.verbose
        progress.set_quiet(cmd_args.quiet)
        return int(module.run(cmd_args) or 0)
    except PdbridgeError as e:
        print(f"pdbridge {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `pdbridge dataset DIR | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return ExitCode.OK
    except OSError as e:  # a file the system refuses (name too long, no permission, disk full)
        name = str(e.filename or "")
        name = name if len(name) <= 120 else f"{name[:100]}...{name[-16:]}"
        where = f"{name}: " if name else ""
        print(f"pdbridge {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return ExitCode.ERROR


if __name__ == "__main__":
    raise SystemExit(main())
