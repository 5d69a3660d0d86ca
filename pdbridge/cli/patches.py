"""`pdbridge patches`: where the installed Pd patches are, and a copy of them as a Pd package.

`pdbridge patches --copy DIR` makes DIR/pdbridge: the abstractions with their help patches, the
performance patch pdbridge.pd, lab/ and pdbridge-meta.pd (the deken layout). Put DIR on Pd's
search path, or use a folder Pd searches already (README: ~/Documents/Pd/externals).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pdbridge.cli.options import writable_dir
from pdbridge.core import places
from pdbridge.core.errors import BadInputError

PACKAGE_NAME = "pdbridge"  # the folder's name: Pd and deken know a library by it
META = "pdbridge-meta.pd"
NOT_PD = shutil.ignore_patterns("__init__.py", "__pycache__", "*.pyc")


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument(
        "--copy",
        type=writable_dir,
        metavar="DIR",
        help="copy the patches into DIR/pdbridge (e.g. ~/Documents/Pd/externals)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing DIR/pdbridge made by this command"
    )


def copy_patches(dest_parent: Path, force: bool = False) -> Path:
    """Copy the installed patches to `dest_parent/pdbridge`; the new folder."""
    source = places.package_patches()
    dest = Path(dest_parent).expanduser() / PACKAGE_NAME
    if dest.exists():
        if not force:
            raise BadInputError(f"{dest} exists; add --force to replace it")
        if not (dest / META).exists():  # never delete a folder this command did not make
            raise BadInputError(f"{dest} exists and is not a pdbridge patch folder; not replaced")
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, dest, ignore=NOT_PD)
    return dest


def run(args: argparse.Namespace) -> int:
    if args.copy is None:
        print(places.package_patches())
        return 0
    dest = copy_patches(args.copy, args.force)
    count = len(list(dest.rglob("*.pd")))
    print(f"{dest}: {count} patches; open {dest / 'pdbridge.pd'} to play")
    return 0
