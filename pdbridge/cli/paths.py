"""`pdbridge paths`: where everything is (package models and patches, your models, exports, cache).

The folders are `pdbridge.core.places`; each of yours is set by an environment variable
(PDBRIDGE_MODELS_DIR, PDBRIDGE_EXPORT_DIR, PDBRIDGE_CACHE) or a command's option.
"""

from __future__ import annotations

import argparse
import json

from pdbridge import __version__
from pdbridge.core import places

NOTES = {
    "package models": "shipped with pdbridge (pdbridge models); PDBRIDGE_MODELS replaces them",
    "user models": "yours: /load NAME, pdbridge serve --model NAME, pdbridge train --export; "
    "PDBRIDGE_MODELS_DIR or serve --models-dir",
    "exports": "/export writes MIDI files here; PDBRIDGE_EXPORT_DIR or serve --export-dir",
    "patches": "the Pd patches; pdbridge patches --copy DIR puts them into DIR/pdbridge",
    "protocol": "the OSC protocol, the contract with every patch",
    "dataset cache": "pdbridge dataset / train / eval keep windows here; PDBRIDGE_CACHE",
}


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON object instead")


def run(args: argparse.Namespace) -> int:
    found = places.all_places()
    if args.json:
        print(json.dumps({k: str(v) for k, v in found.items()}, indent=2))
        return 0
    print(f"pdbridge {__version__}")
    width = max(map(len, found))
    for name, path in found.items():
        missing = "" if path.exists() else "  (not made yet)"
        print(f"  {name:<{width}}  {path}{missing}")
        print(f"  {'':<{width}}  {NOTES[name]}")
    return 0
