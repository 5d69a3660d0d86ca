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
from pdbridge.core.limits import MAX_NAME, MAX_NAME_PART_BYTES


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
        raise PathRefused(f"a file name must be 1..{MAX_NAME} characters without NUL")
    if requested.endswith(("/", os.sep)):
        raise PathRefused(f"{requested}: a folder, not a file name")
    name = requested
    last = Path(name).name
    if suffixes and last.lower() in suffixes:  # ".mid" alone is a hidden file, not a name
        raise PathRefused(f"{requested}: the file needs a name before {last}")
    if suffixes and Path(name).suffix.lower() not in suffixes:
        if Path(name).suffix:
            raise PathRefused(f"{requested}: the file must end in {' or '.join(suffixes)}")
        name += suffixes[0]
    # Room for the temporary name a writer uses first (".NAME.PID.THREAD.tmp") in 255 bytes.
    if not Path(name).name or len(os.fsencode(Path(name).name)) > MAX_NAME_PART_BYTES:
        raise PathRefused(
            f"{requested[:40]}...: a file name's last part may have at most "
            f"{MAX_NAME_PART_BYTES} bytes"
            if len(requested) > 40
            else f"{requested}: not a file name"
        )
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
