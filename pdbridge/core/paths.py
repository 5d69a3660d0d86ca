"""Confine a file name that came over the network to the folders the server was given.

A request may name a file (`/load mine.pt`, `/export beat.mid`). Whatever it says, the file the
server touches must lie inside one of its allowed folders (`--models-dir`, `--export-dir`):

- the name is taken relative to each folder in turn (an absolute name must already lie inside
  one of them);
- the path is resolved with every symlink followed and every `..` applied, and the result must
  still lie inside that folder's own resolved path, so `../x`, `/etc/passwd` and a symlink
  pointing out are all refused;
- names with NUL bytes, empty names and names of the wrong kind (suffix) are refused.

One implementation, used for both model loading and MIDI export.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pdbridge.core.errors import BadInputError

MAX_NAME = 255  # characters; a request's file name is short


class PathRefused(BadInputError):
    """A requested file outside the allowed folders, or a name that cannot be a file."""


def _inside(path: Path, folder: Path) -> bool:
    return folder in path.parents


def confine(
    requested: str,
    folders: Sequence[str | Path],
    suffixes: Sequence[str] = (),
    must_exist: bool = True,
) -> Path:
    """The resolved path `requested` names inside one of `folders`, or `PathRefused`.

    `suffixes`: allowed file suffixes (the first is added when the name has none).
    `must_exist`: look for an existing file (loading); else the first folder that contains the
    path is the one (writing).
    """
    if not requested or len(requested) > MAX_NAME or "\0" in requested:
        raise PathRefused("a file name must be 1..255 characters without NUL")
    name = requested
    if suffixes and Path(name).suffix.lower() not in suffixes:
        if Path(name).suffix:
            raise PathRefused(f"{requested}: the file must end in {' or '.join(suffixes)}")
        name += suffixes[0]
    roots = [Path(os.path.realpath(os.path.expanduser(str(f)))) for f in folders]
    if not roots:
        raise PathRefused("no folder is allowed for this request")
    inside_any = False
    for root in roots:
        path = Path(os.path.realpath(root / name))  # an absolute `name` replaces `root` here
        if not _inside(path, root):
            continue
        inside_any = True
        if not must_exist or path.is_file():
            return path
    where = " ".join(str(r) for r in roots)
    if not inside_any:
        raise PathRefused(f"{requested}: refused: outside the allowed folders ({where})")
    raise PathRefused(f"{requested}: no such file in {where}")


__all__ = ["PathRefused", "confine"]
