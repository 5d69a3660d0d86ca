"""The named models: name -> (config dataclass, model class, kind, default task).

To add an architecture, write `pdbridge/models/<name>.py` (a config dataclass and an `nn.Module`
with the VAE or next-step interface of docs/architecture.md) and add one `ModelSpec` here.

- `kind` says which interface the model has: `"vae"` (encode/decode/loss over whole patterns),
  `"direct"` (forward: the whole input pattern -> the whole output, no latent) or `"next_step"`
  (forward over the last bar -> the next step).
- `task` is the model's default task, a record of `pdbridge.models.tasks` (what its input is,
  how its answer is used and judged); a training config may choose another task of its kind.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from torch import nn

from pdbridge.core.errors import ModelError
from pdbridge.models.conv_vae import ConvVAE, ConvVAEConfig
from pdbridge.models.feel_net import FeelNet, FeelNetConfig
from pdbridge.models.groovae import GrooVAE, GrooVAEConfig
from pdbridge.models.groove_transformer import (
    DensityVAE,
    DensityVAEConfig,
    GrooveTransformer,
    GrooveTransformerConfig,
)
from pdbridge.models.mlp_vae import MLPVAE, MLPVAEConfig
from pdbridge.models.next_step import NextStep, NextStepConfig
from pdbridge.models.transformer_vae import TransformerVAE, TransformerVAEConfig


@dataclass(frozen=True)
class ModelSpec:
    config_class: type
    model_class: type
    kind: str  # "vae", "direct" or "next_step"
    task: str  # default task; a training config may choose another one of the same kind
    trainable: bool = True  # False: imported from another project's files, not trained here


REGISTRY: dict[str, ModelSpec] = {
    "mlp_vae": ModelSpec(MLPVAEConfig, MLPVAE, kind="vae", task="vae"),
    "next_step": ModelSpec(NextStepConfig, NextStep, kind="next_step", task="next_step"),
    "groovae": ModelSpec(GrooVAEConfig, GrooVAE, kind="vae", task="vae"),
    "conv_vae": ModelSpec(ConvVAEConfig, ConvVAE, kind="vae", task="vae"),
    "transformer_vae": ModelSpec(TransformerVAEConfig, TransformerVAE, kind="vae", task="vae"),
    # issue 15: sees its task input directly, a distribution per velocity and offset
    "feel_net": ModelSpec(FeelNetConfig, FeelNet, kind="direct", task="feel_humanize"),
    # the course's models, imported from their files (`pdbridge import`), not trained here
    "groove_transformer": ModelSpec(
        GrooveTransformerConfig,
        GrooveTransformer,
        kind="direct",
        task="groove_drumify",
        trainable=False,
    ),
    "density_vae": ModelSpec(
        DensityVAEConfig, DensityVAE, kind="vae", task="density_drumify", trainable=False
    ),
}


def spec(name: str) -> ModelSpec:
    if name not in REGISTRY:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def config_from_dict(name: str, values: dict[str, Any]) -> Any:
    """The model's config dataclass from a plain dict (a checkpoint's or a JSON file's).

    Unknown fields are an error (a typo must not silently train the default); missing fields
    take their defaults; lists become tuples where the default is a tuple.
    """
    cls = spec(name).config_class
    renamed = getattr(cls, "RENAMED", {})  # a field's old name in older files
    values = {renamed.get(k, k): v for k, v in values.items()}
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ModelError(
            f"{name} config: unknown field(s) {', '.join(unknown)}; fields are {', '.join(known)}"
        )
    defaults = cls()
    kwargs = {}
    for key, value in values.items():
        if isinstance(getattr(defaults, key), tuple) and isinstance(value, list | tuple):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain types only (checkpoints are loaded with weights_only=True)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def build(name: str, config: Any) -> nn.Module:
    return spec(name).model_class(config)
