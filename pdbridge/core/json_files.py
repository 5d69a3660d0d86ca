"""Reading a JSON file within the limits (`pdbridge.core.limits`): its size is checked before it
is read, and its nesting as it is parsed (Python's parser recurses once per level and stops
with RecursionError near 1000 levels) and after (`MAX_JSON_DEPTH`), so no file can make pdbridge
allocate without bound or overflow the stack."""

from __future__ import annotations

import json
from pathlib import Path

from pdbridge.core import limits
from pdbridge.core.errors import BadInputError


def nesting_depth(value: object, stop: int = limits.MAX_JSON_DEPTH + 1) -> int:
    """How deep lists and dicts nest in a parsed JSON value (counting stops at `stop`)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if deepest >= stop:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            todo.extend((c, depth + 1) for c in children if isinstance(c, (list, dict)))
    return deepest


def read_json(path: str | Path, max_bytes: int = limits.MAX_JSON_BYTES) -> object:
    """The parsed content of a JSON file, or `BadInputError` naming the file and the problem."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise BadInputError(f"{path}: not a file")
        if size > max_bytes:
            raise BadInputError(f"{path}: {size:,} bytes; a JSON file may have at most {max_bytes:,}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file") from None
    except OSError as e:
        raise BadInputError(f"{path}: cannot read ({e.strerror})") from None
    too_deep = BadInputError(f"{path}: JSON nested too deep (at most {limits.MAX_JSON_DEPTH} levels)")
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise too_deep from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, an integer of 5000 digits
        why = " ".join(str(e).split())[:200]
        raise BadInputError(f"{path}: not valid JSON ({why})") from None
    if nesting_depth(value) > limits.MAX_JSON_DEPTH:
        raise too_deep
    return value
