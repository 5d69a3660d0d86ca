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

from pathlib import Path

from pdbridge.core.errors import (
    ModelLayoutError,
)
from pdbridge.models.groove_transformer import (
    DensityVAE,
    GrooveTransformer,
    GTConfig,
    Kind,
    from_state_dict,
)
from pdbridge.models.weights_file import load_weights_only


def read_gt_checkpoint(
    path: str | Path,
) -> tuple[Kind, GTConfig, GrooveTransformer | DensityVAE]:
    """(kind, config, model in eval mode) of a course checkpoint; kind is "mgt" or "density_vae".

    Raises a `ModelError` subclass whose one-line message names the file and what is wrong.
    """
    path = Path(path)
    data = load_weights_only(
        path, " (save {'model_state_dict': model.state_dict(), 'params': ...} instead)"
    )
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
