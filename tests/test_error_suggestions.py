"""Every option an error message suggests is one the command that prints it accepts (issue 18).

Static: the `--options` in every `raise ...(...)` and log warning of the package, module by
module, against the parsers of the commands that reach that module. Dynamic: the messages that
suggest options, produced by running the commands (tests/test_cli_properties.py checks every
message its generated command lines produce the same way).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from test_midi import midi_file

from pdbridge.cli import COMMANDS, build_parser, command_parser, main

PACKAGE = Path(__file__).resolve().parents[1] / "pdbridge"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
TOP_LEVEL = set(build_parser()._option_string_actions)


def accepted(command: str) -> set[str]:
    return set(command_parser(command)._option_string_actions) | TOP_LEVEL


def reads_pattern_files(command: str) -> bool:
    parser = command_parser(command)
    return any(a.dest == "input" for a in parser._actions) or "--pattern" in accepted(command)


# module (relative to pdbridge/) -> the commands whose errors come from it
SHARED = {
    "core/pattern_files.py": [c for c in COMMANDS if reads_pattern_files(c)],
    "train/trainer.py": ["train"],
    "train/styles.py": ["train"],
    "serve/server.py": ["serve"],
    "evaluate/bench.py": ["bench"],
    "evaluate/evaluation.py": ["eval"],
}


def suggestions(path: Path) -> list[tuple[int, str]]:
    """(line, --option) in the messages of `raise` statements and log warnings/errors."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        is_log = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("warning", "error", "exception")
        )
        if isinstance(node, ast.Raise) or is_log:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                    found += [(inner.lineno, o) for o in OPTION.findall(inner.value)]
    return found


def commands_of(path: Path) -> list[str] | None:
    rel = path.relative_to(PACKAGE).as_posix()
    if rel.startswith("cli/"):
        module = "pdbridge." + rel.removesuffix(".py").replace("/", ".")
        return [c for c, (m, _) in COMMANDS.items() if m == module]
    return SHARED.get(rel)


def test_every_suggested_option_is_accepted_by_the_commands_that_print_it():
    every = set().union(*(accepted(c) for c in COMMANDS))
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        commands = commands_of(path)
        for line, option in suggestions(path):
            where = f"{path.relative_to(PACKAGE)}:{line} {option}"
            if commands is None:  # a module many commands reach: the option must exist
                if option not in every:
                    problems.append(f"{where}: no command accepts it")
                continue
            for command in commands:
                if option not in accepted(command):
                    problems.append(f"{where}: pdbridge {command} does not accept it")
    assert not problems, "\n".join(problems)


def test_the_pattern_options_are_taken_by_every_command_that_reads_patterns():
    readers = [c for c in COMMANDS if reads_pattern_files(c)]
    assert {"convert", "humanize", "send"} <= set(readers)
    for command in readers:
        assert {"--channel", "--any-meter"} <= accepted(command), command


@pytest.mark.parametrize("command", ["convert", "humanize", "drumify", "send"])
def test_suggestions_printed_by_running_the_commands(command, tmp_path, capsys):
    waltz = midi_file(tmp_path / "waltz.mid", [(0, 36, 90)], sig=(3, 4))
    channel1 = midi_file(tmp_path / "ch1.mid", [(0, 36, 90)], channel=0)
    for source in (waltz, channel1):
        if command == "send":
            argv = ["send", "/humanize", "--pattern", str(source), "--timeout", "0.05"]
        elif command == "convert":
            argv = ["convert", str(source), str(tmp_path / "out.json")]
        else:
            argv = [command, str(source), "--out", str(tmp_path / "out.json")]
        assert main(argv) == 3
        err = capsys.readouterr().err
        options = OPTION.findall(err)
        assert options and set(options) <= accepted(command), err
