"""Errors users can act on, and the exit codes the CLI gives them.

Raise `PdbridgeError` (or a subclass) with a one-line message that names the file or request and
the problem; the CLI prints it without a traceback and exits with the class's code.
"""


class ExitCode:
    OK = 0
    ERROR = 1  # anything else that went wrong
    USAGE = 2  # bad command line (argparse uses 2 too)
    BAD_INPUT = 3  # a file or message we cannot read
    BAD_MODEL = 4  # a checkpoint that is missing, corrupt or does not fit
    INTERRUPTED = 130


class PdbridgeError(Exception):
    exit_code = ExitCode.ERROR


class BadInputError(PdbridgeError):
    """A MIDI/JSON file or a message that cannot be read or makes no sense."""

    exit_code = ExitCode.BAD_INPUT


class ModelError(PdbridgeError):
    """A checkpoint that is missing, corrupt, or does not match what it claims."""

    exit_code = ExitCode.BAD_MODEL
