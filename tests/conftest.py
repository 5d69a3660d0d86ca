"""Shared test fixtures. The Groove MIDI Dataset sits at ../shared/data/groove beside the repo
(CI has it); PDBRIDGE_GROOVE points elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GROOVE = Path(os.environ.get("PDBRIDGE_GROOVE", REPO.parent / "shared" / "data" / "groove"))


@pytest.fixture(scope="session")
def groove_dir() -> Path:
    if not (GROOVE / "info.csv").exists():
        pytest.fail(f"Groove MIDI Dataset not found at {GROOVE} (set PDBRIDGE_GROOVE)")
    return GROOVE


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    # Tests never read or write the user's dataset cache; one cache per test session.
    monkeypatch.setenv("PDBRIDGE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def load_script(name: str):
    """A measurement script of scripts/ as a module (they are not part of the package)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
