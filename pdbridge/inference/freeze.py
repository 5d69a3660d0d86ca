"""Running a model fast: a VAE's encoder and decoder (with the hit drawing), or a direct model's
forward pass with the hit drawing, frozen into TorchScript graphs where the class allows it,
each checked against the model once."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch

from pdbridge.core.pattern import NUM_VOICES
from pdbridge.inference.checkpoint import Checkpoint
from pdbridge.inference.hits import assemble, assemble_spread
from pdbridge.models.tasks import input_features


class _Method(torch.nn.Module):
    """One method of a model as a module's forward, so that TorchScript can trace it."""

    def __init__(self, model: torch.nn.Module, method: str):
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, x: torch.Tensor):
        return getattr(self.model, self.method)(x)


class _Pattern(torch.nn.Module):
    """A VAE's decoder and the hit drawing after it, as one module: (B, z), noise (B, steps, 9),
    bias (B, 1, 9) -> patterns (B, steps, 27). Frozen together, the drawing costs a few graph
    nodes instead of a dozen numpy calls (conv_vae decode 235 -> 190 us)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor, noise: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return assemble(*self.model.decode(z), noise, bias)


def inference_fns(ckpt: Checkpoint) -> tuple[Callable, Callable]:
    """A VAE's (encode, pattern) (see `_Pattern`), frozen with TorchScript at batch 1 when its
    class says it may be (`traceable = True`: no Python control flow on values). Freezing removes
    the Python between the layers: conv_vae decode 360 -> 270 us. The frozen graphs are checked
    against the model once; anything else runs the model's own code."""
    model = ckpt.model
    plain = model.encode, _Pattern(model).eval()
    if not getattr(model, "traceable", False):
        return plain
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, ckpt.steps, input_features(ckpt.task), generator=g)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about the batch size: it is always 1
        z = model.encode(x)[0]
        args = (
            z,
            torch.randn(1, ckpt.steps, NUM_VOICES, generator=g),
            torch.zeros(1, 1, NUM_VOICES),
        )
        frozen = []
        for module, example in ((_Method(model, "encode"), (x,)), (plain[1], args)):
            graph = _frozen(module, example)
            if graph is None:
                return plain
            frozen.append(graph)
    return frozen[0], frozen[1]


def _frozen(module: torch.nn.Module, example: tuple) -> Callable | None:
    """`module` traced on `example` and frozen, or None if the graph does not give what the
    module gives. Call under no_grad."""
    # check_trace=False: the comparison below is the check. torch's own imports
    # torch.testing and with it torch.distributed and sympy: 0.9 s and 30+ MB at the
    # first freeze, with the GIL held long enough to stall requests for ~100s of ms.
    graph = torch.jit.freeze(torch.jit.trace(module.eval(), example, check_trace=False))
    want, got = module(*example), graph(*example)
    want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
    if not all(torch.allclose(a, b, atol=1e-5) for a, b in zip(want, got, strict=True)):
        return None
    return graph


class VaeFns(NamedTuple):
    """How the engine runs one VAE: (B, steps, 27) -> mu, logvar; `_Pattern`'s forward."""

    encode: Callable
    pattern: Callable
    batches: bool  # pattern gives each row of a batch what it gives the row alone


def vae_fns(ckpt: Checkpoint, frozen: bool) -> VaeFns:
    encode, pattern = inference_fns(ckpt) if frozen else (ckpt.model.encode, _Pattern(ckpt.model))
    return VaeFns(encode, pattern, decodes_batches(pattern, ckpt.z_dim, ckpt.steps))


def decodes_batches(pattern: Callable, z_dim: int, steps: int) -> bool:
    """Does `pattern` (maybe a graph traced at batch 1) give each row of a batch what it gives
    that row alone? Checked once per model, so `decode_many` never returns a wrong pattern."""
    g = torch.Generator().manual_seed(1)
    z = torch.randn(3, z_dim, generator=g)
    noise = torch.randn(3, steps, NUM_VOICES, generator=g)
    bias = torch.randn(3, 1, NUM_VOICES, generator=g)
    try:
        with torch.inference_mode():
            together = pattern(z, noise, bias)
            alone = [pattern(z[i : i + 1], noise[i : i + 1], bias[i : i + 1]) for i in range(3)]
    except Exception:  # noqa: BLE001 - a graph that cannot take a batch simply is not batched
        return False
    return all(torch.allclose(together[i], alone[i][0], atol=1e-5) for i in range(3))


class _Direct(torch.nn.Module):
    """A direct model (kind "direct": the whole input pattern -> the whole output, no latent)
    and the hit drawing after it: x (B, steps, features), noise (B, steps, 9), bias (B, 1, 9)
    and spread noise (B, steps, 18) -> patterns (B, steps, 27). A model with a scale per
    velocity and offset (`spread = True`: `forward_spread`) draws them with the spread noise
    (`assemble_spread`); any other ignores it."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.spread = bool(getattr(model, "spread", False))

    def forward(
        self, x: torch.Tensor, noise: torch.Tensor, bias: torch.Tensor, spread: torch.Tensor
    ) -> torch.Tensor:
        if self.spread:
            return assemble_spread(*self.model.forward_spread(x), noise, bias, spread)
        return assemble(*self.model(x), noise, bias)


def direct_fn(ckpt: Checkpoint, frozen: bool) -> Callable:
    """How the engine runs a direct model: `_Direct`'s forward, frozen with TorchScript at batch
    1 when the class allows it (`traceable`) and the graph gives what the model gives."""
    plain = _Direct(ckpt.model).eval()
    if not frozen or not getattr(ckpt.model, "traceable", False):
        return plain
    g = torch.Generator().manual_seed(0)
    example = (
        torch.rand(1, ckpt.steps, input_features(ckpt.task), generator=g),
        torch.randn(1, ckpt.steps, NUM_VOICES, generator=g),
        torch.zeros(1, 1, NUM_VOICES),
        torch.randn(1, ckpt.steps, 2 * NUM_VOICES, generator=g),
    )
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about the batch size: it is always 1
        graph = _frozen(plain, example)
    return plain if graph is None else graph
