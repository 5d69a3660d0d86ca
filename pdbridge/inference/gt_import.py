"""The course's Groove Transformer files (`.pth`) as pdbridge checkpoints, with a card.

    pdbridge import colorful_sweep_41.pth --out ~/pdbridge-models/mgt.pt
    pdbridge serve --model default --model colorful_sweep_41.pth     # imported as it loads

`pdbridge.models.gt_file.read_gt_checkpoint` reads the file (weights only: no code from it runs;
a full pickle, a truncated file and another layout are refused with their own exit codes) and
rebuilds the model in our code (`pdbridge.models.groove_transformer`); here it becomes an ordinary
checkpoint of the `groove_transformer` (task `groove_drumify`) or `density_vae` (task
`density_drumify`) model, so loading, the engine, freezing, eval and the server treat it like ours.

The card (`extras["card"]`) says where the weights came from (file name and sha256), which
architecture and task, and the input convention. The course repository has no license: an
imported file is for your own use; never commit or ship it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from pdbridge.core.errors import UsageError
from pdbridge.inference import checkpoint
from pdbridge.models.groove_transformer import GrooveTransformerConfig, GTConfig, Kind
from pdbridge.models.gt_file import read_gt_checkpoint

ORIGIN = "behzadhaki/GrooveTransformer (the course's repository; no license file: do not ship)"
MODEL_NAMES: dict[Kind, str] = {"mgt": "groove_transformer", "density_vae": "density_vae"}

# sha256 -> path in the course repository at commit eb2ee23, for the files we know
KNOWN = {
    "2736f4c091cf6b54974fefe673a9ef8f50e723560b24945898da1bbfad79bfd5":
        "model/Base/saved/monotonic_groove_transformer_v1/latest/colorful_sweep_41.pth",
    "5c74f284861c66cc89dc3245b5b829d38e48e22d58e2a0b12f74f5833aea895b":
        "model/Base/saved/monotonic_groove_transformer_v1/latest/solar_shadow_247.pth",
    "5574a309e4ba04f2178b265e988698ff91d41a55d3a440c5ad287d880c8f49cd":
        "model/VAE/vae_checkpoints/Density1D/cool_25_ep200.pth",
    "59b18517606a777b3044ee24ed4bfce33e19fde271faaaec9bdffd6bd1e252e3":
        "model/VAE/vae_checkpoints/Density2D/summer_13_ep290.pth",
}  # fmt: skip

GROOVE = (
    "groove: per step with any hit, the closed hi-hat hit 1 with the loudest hit's velocity and "
    "offset (ties: the lower voice); every other feature 0"
)
DENSITY = (
    "; then a 28th feature on every step, the density (hits - 1) / 74 of the beat wanted: "
    "/busyness, else the input pattern's own"
)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe(kind: Kind, c: GTConfig) -> str:
    if isinstance(c, GrooveTransformerConfig):
        return (
            f"Monotonic Groove Transformer, encoder only: d_model {c.d_model}, {c.nhead} head(s), "
            f"feed-forward {c.dim_feedforward}, {c.num_encoder_layers} layers, {c.steps} steps"
        )
    return (
        f"density VAE (Density2D): encoder d {c.d_model_enc}, {c.nhead_enc} head(s), ff "
        f"{c.dim_feedforward_enc}, {c.num_encoder_layers} layers; decoder d {c.d_model_dec}, "
        f"{c.nhead_dec} head(s), ff {c.dim_feedforward_dec}, {c.num_decoder_layers} layers; "
        f"latent {c.latent_dim}; offsets {c.o_activation}"
    )


def card(path: Path, kind: Kind, config: GTConfig, task: str, digest: str) -> dict[str, Any]:
    source: dict[str, Any] = {"file": path.name, "sha256": digest, "bytes": path.stat().st_size}
    if digest in KNOWN:
        source["course_path"] = f"{KNOWN[digest]} (commit eb2ee23)"
    return {
        "source": source,
        "origin": ORIGIN,
        "architecture": describe(kind, config),
        "task": task,
        "input": GROOVE + (DENSITY if kind == "density_vae" else ""),
        "output": "hit logits, sigmoid velocities, offsets "
        + ("0.5 tanh" if kind == "mgt" or config.o_activation == "tanh" else "sigmoid - 0.5"),
    }


def import_course_checkpoint(path: str | Path) -> dict:
    """The pdbridge checkpoint dict (`checkpoint.to_dict`) of a course file, with its card.
    Raises the reader's `ModelError`s (one line each, their own exit codes)."""
    path = Path(path)
    kind, config, model = read_gt_checkpoint(path)
    model_name = MODEL_NAMES[kind]
    task = checkpoint.registry.spec(model_name).task
    info = card(path, kind, config, task, sha256(path))
    return checkpoint.to_dict(
        model, model_name, task=task, extras={"card": info}, run={"imported_from": info["source"]}
    )


def import_file(source: str | Path, out: str | Path) -> checkpoint.Checkpoint:
    """Write the pdbridge checkpoint of the course file `source` to `out` (a `.pt`; atomically),
    and load it back as any checkpoint loads (the check that it works)."""
    source, out = Path(source), Path(out)
    if out.suffix != checkpoint.SUFFIX:
        raise UsageError(f"--out {out}: a pdbridge checkpoint ends in {checkpoint.SUFFIX}")
    if out.exists() and source.exists() and out.resolve() == source.resolve():
        raise UsageError(f"--out {out}: would overwrite the file it imports")
    data = import_course_checkpoint(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save(data, tmp)
    tmp.replace(out)
    return checkpoint.load(out)
