"""The one progress helper every long command calls: `for x in progress(items, "reading"): ...`.

The bar is tqdm's (rate, time left, terminal width handled), drawn on stderr only when stderr is a
terminal, and not at all with `--quiet` (every command takes it: `set_quiet`) or PDBRIDGE_QUIET=1,
so logs, pipes and tests stay clean. Work that ends within half a second draws nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

SHOW_AFTER = 0.5  # seconds: a bar appears only for work that takes longer

_quiet = os.environ.get("PDBRIDGE_QUIET", "") not in ("", "0")


def set_quiet(quiet: bool) -> None:
    """No bars from now on (`--quiet`), or bars again where stderr is a terminal."""
    global _quiet
    _quiet = bool(quiet)


def showing(enabled: bool = True) -> bool:
    """Would `progress` draw a bar now?"""
    return enabled and not _quiet and sys.stderr.isatty()


def progress(
    items: Iterable[T],
    label: str,
    total: int | None = None,
    enabled: bool = True,
    unit: str = "it",
) -> Iterator[T]:
    """Yield from `items`, with a bar `label: 40%|####      | 12/30 [00:03<00:04, 3.9it/s]`."""
    if not showing(enabled):
        yield from items
        return
    from tqdm import tqdm  # imported only when a bar is drawn

    with tqdm(
        items,
        desc=label,
        total=total,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.1,
        delay=SHOW_AFTER,
    ) as bar:
        yield from bar
