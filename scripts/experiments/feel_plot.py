"""Issue 15's figure: how widely offsets and velocities spread, real drumming vs each model, on
the validation split (docs/img/feel.png).

    python scripts/experiments/feel_plot.py --data DIR --out docs/img/feel.png \
        --old-humanize runs/old/humanize.pt --humanize models/humanize.pt \
        --old-vae runs/old/conv_vae.pt --vae models/conv_vae.pt \
        --old-drumify runs/old/drumify.pt --drumify models/drumify.pt [--gt ../shared/groove-transformer/solar_shadow_247.pth]

Panels: humanize offsets and velocities (old model, new at temperature 0 and 1), VAE
reconstruction offsets (old and new default), drumify offsets (old, course MGT, new at 0 and 1).
Offsets in ms at each window's tempo. Each curve is a histogram over the hits the model writes
(for humanize, the real hits), normalised to its area.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from pdbridge.core.metrics import ms_per_step
from pdbridge.core.pattern import HITS, OFFSETS, VELOCITIES
from pdbridge.inference import checkpoint
from pdbridge.inference.engine import Controls, Engine
from pdbridge.train.dataset import DatasetConfig, load_windows


def values(a: np.ndarray, bpm: np.ndarray, what: str) -> np.ndarray:
    hits = a[..., HITS] >= 0.5
    if what == "velocity":
        return a[..., VELOCITIES][hits] * 127.0
    ms = a[..., OFFSETS] * ms_per_step(bpm)[:, None, None]
    return ms[hits]


def answers(path: str, job: str, x: np.ndarray, temperature: float) -> np.ndarray:
    engine = Engine([checkpoint.load(path)])
    return np.stack(
        [engine.transform(job, w, Controls(temperature=temperature, seed=i)) for i, w in enumerate(x)]
    )


def reconstruct(path: str, x: np.ndarray) -> np.ndarray:
    engine = Engine([checkpoint.load(path)])
    return np.stack([engine.decode(engine.encode(w), Controls(temperature=0.0)) for w in x])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--out", default="docs/img/feel.png")
    for name in ("old-humanize", "humanize", "old-vae", "vae", "old-drumify", "drumify", "gt"):
        p.add_argument(f"--{name}")
    p.add_argument("--windows", type=int, default=800)
    a = p.parse_args()
    torch.set_num_threads(1)
    va = load_windows(a.data, DatasetConfig(), show_progress=False).where(split="validation")
    idx = np.random.default_rng(0).permutation(len(va.x))[: a.windows]
    x, bpm = va.x[idx], va.bpm[idx]

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    ms_bins = np.linspace(-60, 60, 61)
    vel_bins = np.linspace(0, 127, 43)

    def panel(ax, curves, what, bins, title):
        ax.hist(values(x, bpm, what), bins, density=True, histtype="stepfilled", color="0.8",
                label="real drummers")
        for label, arr in curves:
            ax.hist(values(arr, bpm, what), bins, density=True, histtype="step", lw=1.6,
                    label=label)
        ax.set_title(title)
        ax.set_xlabel("offset (ms)" if what == "offset" else "velocity (MIDI)")
        ax.legend(fontsize=7)

    hum = []
    if a.old_humanize:
        hum.append(("old humanize (conv_vae)", answers(a.old_humanize, "humanize", x, 0.0)))
    if a.humanize:
        hum.append(("feel humanize, temperature 0", answers(a.humanize, "humanize", x, 0.0)))
        hum.append(("feel humanize, temperature 1", answers(a.humanize, "humanize", x, 1.0)))
    panel(axes[0], hum, "offset", ms_bins, "humanize: offsets")
    panel(axes[1], hum, "velocity", vel_bins, "humanize: velocities")
    vae = []
    if a.old_vae:
        vae.append(("old default VAE", reconstruct(a.old_vae, x)))
    if a.vae:
        vae.append(("new default VAE", reconstruct(a.vae, x)))
    panel(axes[2], vae, "offset", ms_bins, "encode + decode: offsets")
    drum = []
    if a.old_drumify:
        drum.append(("old drumify (conv_vae)", answers(a.old_drumify, "drumify", x, 0.0)))
    if a.gt:
        drum.append(("course MGT", answers(a.gt, "drumify", x, 0.0)))
    if a.drumify:
        drum.append(("feel drumify, temperature 0", answers(a.drumify, "drumify", x, 0.0)))
        drum.append(("feel drumify, temperature 1", answers(a.drumify, "drumify", x, 1.0)))
    panel(axes[3], drum, "offset", ms_bins, "drumify: offsets")
    fig.suptitle(f"validation split, {len(x)} windows: the spread of real drumming vs the models")
    fig.tight_layout()
    fig.savefig(a.out, dpi=90)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
