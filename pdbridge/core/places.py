"""Where pdbridge's files are: what the package ships, and the user's own folders.

Shipped with the package, found through `importlib.resources` (a wheel, pipx, or the editable
install of a checkout, where setup.py maps the repository's folders into the package):

    package_models()   pdbridge.shipped_models  = models/ of the repository (default set, index.json)
    package_patches()  pdbridge.patches         = patches/ (abstractions, help, performance, lab/)
    protocol_doc()     pdbridge.docs/protocol.md = docs/protocol.md

The user's folders follow each platform's convention (platformdirs), each overridable by an
environment variable (and the commands' options):

    user_models_dir()  PDBRIDGE_MODELS_DIR  your checkpoints: `/load NAME`, `pdbridge train --export`
                       Linux ~/.local/share/pdbridge/models, macOS ~/Library/Application Support/
                       pdbridge/models, Windows %LOCALAPPDATA%\\pdbridge\\models
    export_dir()       PDBRIDGE_EXPORT_DIR  where `/export` writes MIDI files
                       ~/Music/pdbridge (the platform's music folder)
    cache_dir()        PDBRIDGE_CACHE       the dataset cache (~/.cache/pdbridge on Linux)

`PDBRIDGE_MODELS` (a folder that replaces the shipped models) is for tests and experiments.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

APP = "pdbridge"
MODELS_PACKAGE = "pdbridge.shipped_models"
PATCHES_PACKAGE = "pdbridge.patches"
DOCS_PACKAGE = "pdbridge.docs"


def _package_folder(package: str) -> Path:
    """The folder of a data package: a real folder in a wheel's install and in a checkout."""
    return Path(str(resources.files(package)))


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def package_models() -> Path:
    """The shipped models (`$PDBRIDGE_MODELS` replaces them)."""
    return _env_path("PDBRIDGE_MODELS") or _package_folder(MODELS_PACKAGE)


def package_patches() -> Path:
    """The installed Pd patches: abstractions, help patches, performance patch, lab/."""
    return _package_folder(PATCHES_PACKAGE)


def protocol_doc() -> Path:
    return _package_folder(DOCS_PACKAGE) / "protocol.md"


def user_models_dir() -> Path:
    """Your models: `$PDBRIDGE_MODELS_DIR`, else the platform's per-user data folder."""
    return _env_path("PDBRIDGE_MODELS_DIR") or Path(
        platformdirs.user_data_dir(APP, appauthor=False)
    ) / "models"


def export_dir() -> Path:
    """Where `/export` writes: `$PDBRIDGE_EXPORT_DIR`, else the platform's music folder."""
    return _env_path("PDBRIDGE_EXPORT_DIR") or Path(platformdirs.user_music_dir()) / APP


def cache_dir() -> Path:
    """The dataset cache: `$PDBRIDGE_CACHE`, else the platform's per-user cache folder."""
    return _env_path("PDBRIDGE_CACHE") or Path(platformdirs.user_cache_dir(APP, appauthor=False))


def all_places() -> dict[str, Path]:
    """Every folder by name, for `pdbridge paths`."""
    return {
        "package models": package_models(),
        "user models": user_models_dir(),
        "exports": export_dir(),
        "patches": package_patches(),
        "protocol": protocol_doc(),
        "dataset cache": cache_dir(),
    }


__all__ = [
    "all_places",
    "cache_dir",
    "export_dir",
    "package_models",
    "package_patches",
    "protocol_doc",
    "user_models_dir",
]
