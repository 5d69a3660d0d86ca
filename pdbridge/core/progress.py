"""A small progress bar on stderr (no dependency): `for x in progress(items, "reading"): ...`."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(
    items: Iterable[T], label: str, total: int | None = None, enabled: bool = True
) -> Iterator[T]:
    """Yield from `items`, redrawing `label [#####     ] 12/40 3.1s` at most 10 times a second.

    Draws only when stderr is a terminal, so logs and tests stay clean.
    """
    if total is None:
        total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
    show = enabled and sys.stderr.isatty()
    start = last = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if show and (now - last > 0.1 or done == total):
            last = now
            if total:
                filled = int(30 * done / total)
                bar = "#" * filled + " " * (30 - filled)
                sys.stderr.write(f"\r{label} [{bar}] {done}/{total} {now - start:.1f}s")
            else:
                sys.stderr.write(f"\r{label} {done} {now - start:.1f}s")
            sys.stderr.flush()
    if show:
        sys.stderr.write("\n")
