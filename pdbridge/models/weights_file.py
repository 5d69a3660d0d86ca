"""Reading a torch file without running code from it: the one place pdbridge calls `torch.load`
on a file (our checkpoints, the course's Groove Transformer files). Each way a file can be wrong
is its own error, and its own exit code: missing (5), corrupt or truncated (6), a pickled Python
object, whose loading would run code (8)."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from pdbridge.core.errors import ModelCorruptError, ModelMissingError, UnsafeModelError


def pickled_global(e: pickle.UnpicklingError) -> str | None:
    """The Python object (module.name) at which torch's weights-only unpickler stopped, if that
    is why it failed. Torch words it "Unsupported global: GLOBAL x.Y was not an allowed global",
    or, for a blocked module such as os, "Trying to load unsupported GLOBAL posix.mkdir whose
    module posix is blocked"; both mean a file whose loading would run code."""
    found = re.search(r"unsupported (?:global: )?GLOBAL ([\w.]+)", str(e), re.IGNORECASE)
    return found.group(1) if found else None


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0].split(". ")[0][:120] if text else type(e).__name__


def load_weights_only(path: str | Path, unsafe_hint: str = "") -> object:
    """What `path` holds (plain data and tensors, on the CPU: the course's VAE files hold CUDA
    tensors), or the `ModelError` that says in one line why not. `unsafe_hint` is added to the
    message for a pickled object (what to save instead)."""
    path = Path(path)
    if not path.exists():
        raise ModelMissingError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise ModelMissingError(f"{path}: is a folder, not a checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = pickled_global(e)
        if found:  # the unpickler stopped at a Python object: loading it would run its code
            raise UnsafeModelError(
                f"{path}: refused: holds a Python object ({found}), a full pickle; pdbridge reads "
                f"checkpoints of plain data and tensors only{unsafe_hint}"
            ) from None
        raise ModelCorruptError(
            f"{path}: not a readable checkpoint (truncated or corrupt? {_first_line(e)})"
        ) from None
    except Exception as e:  # torch raises many types for a damaged file; all mean the same
        raise ModelCorruptError(
            f"{path}: not a readable checkpoint (truncated or corrupt? {_first_line(e)})"
        ) from None
