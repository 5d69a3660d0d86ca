"""The shape of the package, for the architecture docs: modules per subpackage, and the longest
functions and classes (lines). Run from the repository root: `python scripts/code_shape.py [DIR]`."""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path


def spans(root: Path) -> list[tuple[int, str, str]]:
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                kind = "class" if isinstance(node, ast.ClassDef) else "def"
                length = node.end_lineno - node.lineno + 1
                out.append((length, kind, f"{path.relative_to(root.parent)}:{node.name}"))
    return sorted(out, reverse=True)


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "pdbridge")
    modules = Counter(
        str(p.parent.relative_to(root.parent)) for p in root.rglob("*.py") if p.name != "__init__.py"
    )
    print("modules per package:", dict(sorted(modules.items())))
    found = spans(root)
    for kind in ("def", "class"):
        print(f"longest {kind}s:")
        for length, _, name in [s for s in found if s[1] == kind][:6]:
            print(f"  {length:4d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
