"""Tiny random-weight checkpoints for the server, client and file-tool tests.

Random weights are enough to test the protocol: real checkpoints, loaded and validated by the real
`Engine`, in well under a second. Imported by the test modules (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

from pathlib import Path

import torch

from pdbridge.inference import checkpoint
from pdbridge.models.mlp_vae import MLPVAE, MLPVAEConfig
from pdbridge.models.next_step import NextStep, NextStepConfig

Z_DIM = 8
STYLES = {
    "funk": {"mu": [1.0] * Z_DIM, "std": [0.5] * Z_DIM},
    "rock": {"mu": [-1.0] * Z_DIM, "std": [0.5] * Z_DIM},
}


def make_tiny_models(folder: Path, tasks: bool = True) -> list[Path]:
    """Write tiny checkpoints into `folder`: a VAE with styles, a second VAE, and (with `tasks`)
    humanize, drumify, infill and next-step models. Returns their paths, the default VAE first."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    folder.mkdir(parents=True, exist_ok=True)

    def vae() -> MLPVAE:
        return MLPVAE(MLPVAEConfig(hidden=(32,), z_dim=Z_DIM))

    paths = [
        checkpoint.save(folder / "tiny.pt", vae(), "mlp_vae", extras={"styles": STYLES}),
        checkpoint.save(folder / "tiny2.pt", vae(), "mlp_vae"),
    ]
    if tasks:
        paths += [
            checkpoint.save(folder / "tiny_humanize.pt", vae(), "mlp_vae", task="humanize"),
            checkpoint.save(folder / "tiny_drumify.pt", vae(), "mlp_vae", task="drumify"),
            checkpoint.save(folder / "tiny_infill.pt", vae(), "mlp_vae", task="infill"),
            checkpoint.save(
                folder / "tiny_next.pt", NextStep(NextStepConfig(hidden=(32,))), "next_step"
            ),
        ]
    return paths
