"""`pdbridge train NAME_OR_CONFIG --data DIR`: train a registered model on 2-bar windows.

    pdbridge train mlp_vae --data ../shared/data/groove --out runs/mlp_vae
    pdbridge train models/mlp_vae.train.json --data ../shared/data/groove   # the shipped recipe

The run folder gets `best.pt` (the checkpoint with the lowest validation loss: load it, ship it),
`last.pt` (the latest epoch plus optimizer state, for `--resume`), `history.json` and
`losses.png`. The checkpoints record the run's config and metrics.

One trainer for every model in `pdbridge.models.registry`: a VAE-kind model learns
`task_input(task, x) -> x` over whole windows; a next-step model learns "last bar -> next step"
at every step of the second bar of each window. Determinism: the shuffling of each epoch and the
noise (dropout, reparameterization) are seeded from (seed, epoch), so a run gives the same weights
again on the same machine and thread count, and a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdbridge.core import limits, metrics
from pdbridge.core.errors import BadInputError, ModelError
from pdbridge.core.progress import progress
from pdbridge.inference import checkpoint
from pdbridge.models import registry
from pdbridge.models.tasks import TASKS, task_input
from pdbridge.train.styles import style_statistics

log = logging.getLogger(__name__)

VALIDATION_SPLIT = "validation"


@dataclass
class TrainConfig:
    model: str = "mlp_vae"  # a name in pdbridge.models.registry
    task: str | None = None  # None: the model's default task
    model_config: dict[str, Any] = field(default_factory=dict)  # overrides of its config
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    threads: int = 2  # torch threads (results are reproducible for a fixed count)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "train config") -> TrainConfig:
        if not isinstance(d, dict):
            raise BadInputError(f"{where}: a training config is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise BadInputError(f"{where}: unknown field(s) {', '.join(unknown)}")
        config = cls(**d)
        config.check(where)
        return config

    def check(self, where: str = "train config") -> None:
        """Types and ranges of every field (`pdbridge.core.limits`), or `BadInputError`."""

        def number(name: str, kind: type, lo: float, hi: float, lo_open: bool = False) -> None:
            value = getattr(self, name)
            ok = isinstance(value, kind) and not isinstance(value, bool)
            if kind is float:
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                ok = ok and math.isfinite(value)
            if not ok or value < lo or value > hi or (lo_open and value == lo):
                shown = f"above {lo:g}" if lo_open else f"{lo:g}"
                raise BadInputError(f"{where}: {name} {value!r} must be a number {shown}..{hi:g}")

        if not isinstance(self.model, str):
            raise BadInputError(f"{where}: model {self.model!r} must be a model name")
        if self.task is not None and self.task not in TASKS:
            raise BadInputError(f"{where}: task {self.task!r} unknown; tasks: {', '.join(TASKS)}")
        if not isinstance(self.model_config, dict):
            raise BadInputError(f"{where}: model_config must be a JSON object")
        number("epochs", int, 1, limits.MAX_EPOCHS)
        number("batch_size", int, 1, limits.MAX_BATCH_SIZE)
        number("lr", float, 0.0, 10.0, lo_open=True)
        number("weight_decay", float, 0.0, 10.0)
        number("seed", int, 0, limits.MAX_SEED)
        number("threads", int, 1, limits.MAX_THREADS)


# ---------------------------------------------------------------------------- examples


class Examples:
    """(input, target) pairs cut from windows for one model kind, as torch batches."""

    def __init__(self, kind: str, task: str, x: np.ndarray, context: int = 16):
        self.kind = kind
        self.x = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        self.x_in = torch.from_numpy(np.ascontiguousarray(task_input(task, x)))
        self.context = context
        steps = x.shape[1]
        if kind == "next_step":
            # every (window, t) with a full context before t: predict step t from [t-context, t)
            self.t = np.arange(context, steps)
            if len(self.t) == 0:
                raise BadInputError(f"windows of {steps} steps are too short for {context} context")
        else:
            self.t = np.zeros(1, int)

    def __len__(self) -> int:
        return len(self.x) * len(self.t)

    def batch(self, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        if self.kind != "next_step":
            i = torch.from_numpy(idx)
            return self.x_in[i], self.x[i]
        w = torch.from_numpy(idx // len(self.t))
        t = torch.from_numpy(self.t[idx % len(self.t)])
        steps = t[:, None] + torch.arange(-self.context, 0)[None, :]
        return self.x_in[w[:, None], steps], self.x[w, t]


def predict(model: torch.nn.Module, kind: str, x_in: torch.Tensor) -> torch.Tensor:
    """Deterministic prediction in the pattern layout: hits (sigmoid > 0.5), velocities, offsets.
    A VAE decodes its latent mean; shape (B, steps, 27) or (B, 27) for next-step models."""
    logits, vel, off = model(x_in)
    return torch.cat([(logits > 0).float(), vel, off], dim=-1)


# ---------------------------------------------------------------------------- training


@dataclass
class Run:
    """What one training run produced."""

    best_path: Path
    last_path: Path
    metrics: dict[str, Any]
    history: list[dict[str, float]]


def train(
    config: TrainConfig,
    train_x: np.ndarray,
    val_x: np.ndarray,
    out: str | Path,
    resume: bool = False,
    train_styles: np.ndarray | None = None,
    data_info: dict[str, Any] | None = None,
    show_progress: bool = True,
) -> Run:
    """Train `config.model` on windows (N, steps, 27) and write the run folder `out`."""
    out = Path(out)
    spec, task, model_config = _checked(config, train_x, val_x)
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    model = registry.build(config.model, model_config)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    context = getattr(model_config, "context", 16)
    train_ex = Examples(spec.kind, task, train_x, context)
    val_ex = Examples(spec.kind, task, val_x, context)
    run_info = {
        "train": asdict(config) | {"task": task},
        "data": data_info or {},
        "windows": {"train": len(train_x), "validation": len(val_x)},
    }

    last_path, best_path = out / "last.pt", out / "best.pt"
    start_epoch, step, best_loss, elapsed, history = _open_run(
        out, resume, config, model, optimizer, run_info
    )

    batches = math.ceil(len(train_ex) / config.batch_size)
    for epoch in range(start_epoch, config.epochs):
        t0 = time.perf_counter()
        label = f"epoch {epoch + 1}/{config.epochs}"
        sums, step = _train_epoch(model, optimizer, train_ex, config, epoch, step, label, show_progress)
        val = validate(model, spec.kind, val_ex, config.seed, config.batch_size * 8)
        elapsed += time.perf_counter() - t0
        row = _epoch_row(model, epoch, step, elapsed, {k: v / batches for k, v in sums.items()}, val)
        history.append(row)
        log.info(
            "%s  train loss %.3f  val loss %.3f  val hit F1 %.4f  (%.0f s)",
            label, row["train_loss"], val["loss"], val["hit_f1"], elapsed,
        )  # fmt: skip
        info = {"task": task, "run": run_info}
        if val["loss"] < best_loss:
            best_loss = val["loss"]
            checkpoint.save(best_path, model, config.model, metrics=dict(row), **info)
        state = {"epoch": epoch + 1, "step": step, "best_loss": best_loss, "elapsed": elapsed}
        state |= {"history": history, "optimizer": optimizer.state_dict()}  # all --resume needs
        checkpoint.save(
            last_path, model, config.model, metrics=dict(row), extras={"train_state": state}, **info
        )
        (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")
        plot_history(history, out / "losses.png", title=f"{config.model} ({task})")

    if spec.kind == "vae" and train_styles is not None:
        _add_style_statistics(best_path, train_ex.x_in, train_styles, task, run_info)
    return Run(best_path, last_path, checkpoint.load(best_path).metrics, history)


def _epoch_row(
    model, epoch: int, step: int, elapsed: float, train: dict[str, float], val: dict[str, float]
) -> dict[str, float]:
    """One row of the run's history: the epoch's mean training logs and its validation."""
    row = {"epoch": epoch + 1, "step": step, "seconds": round(elapsed, 2)}
    row |= {f"train_{k}": v for k, v in train.items()}
    row |= {f"val_{k}": v for k, v in val.items()}
    if hasattr(model, "kl_weight"):
        row["kl_weight"] = model.kl_weight(step)
    return row


def _checked(config: TrainConfig, train_x: np.ndarray, val_x: np.ndarray) -> tuple:
    """(model spec, task, model config) once everything fits, else a one-line BadInputError."""
    config.check()
    spec = registry.spec(config.model)
    if not spec.trainable:
        raise BadInputError(
            f"{config.model} is not trained here: import its checkpoint (pdbridge import FILE.pth)"
        )
    task = config.task or spec.task
    if task not in TASKS or TASKS[task].kind != spec.kind:
        raise BadInputError(f"task {task!r} does not fit {config.model} (a {spec.kind} model)")
    model_config = registry.config_from_dict(config.model, config.model_config)
    steps = train_x.shape[1]
    if spec.kind == "vae" and steps != model_config.steps:
        raise BadInputError(
            f"{config.model} reads {model_config.steps} steps; windows have {steps}"
        )
    if len(train_x) == 0 or len(val_x) == 0:
        raise BadInputError(
            f"need training and validation windows; got {len(train_x)} and {len(val_x)}"
        )
    return spec, task, model_config


def _train_epoch(
    model, optimizer, train_ex: Examples, config: TrainConfig, epoch: int, step: int,
    label: str, show_progress: bool,
) -> tuple[dict[str, float], int]:  # fmt: skip
    """One pass over the training examples in this epoch's order: (summed logs, step)."""
    model.train()
    torch.manual_seed(config.seed * 100_003 + epoch)
    order = np.random.default_rng([config.seed, epoch]).permutation(len(train_ex))
    sums: dict[str, float] = {}
    batches = math.ceil(len(train_ex) / config.batch_size)
    for b in progress(range(batches), label, enabled=show_progress):
        x_in, x_target = train_ex.batch(order[b * config.batch_size : (b + 1) * config.batch_size])
        loss, logs = model.loss(x_in, x_target, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        for k, v in logs.items():
            sums[k] = sums.get(k, 0.0) + v
    return sums, step


def _add_style_statistics(
    best_path: Path, x_in: torch.Tensor, styles: np.ndarray, task: str, run_info: dict
) -> None:
    """Rewrite the best checkpoint with its styles' latent statistics (`train.styles`)."""
    best = checkpoint.load(best_path)
    extras = {"styles": style_statistics(best.model, x_in, np.asarray(styles))}
    checkpoint.save(
        best_path, best.model, best.model_name, metrics=best.metrics, extras=extras, task=task,
        run=run_info,
    )  # fmt: skip


def _open_run(out: Path, resume: bool, config: TrainConfig, model, optimizer, run_info: dict):
    """The run folder, new or resumed: (start epoch, step, best loss, seconds, history)."""
    last_path = out / "last.pt"
    if resume:
        state = _resume(last_path, config, model, optimizer)
        log.info("resuming %s at epoch %d", out, state[0] + 1)
    elif last_path.exists():
        raise BadInputError(f"{out} already holds a run; pass --resume, or choose another --out")
    else:
        state = (0, 0, math.inf, 0.0, [])
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(run_info, indent=1) + "\n")
    return state


def _resume(path: Path, config: TrainConfig, model, optimizer) -> tuple:
    if not path.exists():
        raise BadInputError(f"nothing to resume: {path} does not exist")
    data = checkpoint.read(path)
    saved = dict(data.get("run", {}).get("train", {}))
    now = asdict(config)
    for key in ("model", "model_config", "batch_size", "lr", "weight_decay", "seed"):
        if saved.get(key) != now[key]:
            raise BadInputError(
                f"{path}: run was trained with {key}={saved.get(key)!r}, not {now[key]!r}; "
                "resume with the same config (only epochs may change)"
            )
    state = data.get("extras", {}).get("train_state")
    if not state:
        raise ModelError(f"{path}: holds no training state to resume from")
    model.load_state_dict(data["state_dict"])
    optimizer.load_state_dict(state["optimizer"])
    return state["epoch"], state["step"], state["best_loss"], state["elapsed"], state["history"]


@torch.no_grad()
def validate(
    model: torch.nn.Module, kind: str, examples: Examples, seed: int, batch_size: int = 512
) -> dict[str, float]:
    """Validation loss (at the full KL weight, so epochs compare) and deterministic hit F1."""
    model.eval()
    sums: dict[str, float] = {}
    tp = fp = fn = 0
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # the same reparameterization noise every epoch
        for start in range(0, len(examples), batch_size):
            idx = np.arange(start, min(start + batch_size, len(examples)))
            x_in, x_target = examples.batch(idx)
            _, logs = model.loss(x_in, x_target, step=10**9)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
            counts = metrics.hit_counts(predict(model, kind, x_in).numpy(), x_target.numpy())
            tp, fp, fn = tp + counts[0], fp + counts[1], fn + counts[2]
    out = {k: v / len(examples) for k, v in sums.items()}
    out["hit_f1"] = metrics.f1_from_counts(tp, fp, fn)
    return out


def plot_history(history: list[dict[str, float]], path: Path, title: str = "") -> None:
    """Loss curves (train and validation) and validation hit F1 per epoch, as a PNG (needs
    matplotlib: `pip install 'pdbridge[train]'`; without it training runs and draws nothing)."""
    try:
        import matplotlib
    except ImportError:
        log.warning("no loss curves (%s): matplotlib is missing; pip install 'pdbridge[train]'", path)
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    ax = axes[0]
    ax.plot(epochs, [h["train_loss"] for h in history], label="train (KL annealed)")
    ax.plot(epochs, [h["val_loss"] for h in history], label="validation (full KL)")
    ax.set_title("loss per window")
    ax.legend()
    ax = axes[1]
    for key in ("hits", "velocities", "offsets", "kl"):
        if f"val_{key}" in history[0]:
            ax.plot(epochs, [h[f"val_{key}"] for h in history], label=key)
    ax.set_yscale("log")
    ax.set_title("validation loss terms")
    ax.legend()
    ax = axes[2]
    ax.plot(epochs, [h["val_hit_f1"] for h in history], color="C3")
    ax.set_title("validation hit F1")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
