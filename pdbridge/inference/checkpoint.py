"""One-file checkpoints: save, find, load and validate.

A checkpoint is a dict of plain types written with `torch.save` and read with
`torch.load(..., weights_only=True)`, so loading never runs code from the file:

    format          "pdbridge-checkpoint"
    format_version  1
    model           registry name, e.g. "mlp_vae"
    task            "vae", "humanize", "drumify", "infill" or "next_step"
    config          the model's config dataclass as a dict
    layout          {"steps", "voices", "features", "voice_names"}: the input the model expects
    state_dict      the weights
    metrics         validation metrics of the run (dict)
    run             the training run's config (dict), so the run can be reproduced
    extras          optional: e.g. {"styles": {name: {"mu": [...], "std": [...]}}}

Loading validates everything (format, version, model name, config fields, layout, every weight's
shape, a dummy forward pass) and raises `ModelError` with a one-line message naming the file.

Shipped models live in the package's data folder `pdbridge.shipped_models` (models/ of the
repository, mapped into the package by setup.py; or `$PDBRIDGE_MODELS`) as `<name>.pt`;
`models/index.json` defines aliases such as `default`, in one place.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pdbridge import __version__
from pdbridge.core import places
from pdbridge.core.errors import (
    ModelCorruptError,
    ModelError,
    ModelMissingError,
    ModelVersionError,
)
from pdbridge.core.pattern import FEATURES, NUM_VOICES, VOICES
from pdbridge.models import registry
from pdbridge.models.tasks import TASKS, input_features
from pdbridge.models.weights_file import load_weights_only

FORMAT = "pdbridge-checkpoint"
FORMAT_VERSION = 1
SUFFIX = ".pt"
COURSE_SUFFIX = ".pth"  # the course's Groove Transformer files (`pdbridge.inference.gt_import`)


@dataclass
class Checkpoint:
    """A loaded, validated model (in eval mode) and what its file says about it."""

    name: str  # the shipped name or the file's stem
    model_name: str  # registry name
    task: str
    kind: str  # "vae" or "next_step"
    model: nn.Module
    config: Any
    layout: dict
    metrics: dict = field(default_factory=dict)
    run: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def steps(self) -> int:
        return int(self.layout["steps"])

    @property
    def z_dim(self) -> int:
        return int(getattr(self.config, "z_dim", 0))


# ---------------------------------------------------------------------------- where models are


def models_dir() -> Path:
    """The shipped models: `$PDBRIDGE_MODELS` if set, else the package's `pdbridge.shipped_models`
    (found through importlib.resources: the wheel's copy, or models/ of a checkout)."""
    return places.package_models()


def aliases() -> dict[str, list[str]]:
    """`models/index.json` {"aliases": {"default": ["mlp_vae", "next_step"], ...}}.

    An alias names a list of models; the first is the one used when a request names none.
    """
    index = models_dir() / "index.json"
    if not index.exists():
        return {}
    try:
        data = json.loads(index.read_text())
        return {k: [v] if isinstance(v, str) else list(v) for k, v in data["aliases"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ModelError(f"{index}: malformed model index ({e})") from None


def shipped() -> list[str]:
    """Names of the checkpoints in the models folder."""
    d = models_dir()
    return sorted(p.stem for p in d.glob(f"*{SUFFIX}")) if d.is_dir() else []


def resolve(name_or_path: str | Path) -> list[Path]:
    """Checkpoint files for a shipped name, an alias or a path."""
    text = str(name_or_path)
    table = aliases()
    if text in table:
        return [p for n in table[text] for p in resolve(n)]
    path = Path(text)
    if path.suffix in (SUFFIX, COURSE_SUFFIX) or os.sep in text or path.exists():
        return [path]
    for folder in (models_dir(), places.user_models_dir()):  # shipped first, then yours
        candidate = folder / f"{text}{SUFFIX}"
        if candidate.exists():
            return [candidate]
    known = sorted(set(shipped()) | set(table))
    raise ModelMissingError(
        f"no model named {text!r} in {models_dir()} or {places.user_models_dir()}; "
        f"known: {', '.join(known) or 'none'}"
    )


# ---------------------------------------------------------------------------- save


def input_steps(kind: str, config: Any) -> int:
    return int(config.context if kind == "next_step" else config.steps)


def to_dict(
    model: nn.Module,
    model_name: str,
    task: str | None = None,
    metrics: dict | None = None,
    run: dict | None = None,
    extras: dict | None = None,
) -> dict:
    spec = registry.spec(model_name)
    task = task or spec.task
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "pdbridge_version": __version__,
        "model": model_name,
        "task": task,
        "config": registry.config_to_dict(model.config),
        "layout": {
            "steps": input_steps(spec.kind, model.config),
            "voices": NUM_VOICES,
            "features": FEATURES,
            "voice_names": list(VOICES),
        },
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "metrics": metrics or {},
        "run": run or {},
        "extras": extras or {},
    }


def save(path: str | Path, model: nn.Module, model_name: str, **info: Any) -> Path:
    """Write one checkpoint file atomically (a crash never leaves half a file under `path`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(to_dict(model, model_name, **info), tmp)
    os.replace(tmp, path)
    return path


def save_with_extras(ckpt: Checkpoint, **extras: Any) -> Path:
    """Write a loaded checkpoint back to its file with `extras` added or replaced (style
    statistics, a sampling prior), everything else as it was."""
    return save(
        ckpt.path, ckpt.model, ckpt.model_name, task=ckpt.task, metrics=ckpt.metrics,
        run=ckpt.run, extras=ckpt.extras | extras,
    )  # fmt: skip


# ---------------------------------------------------------------------------- load


def read(path: str | Path) -> dict:
    """The raw checkpoint dict, loaded without running code from the file."""
    data = load_weights_only(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelCorruptError(f'{path}: not a pdbridge checkpoint (no "format": "{FORMAT}")')
    return data


def from_dict(data: dict, name: str = "model", where: str = "checkpoint") -> Checkpoint:
    """Rebuild and validate the model a checkpoint dict describes."""

    def fail(msg: str, kind: type[ModelError] = ModelError) -> ModelError:
        return kind(f"{where}: {msg}")

    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise fail(
            f"format version {version!r} not supported (this pdbridge reads {FORMAT_VERSION})",
            ModelVersionError,
        )
    for key in ("model", "task", "config", "layout", "state_dict"):
        if key not in data:
            raise fail(f"missing {key!r}")
    model_name, task = data["model"], data["task"]
    if model_name not in registry.REGISTRY:
        raise fail(f"unknown model {model_name!r}; known: {', '.join(sorted(registry.REGISTRY))}")
    spec = registry.REGISTRY[model_name]
    if task not in TASKS or TASKS[task].kind != spec.kind:
        raise fail(f"task {task!r} does not fit a {spec.kind} model")
    try:
        config = registry.config_from_dict(model_name, dict(data["config"]))
        model = registry.build(model_name, config)
    except ModelError as e:
        raise fail(str(e)) from None
    except (TypeError, ValueError) as e:
        raise fail(f"bad config ({e})") from None
    layout = dict(data["layout"])
    want = {"steps": input_steps(spec.kind, config), "voices": NUM_VOICES, "features": FEATURES}
    for key, value in want.items():
        if layout.get(key) != value:
            raise fail(f"layout {key} is {layout.get(key)!r}, the model needs {value}")
    if list(layout.get("voice_names", VOICES)) != list(VOICES):
        raise fail(f"voice order {layout.get('voice_names')} differs from {list(VOICES)}")
    try:
        model.load_state_dict(data["state_dict"], strict=True)
    except (RuntimeError, TypeError, AttributeError) as e:
        detail = " ".join(str(e).split())
        raise fail(f"weights do not fit the config ({detail[:300]})") from None
    model.eval()
    _dummy_forward(model, spec.kind, task, want["steps"], fail)
    return Checkpoint(
        name=name,
        model_name=model_name,
        task=task,
        kind=spec.kind,
        model=model,
        config=config,
        layout=layout,
        metrics=dict(data.get("metrics") or {}),
        run=dict(data.get("run") or {}),
        extras=dict(data.get("extras") or {}),
    )


def _dummy_forward(model: nn.Module, kind: str, task: str, steps: int, fail) -> None:
    """Run one silent pattern through the model, so a bad file fails here, not at a request."""
    x = torch.zeros(1, steps, input_features(task))  # the task's model input (27 or 28 wide)
    with torch.inference_mode():
        try:
            if kind == "vae":
                mu, logvar = model.encode(x)
                outputs = model.decode(mu)
                want = (1, steps, NUM_VOICES)
            elif kind == "direct":
                outputs = model(x)
                want = (1, steps, NUM_VOICES)
            else:
                outputs = model(x)
                want = (1, NUM_VOICES)
        except Exception as e:  # any failure here means the file does not describe a working model
            raise fail(f"test forward pass failed ({type(e).__name__}: {e})") from None
    for out in outputs:
        if tuple(out.shape) != want:
            raise fail(f"test forward pass gave shape {tuple(out.shape)}, expected {want}")
        if not torch.isfinite(out).all():
            raise fail("test forward pass gave NaN or infinity (corrupt weights?)")


def load(name_or_path: str | Path) -> Checkpoint:
    """Load one checkpoint by shipped name or path (an alias gives its first model).

    The model is named after its file (`models/mlp_vae.pt` -> "mlp_vae"), or after its run
    folder for a trainer's `best.pt` / `last.pt` (`runs/my_vae/best.pt` -> "my_vae").
    """
    path = resolve(name_or_path)[0]
    name = path.parent.name if path.stem in ("best", "last") and path.parent.name else path.stem
    if path.suffix == COURSE_SUFFIX:  # a course Groove Transformer file: imported as it loads
        from pdbridge.inference.gt_import import import_course_checkpoint

        data = import_course_checkpoint(path)
    else:
        data = read(path)
    try:
        ckpt = from_dict(data, name=name, where=str(path))
    except ModelError:
        raise
    except Exception as e:  # a crafted or damaged dict (e.g. a list where a dict belongs)
        raise ModelCorruptError(
            f"{path}: malformed checkpoint ({type(e).__name__}: {str(e)[:120]})"
        ) from None
    ckpt.path = path
    return ckpt
