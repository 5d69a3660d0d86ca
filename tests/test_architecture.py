"""docs/architecture.md names every module of the package, and the layers it describes are the
folders that exist (the import contract itself is checked by `lint-imports`)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_every_module_is_named_in_the_architecture_doc():
    doc = (REPO / "docs" / "architecture.md").read_text()
    missing = []
    for path in sorted((REPO / "pdbridge").rglob("*.py")):
        rel = path.relative_to(REPO / "pdbridge")
        if rel.name == "__main__.py" or (rel.name == "__init__.py" and rel.parent.name != "cli"):
            continue
        if str(rel) not in doc and f"{rel.name}`" not in doc:
            missing.append(str(rel))
    assert not missing, f"docs/architecture.md does not name: {', '.join(missing)}"


def test_the_layer_contract_covers_every_subpackage():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = config["contracts"][0]["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    packages = {f"pdbridge.{p.parent.name}" for p in (REPO / "pdbridge").glob("*/__init__.py")}
    assert packages == named
