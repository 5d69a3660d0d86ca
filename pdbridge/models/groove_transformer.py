"""The course's Groove Transformer models, rebuilt in our own code so their weights load strictly.

Two architectures from the course repository (behzadhaki/GrooveTransformer), the reference being
`../shared/groove-transformer/README.md`:

    MGT, "Monotonic Groove Transformer" (drumify, no latent):
        groove (B, 32, 27) -> Linear + ReLU + sinusoidal positions -> N encoder layers + LayerNorm
        -> Linear(d, 27) -> hit logits, sigmoid velocities, 0.5 * tanh offsets

    Density VAE ("Density2D"; the density control is a 28th input feature on every step):
        encode: [groove, density] (B, 32, 28) -> same input layer and stack -> flatten step-major
                -> mu, logvar (B, 32)
        decode: z (B, 32) -> Linear to (B, 32, d_dec) -> N encoder layers + LayerNorm
                -> Linear(d_dec, 27) -> hit logits, sigmoid velocities, sigmoid - 0.5 offsets

The transformer layers are PyTorch's own `TransformerEncoderLayer` with its defaults (post-norm,
ReLU, no masks), as in the original. Attribute names are CamelCase on purpose: they spell the
original state-dict keys (`InputLayerEncoder.Linear.weight`, `Encoder.Encoder.layers.0...`), so
`load_state_dict(strict=True)` takes the course's files as they are.

The input builders (`groove_input`, `density_value`, `density_input`) follow the README's input
convention bit for bit: the fixtures check them against the original code's inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from pdbridge.core.errors import ModelLayoutError
from pdbridge.core.pattern import FEATURES

NUM_VOICES = 9
GROOVE_VOICE = 2  # the groove goes in the closed hi-hat channel
STEPS = 32  # every course checkpoint works on 2 bars of sixteenths

# Density normalisation: the smallest and largest hit counts over the course's training windows
# (README "Input convention"). Not clipped: a busier pattern gives a value above 1.
DENSITY_CELLS = 32 * NUM_VOICES  # 288
DENSITY_MIN_HITS = 1
DENSITY_MAX_HITS = 75

Kind = Literal["mgt", "density_vae"]


# ---------------------------------------------------------------------------- configs


@dataclass
class GrooveTransformerConfig:
    """The encoder-only Monotonic Groove Transformer. Field names are the checkpoint's `params`."""

    d_model: int = 128
    nhead: int = 1
    dim_feedforward: int = 16
    num_encoder_layers: int = 7
    dropout: float = 0.1  # training only
    steps: int = STEPS  # params "max_len"


@dataclass
class DensityVAEConfig:
    """The Density2D VAE. Field names are the checkpoint's `params` (`_enc`/`_dec` per half)."""

    d_model_enc: int = 64
    d_model_dec: int = 64
    nhead_enc: int = 8
    nhead_dec: int = 4
    dim_feedforward_enc: int = 64
    dim_feedforward_dec: int = 256
    num_encoder_layers: int = 2
    num_decoder_layers: int = 4
    latent_dim: int = 32
    o_activation: str = "sigmoid"  # offsets: "sigmoid" -> sigmoid(x) - 0.5, "tanh" -> 0.5 tanh(x)
    dropout: float = 0.2  # training only
    steps: int = STEPS  # params "max_len_enc" and "max_len_dec"

    @property
    def z_dim(self) -> int:
        """The latent size under the name the rest of pdbridge uses."""
        return self.latent_dim


GTConfig = GrooveTransformerConfig | DensityVAEConfig


# ---------------------------------------------------------------------------- building blocks


def sinusoidal_table(steps: int, d: int) -> torch.Tensor:
    """(1, steps, d): sine on even channels, cosine on odd ones, frequency base 10000."""
    pos = torch.arange(steps, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(steps, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: d // 2])
    return pe[None]


class PositionalEncoding(nn.Module):
    """Adds the position table. It is a buffer (saved with the weights, never trained)."""

    def __init__(self, d: int, steps: int, dropout: float):
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(steps, d))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe)  # (B, steps, d): inputs must be exactly `steps` long


class InputLayer(nn.Module):
    """(B, steps, in) -> (B, steps, d): Linear, ReLU, then positions (ReLU first, no sqrt(d))."""

    def __init__(self, features: int, d: int, steps: int, dropout: float):
        super().__init__()
        self.Linear = nn.Linear(features, d)
        self.PositionalEncoding = PositionalEncoding(d, steps, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.PositionalEncoding(torch.relu(self.Linear(x)))


class EncoderStack(nn.Module):
    """N post-norm self-attention layers (PyTorch defaults: ReLU, eps 1e-5), then one LayerNorm.

    The wrapper exists only for the key names: `<owner>.Encoder.layers.{i}...`, `<owner>.Encoder.norm`.
    """

    def __init__(self, d: int, heads: int, ff: int, layers: int, dropout: float):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout, batch_first=True)
        # enable_nested_tensor=False: there is no padding mask, and the nested path is untraceable
        self.Encoder = nn.TransformerEncoder(
            layer, layers, norm=nn.LayerNorm(d), enable_nested_tensor=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.Encoder(x)


class OutputLayer(nn.Module):
    """(B, steps, d) -> (B, steps, 27) raw values; the activations come after (`_heads`)."""

    def __init__(self, d: int):
        super().__init__()
        self.Linear = nn.Linear(d, FEATURES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.Linear(x)


def _heads(
    raw: torch.Tensor, tanh_offsets: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, steps, 27) raw -> hit logits, velocities in [0, 1], offsets in [-0.5, 0.5], each (B, steps, 9)."""
    logits, vel, off = raw.split(NUM_VOICES, dim=-1)
    off = 0.5 * torch.tanh(off) if tanh_offsets else torch.sigmoid(off) - 0.5
    return logits, torch.sigmoid(vel), off


# ---------------------------------------------------------------------------- models


class GrooveTransformer(nn.Module):
    """The Monotonic Groove Transformer: a tapped groove in, a full 9-voice beat out, in one pass."""

    traceable = True  # no Python control flow on values: the engine may freeze it

    def __init__(self, config: GrooveTransformerConfig):
        super().__init__()
        self.config = c = config
        self.InputLayerEncoder = InputLayer(FEATURES, c.d_model, c.steps, c.dropout)
        self.Encoder = EncoderStack(
            c.d_model, c.nhead, c.dim_feedforward, c.num_encoder_layers, c.dropout
        )
        self.OutputLayer = OutputLayer(c.d_model)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, 32, 27) groove (`groove_input`) -> hit logits, velocities, offsets, each (B, 32, 9).

        Offsets are 0.5 * tanh, as the MGT's own output layer does.
        """
        h = self.Encoder(self.InputLayerEncoder(x))
        return _heads(self.OutputLayer(h), tanh_offsets=True)


class LatentEncoder(nn.Module):
    """(B, steps * d_enc) -> mu, logvar (B, latent_dim)."""

    def __init__(self, flat: int, latent: int):
        super().__init__()
        self.fc_mu = nn.Linear(flat, latent)
        self.fc_var = nn.Linear(flat, latent)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.fc_mu(h), self.fc_var(h)


class DecoderInput(nn.Module):
    """z (B, latent) -> (B, steps, d_dec): one Linear, reshaped step-major. No position table."""

    def __init__(self, latent: int, steps: int, d: int):
        super().__init__()
        self.steps, self.d = steps, d
        self.updims = nn.Linear(latent, steps * d)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.updims(z).view(-1, self.steps, self.d)


class Decoder(nn.Module):
    """z (B, latent) -> (B, steps, 27) raw values."""

    def __init__(self, c: DensityVAEConfig):
        super().__init__()
        self.DecoderInput = DecoderInput(c.latent_dim, c.steps, c.d_model_dec)
        self.Decoder = EncoderStack(
            c.d_model_dec, c.nhead_dec, c.dim_feedforward_dec, c.num_decoder_layers, c.dropout
        )
        self.OutputLayer = OutputLayer(c.d_model_dec)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.OutputLayer(self.Decoder(self.DecoderInput(z)))


class DensityVAE(nn.Module):
    """The density-controlled VAE (the course's Density2D): encode a groove at a chosen density,
    decode any latent to a 9-voice beat."""

    traceable = True  # no Python control flow on values: the engine may freeze it

    def __init__(self, config: DensityVAEConfig):
        super().__init__()
        if config.o_activation not in ("sigmoid", "tanh"):
            raise ValueError(
                f"o_activation must be 'sigmoid' or 'tanh', not {config.o_activation!r}"
            )
        self.config = c = config
        self.InputLayerEncoder = InputLayer(FEATURES + 1, c.d_model_enc, c.steps, c.dropout)
        self.Encoder = EncoderStack(
            c.d_model_enc, c.nhead_enc, c.dim_feedforward_enc, c.num_encoder_layers, c.dropout
        )
        self.LatentEncoder = LatentEncoder(c.steps * c.d_model_enc, c.latent_dim)
        self.Decoder = Decoder(c)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 32, 28) groove + density (`density_input`) -> mu, logvar, each (B, latent_dim)."""
        h = self.Encoder(self.InputLayerEncoder(x))
        return self.LatentEncoder(h.flatten(1))  # step-major: index = step * d_enc + channel

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (B, latent_dim) -> hit logits, velocities, offsets, each (B, 32, 9)."""
        return _heads(self.Decoder(z), tanh_offsets=self.config.o_activation == "tanh")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Drumify at the posterior mean: x (B, 32, 28) -> decode(mu)."""
        return self.decode(self.encode(x)[0])


# ---------------------------------------------------------------------------- inputs


def groove_input(patterns: np.ndarray) -> np.ndarray:
    """(..., steps, 27) full patterns -> (..., steps, 27) monotonic groove, float32.

    Per step with at least one hit: closed hi-hat hit 1, the loudest hit's velocity and offset
    (ties go to the lower voice index); everything else 0. A step without hits is all zeros.
    """
    a = np.asarray(patterns, dtype=np.float32)
    hits = a[..., :NUM_VOICES] > 0
    vel = a[..., NUM_VOICES : 2 * NUM_VOICES]
    off = a[..., 2 * NUM_VOICES :]
    # argmax takes the first maximum: the lower voice index wins a tie
    loudest = np.argmax(np.where(hits, vel, -np.inf), axis=-1)[..., None]
    any_hit = hits.any(axis=-1)
    out = np.zeros_like(a)
    out[..., GROOVE_VOICE] = any_hit
    out[..., NUM_VOICES + GROOVE_VOICE] = np.where(
        any_hit, np.take_along_axis(vel, loudest, -1)[..., 0], 0.0
    )
    out[..., 2 * NUM_VOICES + GROOVE_VOICE] = np.where(
        any_hit, np.take_along_axis(off, loudest, -1)[..., 0], 0.0
    )
    return out


def count_hits(patterns: np.ndarray) -> np.ndarray:
    """(..., steps, 27) -> (...) number of hits over all voices and steps (int64)."""
    a = np.asarray(patterns)
    return (a[..., :NUM_VOICES] > 0).sum(axis=(-1, -2))


def density_value(hits_count: int | np.ndarray) -> np.ndarray:
    """Hit count of the wanted beat -> the density VAE's control value, (hits - 1) / 74, float32.

    Computed as the course code does: raw = hits / 288, normalised with the training-set range
    (1/288 .. 75/288), in float64, then cast to float32 (that order decides the last bit).
    """
    raw = np.asarray(hits_count, dtype=np.float64) / DENSITY_CELLS
    lo, hi = DENSITY_MIN_HITS / DENSITY_CELLS, DENSITY_MAX_HITS / DENSITY_CELLS
    return ((raw - lo) / (hi - lo)).astype(np.float32)


def density_input(groove: np.ndarray, density: float | np.ndarray) -> np.ndarray:
    """(..., steps, 27) groove and a density per pattern (scalar or (...)) -> (..., steps, 28)."""
    g = np.asarray(groove, dtype=np.float32)
    d = np.asarray(density, dtype=np.float32)
    column = np.broadcast_to(d[..., None, None], g.shape[:-1] + (1,))
    return np.concatenate([g, column], axis=-1)


# ---------------------------------------------------------------------------- recognition

_MGT_PARAMS = ("d_model", "nhead", "dim_feedforward", "num_encoder_layers", "max_len")
_VAE_PARAMS = (
    "d_model_enc", "d_model_dec", "nhead_enc", "nhead_dec", "dim_feedforward_enc",
    "dim_feedforward_dec", "num_encoder_layers", "num_decoder_layers", "latent_dim",
    "max_len_enc", "max_len_dec", "o_activation",
)  # fmt: skip
_MGT_KEYS = ("InputLayerEncoder.Linear.weight", "OutputLayer.Linear.weight")
_VAE_KEYS = (
    "InputLayerEncoder.Linear.weight",
    "LatentEncoder.fc_mu.weight",
    "Decoder.DecoderInput.updims.weight",
    "Decoder.OutputLayer.Linear.weight",
)


def _kind_from_params(params: Mapping[str, Any]) -> Kind | None:
    if "d_model_enc" in params or "latent_dim" in params:
        return "density_vae"
    if "d_model" in params:
        return "mgt"
    return None


def _kind_from_keys(state_dict: Mapping[str, Any]) -> Kind | None:
    if all(k in state_dict for k in _VAE_KEYS):
        return "density_vae"
    if all(k in state_dict for k in _MGT_KEYS) and not any(
        k.startswith("Decoder.") for k in state_dict
    ):
        return "mgt"
    return None


def recognise(state_dict: Mapping[str, Any], params: Mapping[str, Any]) -> Kind:
    """Which course architecture a checkpoint holds: "mgt" or "density_vae".

    Both the `params` names and the state-dict keys must agree; anything else raises
    `ModelLayoutError` with a one-line reason.
    """
    if not isinstance(params, Mapping):
        raise ModelLayoutError(f"'params' is a {type(params).__name__}, not a dict")
    if not isinstance(state_dict, Mapping):
        raise ModelLayoutError(f"'model_state_dict' is a {type(state_dict).__name__}, not a dict")
    by_params, by_keys = _kind_from_params(params), _kind_from_keys(state_dict)
    if by_keys is None:
        first = next(iter(state_dict), None)
        raise ModelLayoutError(
            "weights of another layout: neither a Monotonic Groove Transformer nor a density VAE "
            f"(first key {first!r})"
        )
    if by_params is None:
        raise ModelLayoutError(
            f"'params' names no known architecture (keys: {', '.join(map(str, params)) or 'none'})"
        )
    if by_params != by_keys:
        raise ModelLayoutError(f"'params' describe a {by_params} but the weights are a {by_keys}'s")
    if by_keys == "density_vae":
        # Density1D (a separate parameter token) and models with several controls differ here
        if params.get("n_params", 1) != 1 or params.get("add_params", False):
            raise ModelLayoutError(
                f"a density VAE variant with n_params={params.get('n_params')!r}, "
                f"add_params={params.get('add_params')!r}; only the Density2D layout "
                "(one density feature appended to the input) is supported"
            )
        width = _shape(state_dict, "InputLayerEncoder.Linear.weight")
        if len(width) != 2 or width[1] != FEATURES + 1:
            raise ModelLayoutError(
                f"density VAE input layer takes {width[1:] or '?'} features per step, "
                f"not {FEATURES + 1} (groove + density)"
            )
    return by_keys


def _shape(state_dict: Mapping[str, Any], key: str) -> tuple[int, ...]:
    value = state_dict.get(key)
    return tuple(value.shape) if isinstance(value, torch.Tensor) else ()


def _layer_count(state_dict: Mapping[str, Any], prefix: str) -> int:
    """How many `prefix.{i}.` layers the weights hold (indices 0..n-1)."""
    found = {
        int(k[len(prefix) + 1 :].split(".", 1)[0])
        for k in state_dict
        if k.startswith(prefix + ".") and k[len(prefix) + 1 :].split(".", 1)[0].isdigit()
    }
    return len(found)


def _int_param(params: Mapping[str, Any], name: str) -> int:
    if name not in params:
        raise ModelLayoutError(f"'params' lack {name!r}")
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ModelLayoutError(f"'params' {name!r} is {value!r}, not a positive integer")
    return value


def _float_param(params: Mapping[str, Any], name: str, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ModelLayoutError(f"'params' {name!r} is {value!r}, not a dropout rate in [0, 1)")
    return float(value)


def config_from_params(params: Mapping[str, Any], state_dict: Mapping[str, Any]) -> GTConfig:
    """The config of a course checkpoint, from its `params`, checked against its weights' sizes.

    Raises `ModelLayoutError` (one line) when a name is missing or params and weights disagree.
    """
    kind = recognise(state_dict, params)
    for name in ("embedding_size_src", "embedding_size_tgt"):
        if params.get(name, FEATURES) != FEATURES:
            raise ModelLayoutError(f"'params' {name!r} is {params[name]!r}, not {FEATURES}")
    c, widths, stacks = _mgt_config(params) if kind == "mgt" else _density_config(params)
    _check_sizes(state_dict, widths, stacks)
    return c


# (config, {state-dict key: the shape the params imply}, [(layer prefix, layers, width, heads)])
_Sized = tuple[GTConfig, dict[str, tuple[int, ...]], list[tuple[str, int, int, int]]]


def _mgt_config(params: Mapping[str, Any]) -> _Sized:
    c = GrooveTransformerConfig(
        d_model=_int_param(params, "d_model"),
        nhead=_int_param(params, "nhead"),
        dim_feedforward=_int_param(params, "dim_feedforward"),
        num_encoder_layers=_int_param(params, "num_encoder_layers"),
        dropout=_float_param(params, "dropout", 0.1),
        steps=_int_param(params, "max_len"),
    )
    widths = {"InputLayerEncoder.Linear.weight": (c.d_model, FEATURES)}
    stacks = [("Encoder.Encoder.layers", c.num_encoder_layers, c.d_model, c.nhead)]
    return c, widths, stacks


def _density_config(params: Mapping[str, Any]) -> _Sized:
    o_activation = params.get("o_activation")
    if o_activation not in ("sigmoid", "tanh"):
        raise ModelLayoutError(
            f"'params' 'o_activation' is {o_activation!r}, not 'sigmoid' or 'tanh'"
        )
    steps = _int_param(params, "max_len_enc")
    if _int_param(params, "max_len_dec") != steps:
        raise ModelLayoutError(
            f"'params' max_len_enc {steps} and max_len_dec {params['max_len_dec']} differ"
        )
    c = DensityVAEConfig(
        d_model_enc=_int_param(params, "d_model_enc"),
        d_model_dec=_int_param(params, "d_model_dec"),
        nhead_enc=_int_param(params, "nhead_enc"),
        nhead_dec=_int_param(params, "nhead_dec"),
        dim_feedforward_enc=_int_param(params, "dim_feedforward_enc"),
        dim_feedforward_dec=_int_param(params, "dim_feedforward_dec"),
        num_encoder_layers=_int_param(params, "num_encoder_layers"),
        num_decoder_layers=_int_param(params, "num_decoder_layers"),
        latent_dim=_int_param(params, "latent_dim"),
        o_activation=o_activation,
        dropout=_float_param(params, "dropout", 0.2),
        steps=steps,
    )
    widths = {
        "InputLayerEncoder.Linear.weight": (c.d_model_enc, FEATURES + 1),
        "LatentEncoder.fc_mu.weight": (c.latent_dim, c.steps * c.d_model_enc),
        "Decoder.DecoderInput.updims.weight": (c.steps * c.d_model_dec, c.latent_dim),
    }
    stacks = [
        ("Encoder.Encoder.layers", c.num_encoder_layers, c.d_model_enc, c.nhead_enc),
        ("Decoder.Decoder.Encoder.layers", c.num_decoder_layers, c.d_model_dec, c.nhead_dec),
    ]
    return c, widths, stacks


def _check_sizes(state_dict: Mapping[str, Any], widths: dict, stacks: list) -> None:
    """The weights have the shapes and layer counts the params say."""
    for key, want in widths.items():
        if _shape(state_dict, key) != want:
            raise ModelLayoutError(f"{key} has shape {_shape(state_dict, key)}, params say {want}")
    for prefix, layers, d, heads in stacks:
        if _layer_count(state_dict, prefix) != layers:
            raise ModelLayoutError(
                f"the weights hold {_layer_count(state_dict, prefix)} layers under {prefix}, "
                f"params say {layers}"
            )
        if d % heads:
            raise ModelLayoutError(f"{heads} attention heads do not divide d_model {d}")


def params_from_config(config: GTConfig) -> dict[str, Any]:
    """The `params` dict a course checkpoint of this config holds (the inverse of
    `config_from_params`), written as the course code writes it."""
    if isinstance(config, GrooveTransformerConfig):
        return {
            "d_model": config.d_model,
            "embedding_size_src": FEATURES,
            "embedding_size_tgt": FEATURES,
            "nhead": config.nhead,
            "dim_feedforward": config.dim_feedforward,
            "dropout": config.dropout,
            "max_len": config.steps,
            "num_encoder_layers": config.num_encoder_layers,
            "device": "cpu",
        }
    return {
        "d_model_enc": config.d_model_enc,
        "d_model_dec": config.d_model_dec,
        "embedding_size_src": FEATURES,
        "embedding_size_tgt": FEATURES,
        "nhead_enc": config.nhead_enc,
        "nhead_dec": config.nhead_dec,
        "dim_feedforward_enc": config.dim_feedforward_enc,
        "dim_feedforward_dec": config.dim_feedforward_dec,
        "num_encoder_layers": config.num_encoder_layers,
        "num_decoder_layers": config.num_decoder_layers,
        "dropout": config.dropout,
        "latent_dim": config.latent_dim,
        "max_len_enc": config.steps,
        "max_len_dec": config.steps,
        "device": "cpu",
        "o_activation": config.o_activation,
        "n_params": 1,
        "add_params": False,
    }


def build(config: GTConfig) -> GrooveTransformer | DensityVAE:
    """An untrained model of the config's architecture."""
    if isinstance(config, GrooveTransformerConfig):
        return GrooveTransformer(config)
    return DensityVAE(config)


def load_weights(model: nn.Module, state_dict: Mapping[str, Any]) -> None:
    """Strict load, with a one-line `ModelLayoutError` naming the first wrong key or shape
    (PyTorch's own message lists every key over many lines)."""
    want = model.state_dict()
    missing = [k for k in want if k not in state_dict]
    unexpected = [k for k in state_dict if k not in want]
    for names, what in ((missing, "missing"), (unexpected, "unexpected")):
        if names:
            more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            raise ModelLayoutError(f"{what} weight {names[0]!r}{more}")
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise ModelLayoutError(f"weight {key!r} is a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != tuple(want[key].shape):
            raise ModelLayoutError(
                f"weight {key!r} has shape {tuple(value.shape)}, "
                f"the architecture needs {tuple(want[key].shape)}"
            )
    model.load_state_dict(dict(state_dict), strict=True)


def from_state_dict(
    state_dict: Mapping[str, Any], params: Mapping[str, Any]
) -> tuple[Kind, GTConfig, GrooveTransformer | DensityVAE]:
    """Recognise, configure, build and strictly load a course model; returned in eval mode."""
    kind = recognise(state_dict, params)
    config = config_from_params(params, state_dict)
    model = build(config)
    load_weights(model, state_dict)
    return kind, config, model.eval()
