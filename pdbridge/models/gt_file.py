"""Reading a course Groove Transformer checkpoint file (`.pth`) safely.

A course checkpoint is a dict {"model_state_dict", "params", "additional_info"} written with
`torch.save`. We read it with `torch.load(..., weights_only=True)` only: plain data and tensors,
so no code from the file ever runs. What we refuse, each with a one-line reason and its own exit
code (`pdbridge.core.errors.ExitCode`):

    a full pickle (the course's older `.model` files are pickled nn.Modules)  UnsafeModelError  8
    a truncated or corrupt file                                               ModelCorruptError 6
    a dict of another layout (keys, params or shapes fit neither model)       ModelLayoutError  4
    no such file                                                              ModelMissingError 5
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from pdbridge.core.errors import (
    ModelCorruptError,
    ModelLayoutError,
    ModelMissingError,
    UnsafeModelError,
)
from pdbridge.models.groove_transformer import (
    DensityVAE,
    GrooveTransformer,
    GTConfig,
    Kind,
    from_state_dict,
)


def _first_line(e: BaseException) -> str:
    """The first sentence of an exception's message, short enough for a one-line reason."""
    text = str(e).strip()
    return text.splitlines()[0].split(". ")[0][:120] if text else type(e).__name__


def read_gt_checkpoint(
    path: str | Path,
) -> tuple[Kind, GTConfig, GrooveTransformer | DensityVAE]:
    """(kind, config, model in eval mode) of a course checkpoint; kind is "mgt" or "density_vae".

    Raises a `ModelError` subclass whose one-line message names the file and what is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise ModelMissingError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise ModelMissingError(f"{path}: is a folder, not a checkpoint file")
    try:
        # map_location: the course's VAE files hold CUDA tensors
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch words it "Unsupported global: GLOBAL x.Y was not an allowed global" or, for a
        # blocked module such as os, "Trying to load unsupported GLOBAL posix.mkdir whose ..."
        found = re.search(r"unsupported (?:global: )?GLOBAL ([\w.]+)", str(e), re.IGNORECASE)
        if found:  # the unpickler stopped at a Python object: loading it would run its code
            raise UnsafeModelError(
                f"{path}: refused: a full pickle holding a Python object ({found.group(1)}); "
                "pdbridge reads checkpoints of plain data and tensors only (save "
                "{'model_state_dict': model.state_dict(), 'params': ...} instead)"
            ) from None
        raise ModelCorruptError(
            f"{path}: not a readable checkpoint (truncated or corrupt? {_first_line(e)})"
        ) from None
    except Exception as e:  # torch raises many types for a damaged file; all mean the same
        raise ModelCorruptError(
            f"{path}: not a readable checkpoint (truncated or corrupt? {_first_line(e)})"
        ) from None

    if not isinstance(data, dict):
        raise ModelLayoutError(
            f"{path}: not a Groove Transformer checkpoint (holds a {type(data).__name__}, "
            "not a dict with 'model_state_dict' and 'params')"
        )
    if "format" in data and "state_dict" in data:
        raise ModelLayoutError(
            f"{path}: a pdbridge checkpoint, not a Groove Transformer one (load it as a model)"
        )
    absent = [k for k in ("model_state_dict", "params") if k not in data]
    if absent:
        keys = ", ".join(map(repr, list(data)[:6])) or "none"
        raise ModelLayoutError(
            f"{path}: not a Groove Transformer checkpoint (no {' or '.join(map(repr, absent))}; "
            f"keys: {keys})"
        )
    try:
        return from_state_dict(data["model_state_dict"], data["params"])
    except ModelLayoutError as e:
        raise ModelLayoutError(f"{path}: {e}") from None
