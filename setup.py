"""Build hook: the repository's models/, patches/ and docs/protocol.md ship inside the package.

The folders stay where they are in a checkout (`pd patches/pdbridge.pd`, `models/`); setuptools
maps them into the package at build time (`package_dir`), so both a wheel and the editable install
have them as `pdbridge.shipped_models`, `pdbridge.patches` and `pdbridge.docs`, found through
`importlib.resources` (`pdbridge.core.places`). Everything else is in pyproject.toml.

Only the models models/index.json names ship (its aliases, `default` first), with their cards and
training recipes (`<name>.train.json`, `<name>.card.*`): an experiment left in models/ does not
make the wheel heavier. The list is read when the wheel is built, so a retrained default set
ships as it is then.
"""

from __future__ import annotations

import json
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MAPPED = {  # package -> folder of the repository
    "pdbridge.shipped_models": "models",
    "pdbridge.patches": "patches",
    "pdbridge.docs": "docs",
}
PACKAGE_DATA = {
    "pdbridge.shipped_models": ["index.json", "*.pt", "*.train.json", "*.card.*"],
    "pdbridge.patches": ["*.pd", "*.txt", "*.md", "lab/*.pd", "lab/*.txt"],
    "pdbridge.docs": ["protocol.md"],
}


def indexed_models(models: Path) -> set[str] | None:
    """Names of the models models/index.json's aliases list (None: no index, ship all)."""
    index = models / "index.json"
    if not index.exists():
        return None
    aliases = json.loads(index.read_text())["aliases"]
    return {n for v in aliases.values() for n in ([v] if isinstance(v, str) else v)}


class BuildPy(build_py):
    """build_py that ships only the indexed models of models/."""

    def find_data_files(self, package: str, src_dir: str) -> list[str]:
        files = super().find_data_files(package, src_dir)
        if package != "pdbridge.shipped_models":
            return files
        names = indexed_models(Path(src_dir))
        if names is None:
            return files
        keep = [f for f in files if Path(f).name.split(".")[0] in names | {"index", "__init__"}]
        missing = sorted(n for n in names if not (Path(src_dir) / f"{n}.pt").exists())
        if missing:
            raise SystemExit(f"models/index.json names models not in models/: {', '.join(missing)}")
        return keep


setup(
    packages=[*find_packages(include=["pdbridge", "pdbridge.*"]), *MAPPED],
    package_dir={"": ".", **MAPPED},
    package_data=PACKAGE_DATA,
    include_package_data=False,
    cmdclass={"build_py": BuildPy},
)
