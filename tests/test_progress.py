"""The one progress helper: tqdm's bar on a terminal, nothing off one or with --quiet."""

from __future__ import annotations

import io
import sys

import pytest

from pdbridge.core import progress as progress_module
from pdbridge.core.progress import progress, set_quiet


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """A terminal as stderr. Set inside the test: pytest swaps sys.stderr between phases."""
    monkeypatch.setattr(progress_module, "SHOW_AFTER", 0)

    def attach() -> Terminal:
        term = Terminal()
        monkeypatch.setattr(sys, "stderr", term)
        return term

    yield attach
    set_quiet(False)


def test_a_terminal_gets_a_bar(terminal):
    term = terminal()
    assert list(progress(range(5), "reading")) == list(range(5))
    assert "reading" in term.getvalue() and "5/5" in term.getvalue()


def test_quiet_draws_nothing(terminal):
    term = terminal()
    set_quiet(True)
    assert list(progress(range(5), "reading")) == list(range(5))
    assert term.getvalue() == ""


def test_not_a_terminal_draws_nothing(monkeypatch):
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    assert list(progress(iter(range(3)), "reading")) == [0, 1, 2]
    assert plain.getvalue() == ""


def test_every_command_takes_quiet():
    from pdbridge.cli import COMMANDS, command_parser

    for name in COMMANDS:
        assert "--quiet" in command_parser(name)._option_string_actions, name
