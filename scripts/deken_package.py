"""Build a deken-ready archive of the Pd patches: `pdbridge[v0.1.0].dek` (a zip holding the folder
`pdbridge/`: abstractions, help patches, the performance patch, lab/ and pdbridge-meta.pd) and its
`.sha256`. The patches contain no compiled externals, so the name carries no architecture.

    .venv/bin/python scripts/deken_package.py            # into dist/
    .venv/bin/python scripts/deken_package.py --out DIR

The folder is made by `pdbridge patches --copy` (the installed package's patches), so the archive
holds exactly what a user of the wheel gets. Upload it with deken (`deken upload FILE.dek`).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import zipfile
from pathlib import Path

from pdbridge import __version__
from pdbridge.cli.patches import PACKAGE_NAME, copy_patches


def deken_name(version: str = __version__) -> str:
    return f"{PACKAGE_NAME}[v{version}].dek"


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / deken_name()
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_patches(Path(tmp))
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    z.write(path, Path(PACKAGE_NAME) / path.relative_to(folder))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    archive.with_name(archive.name + ".sha256").write_text(f"{digest}  {archive.name}\n")
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("dist"), help="folder (default dist/)")
    args = parser.parse_args(argv)
    archive = build(args.out)
    with zipfile.ZipFile(archive) as z:
        count = sum(1 for n in z.namelist() if n.endswith(".pd"))
    print(f"{archive}: {count} patches, {archive.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
