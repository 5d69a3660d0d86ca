"""Would rewriting conv_vae's decoder as plainer layers make /decode faster? (issue 4's 5x)

The shipped decoder, frozen as the engine freezes it (`pdbridge.inference.engine._Pattern`), against the
same weights rewritten for batch-1 inference, also frozen:

- `from_z` and the first transposed convolution are both linear with nothing between them: one
  matrix (256 -> 48 x 16);
- the second transposed convolution (kernel 4, stride 2) as a kernel-3 convolution with twice
  the channels, one per output phase (even / odd step), interleaved by a reshape;
- the last 1x1 convolution as a matrix product on the steps-major activations.

It checks that both give the same patterns (1,000 random latents), then times them in 60
interleaved rounds on one thread. On 2026-12-02: 5 to 8 us saved of about 150 (3 to 5%), so
the engine keeps the model's own decoder: a second copy of its maths for that is not worth it.

    taskset -c 0 .venv/bin/python scripts/experiments/decoder_rewrite.py
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pdbridge.inference import checkpoint
from pdbridge.inference.engine import configure_torch
from pdbridge.inference.freeze import _Pattern
from pdbridge.inference.hits import assemble
from pdbridge.models.hvo import split_hvo


def fixed(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t.detach().clone().contiguous(), requires_grad=False)


def transposed_as_conv(ct: nn.ConvTranspose1d) -> tuple[torch.Tensor, torch.Tensor]:
    """ConvTranspose1d(k=4, stride=2, padding=1) as Conv1d(k=3, padding=1) with 2x the outputs:
    out[2s] = W1 x[s] + W3 x[s-1], out[2s+1] = W2 x[s] + W0 x[s+1]."""
    w = ct.weight.detach()  # (in, out, k)
    c_in, c_out, _ = w.shape
    k = torch.zeros(2, c_out, c_in, 3)  # phase, out, in, tap (previous, this, next step)
    k[0, :, :, 0], k[0, :, :, 1] = w[:, :, 3].t(), w[:, :, 1].t()
    k[1, :, :, 1], k[1, :, :, 2] = w[:, :, 2].t(), w[:, :, 0].t()
    return k.reshape(2 * c_out, c_in, 3), torch.cat([ct.bias.detach()] * 2)


class RewrittenPattern(nn.Module):
    """`_Pattern` for a ConvVAE, with the decoder's linear layers merged and simplified."""

    def __init__(self, model: nn.Module):
        super().__init__()
        d, c, coarse = model.decoder, model.config.channels, model.coarse
        with torch.no_grad():

            def first(z: torch.Tensor) -> torch.Tensor:
                return d[0](model.from_z(z).view(-1, c, coarse)).reshape(len(z), -1)

            zero = first(torch.zeros(1, model.config.z_dim))
            matrix = first(torch.eye(model.config.z_dim)) - zero
        self.first_w, self.first_b = fixed(matrix.t()), fixed(zero[0])
        self.res1, self.res2 = d[1], d[3]
        self.up = nn.Conv1d(c, 2 * c, 3, padding=1)
        w, b = transposed_as_conv(d[2])
        self.up.weight, self.up.bias = fixed(w), fixed(b)
        self.out_w, self.out_b = fixed(d[5].weight[:, :, 0].t()), fixed(d[5].bias)
        self.c, self.steps = c, 2 * coarse

    def forward(self, z: torch.Tensor, noise: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = F.linear(z, self.first_w, self.first_b).view(-1, self.c, self.steps)
        h = self.res1(h)
        phases = self.up(h).view(-1, 2, self.c, self.steps)
        h = self.res2(phases.permute(0, 2, 3, 1).reshape(-1, self.c, 2 * self.steps))
        raw = torch.matmul(F.gelu(h).transpose(1, 2), self.out_w) + self.out_b
        return assemble(*split_hvo(raw), noise, bias)


def main() -> None:
    configure_torch(1)
    model = checkpoint.load(checkpoint.resolve("conv_vae")[0]).model.eval()
    shipped, rewritten = _Pattern(model).eval(), RewrittenPattern(model).eval()
    g = torch.Generator().manual_seed(0)
    args = (
        torch.randn(1, 256, generator=g),
        torch.randn(1, 32, 9, generator=g),
        torch.zeros(1, 1, 9),
    )
    with torch.no_grad():
        graphs = [torch.jit.freeze(torch.jit.trace(m, args)) for m in (shipped, rewritten)]
    with torch.inference_mode():
        z, noise = torch.randn(1000, 256, generator=g), torch.randn(1000, 32, 9, generator=g)
        a, b = shipped(z, noise, args[2]), rewritten(z, noise, args[2])
        flips = int((a[..., :9] != b[..., :9]).sum())
        print(f"1000 latents: max difference {(a - b).abs().max():.2e}, hits that differ {flips}")

        def p50(graph: torch.jit.ScriptModule, n: int = 300) -> float:
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                graph(*args)
                times.append(time.perf_counter() - t0)
            return float(np.median(times)) * 1e6

        for _ in range(5):
            [p50(graph) for graph in graphs]
        rounds = np.array([[p50(graph) for graph in graphs] for _ in range(60)])
    saved = np.median(rounds[:, 0] - rounds[:, 1])
    print(
        f"frozen decode p50: shipped {np.median(rounds[:, 0]):.1f} us, "
        f"rewritten {np.median(rounds[:, 1]):.1f} us, saved {saved:.1f} us (median of 60 rounds)"
    )


if __name__ == "__main__":
    main()
