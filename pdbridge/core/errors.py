"""Errors users can act on, and the exit codes the CLI gives them.

Raise `PdbridgeError` (or a subclass) with a one-line message that names the file or request and
the problem; the CLI prints it without a traceback and exits with the class's code. Each kind of
model fault has its own code, so a script starting the server can tell them apart.
"""


class ExitCode:
    OK = 0
    ERROR = 1  # anything else that went wrong
    USAGE = 2  # bad command line (argparse uses 2 too)
    BAD_INPUT = 3  # a file or message we cannot read
    BAD_MODEL = 4  # a checkpoint whose config, layout or weights do not fit its model
    MODEL_MISSING = 5  # no such checkpoint file or model name
    MODEL_CORRUPT = 6  # truncated, corrupt, or not a pdbridge checkpoint at all
    MODEL_VERSION = 7  # a checkpoint format version this pdbridge cannot read
    MODEL_UNSAFE = 8  # a checkpoint holding Python objects (loading them would run code)
    PORT_IN_USE = 9  # another program already listens on the server's port
    INTERRUPTED = 130


class PdbridgeError(Exception):
    exit_code = ExitCode.ERROR


class BadInputError(PdbridgeError):
    """A MIDI/JSON file or a message that cannot be read or makes no sense."""

    exit_code = ExitCode.BAD_INPUT


class ModelError(PdbridgeError):
    """A checkpoint that is missing, corrupt, or does not match what it claims."""

    exit_code = ExitCode.BAD_MODEL


class ModelLayoutError(ModelError):
    """Weights or params of a layout pdbridge cannot rebuild: another architecture, renamed or
    missing keys, wrong shapes (e.g. a foreign checkpoint given to an importer)."""

    exit_code = ExitCode.BAD_MODEL


class ModelMissingError(ModelError):
    exit_code = ExitCode.MODEL_MISSING


class ModelCorruptError(ModelError):
    exit_code = ExitCode.MODEL_CORRUPT


class ModelVersionError(ModelError):
    exit_code = ExitCode.MODEL_VERSION


class UnsafeModelError(ModelError):
    exit_code = ExitCode.MODEL_UNSAFE


class PortInUseError(PdbridgeError):
    exit_code = ExitCode.PORT_IN_USE


class UsageError(PdbridgeError):
    """A command line that asks for something unsafe or impossible (argparse cannot tell)."""

    exit_code = ExitCode.USAGE
