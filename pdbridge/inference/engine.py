"""The engine: loaded models and the tasks they serve, numpy in, numpy out.

    engine = Engine.load(["default"])      # shipped names, aliases or checkpoint paths
    z = engine.encode(pattern)             # pattern: (32, 27) float32 -> (z_dim,)
    beat = engine.decode(z, Controls(temperature=0))

Patterns are `(steps, 27)` float32 arrays in the layout of `pdbridge.core.pattern`. The engine knows
nothing of OSC. It loads every model once; each call runs under `torch.inference_mode()` and
allocates no model. It never changes torch's thread count: the caller (server, CLI) sets it once.

Which model answers:
- sample / encode / decode / interpolate: the model named by `controls.model` (its task record
  must offer a latent: "vae", or a course density VAE), else the first loaded model whose task
  is "vae" (the first of the `default` alias);
- a pattern task (humanize, drumify, infill: `pdbridge.models.tasks`): the model
  `controls.task_models` names for it, else the first loaded model whose task it is; a task
  that serves another's job (a course drumify model) answers when it is chosen or the only one.
  The model's own record says what it reads (our drumify: the tapped pattern; the course's: their
  groove) and how its answer merges;
- continue: the first loaded "next_step" model.
A task model is just another checkpoint; its `task` field says which job it does.

Hits are drawn as Bernoulli(sigmoid((logit - logit(threshold)) / temperature)); at temperature 0
a hit is `sigmoid(logit) > threshold`. Styles come from per-style latent statistics stored in a
checkpoint's extras (`{"styles": {name: {"mu": [...], "std": [...], "components": ...}}}`, see
`pdbridge.train.styles`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from pdbridge.core.errors import BadInputError, ModelError
from pdbridge.core.limits import MAX_CONTINUE_BARS
from pdbridge.core.pattern import (
    FEATURES,
    NUM_VOICES,
    STEPS_PER_BAR,
    clean_array,
    default_thresholds,
)
from pdbridge.inference import checkpoint
from pdbridge.inference.checkpoint import Checkpoint
from pdbridge.inference.freeze import direct_fn, vae_fns
from pdbridge.inference.hits import assemble, hit_noise, spread_noise, threshold_bias
from pdbridge.inference.interpolate import slerp
from pdbridge.inference.prior import prior_latents
from pdbridge.models.tasks import TASKS


@dataclass
class Controls:
    """How to turn model outputs into a pattern."""

    temperature: float = 1.0  # on hits; 0 = deterministic
    seed: int | None = None  # None = different every call
    thresholds: np.ndarray = field(default_factory=default_thresholds)  # (9,), one per voice
    style: str | None = None
    model: str | None = None
    # the model chosen for a pattern task, by job: e.g. {"drumify": "solar_shadow_247"}
    task_models: dict[str, str] = field(default_factory=dict)
    busyness: float | None = None  # how many hits a density model's beat has; None = the input's

    def __post_init__(self) -> None:
        if self.busyness is not None:
            b = float(self.busyness)
            if not 0 <= b <= 1:  # False for NaN too
                raise BadInputError(f"busyness must be 0..1; got {self.busyness}")
            self.busyness = b
        t = float(self.temperature)
        if not np.isfinite(t) or t < 0:
            raise BadInputError(f"temperature must be >= 0; got {self.temperature}")
        self.temperature = t
        thr = np.asarray(self.thresholds, dtype=np.float32)
        thr = np.full(NUM_VOICES, thr, np.float32) if thr.ndim == 0 else thr
        if thr.shape != (NUM_VOICES,) or not np.all((thr >= 0) & (thr <= 1)):
            raise BadInputError(f"thresholds must be {NUM_VOICES} values in 0..1")
        self.thresholds = thr


@dataclass
class ModelInfo:
    name: str
    kind: str  # the model interface: "vae", "direct" or "next_step"
    task: str  # a record of pdbridge.models.tasks.TASKS
    z_dim: int  # 0 for models without a latent
    steps: int  # steps the model reads
    styles: list[str]
    path: str
    job: str = ""  # the task whose requests it answers (its own, or the one it serves)
    latent: bool = False  # offers sample/encode/decode/interpolate (a client may /model it)


class Engine:
    def __init__(self, checkpoints: Sequence[Checkpoint], freeze: bool = True):
        """`freeze=False` answers with the models' own methods until `freeze()` is called (the
        server does that in the background once it is ready, so it starts a second sooner)."""
        if not checkpoints:
            raise ModelError("no models to load")
        self._models: dict[str, Checkpoint] = {}
        for ckpt in checkpoints:
            if ckpt.name in self._models:
                raise ModelError(f"two models named {ckpt.name!r}; rename one checkpoint file")
            ckpt.model.eval()
            self._models[ckpt.name] = ckpt
        # name -> how the engine calls the VAE: frozen graphs, or its own methods until `freeze`
        self._vae_fns = {c.name: vae_fns(c, freeze) for c in checkpoints if c.kind == "vae"}
        self._direct_fns = {c.name: direct_fn(c, freeze) for c in checkpoints if c.kind == "direct"}
        self._frozen: set[str] = set(self._vae_fns) | set(self._direct_fns) if freeze else set()
        self._random = np.random.default_rng()  # thread-safe: numpy locks its bit generator
        # job -> the model that answers it when a request names none (asked on every request)
        self._answers: dict[str, Checkpoint] = {}

    def freeze(self, cancel: Callable[[], bool] = lambda: False) -> None:
        """Run each VAE that allows it as a frozen TorchScript graph (`inference_fns`: about
        twice as fast at batch 1). About a second for the first model, a fraction for each
        other; `cancel()` is asked between models. Safe while requests run: a model's functions
        are swapped in one assignment."""
        for name, ckpt in list(self._models.items()):
            if cancel():
                return
            if ckpt.kind == "vae" and name not in self._frozen:
                self._vae_fns[name] = vae_fns(ckpt, frozen=True)
                self._frozen.add(name)
            elif ckpt.kind == "direct" and name not in self._frozen:
                self._direct_fns[name] = direct_fn(ckpt, frozen=True)
                self._frozen.add(name)

    @classmethod
    def load(cls, names_or_paths: Sequence[str | Path], freeze: bool = True) -> Engine:
        """Load shipped names, aliases (e.g. "default") or checkpoint paths, each once."""
        paths: list[Path] = []
        for item in names_or_paths:
            for path in checkpoint.resolve(item):
                if path.resolve() not in {p.resolve() for p in paths}:
                    paths.append(path)
        return cls([checkpoint.load(p) for p in paths], freeze=freeze)

    def with_model(self, ckpt: Checkpoint) -> Engine:
        """A new engine with `ckpt` added (or replacing the model of its name, in its place);
        this one is left as it is, so a caller can swap engines atomically (`/load`). Only the
        new model is built and frozen: TorchScript keeps every trace for the life of the
        process, so rebuilding the others would cost memory on every load."""
        ckpt.model.eval()
        new = copy.copy(self)
        new._models = {**self._models, ckpt.name: ckpt}
        new._vae_fns = {k: v for k, v in self._vae_fns.items() if k != ckpt.name}
        new._direct_fns = {k: v for k, v in self._direct_fns.items() if k != ckpt.name}
        new._frozen = self._frozen - {ckpt.name}
        new._answers = {}
        if ckpt.kind == "vae":
            new._vae_fns[ckpt.name] = vae_fns(ckpt, frozen=True)
            new._frozen.add(ckpt.name)
        elif ckpt.kind == "direct":
            new._direct_fns[ckpt.name] = direct_fn(ckpt, frozen=True)
            new._frozen.add(ckpt.name)
        return new

    # -- what is loaded

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                name=c.name,
                kind=c.kind,
                task=c.task,
                z_dim=c.z_dim,
                steps=c.steps,
                styles=sorted(c.extras.get("styles", {})),
                path=str(c.path or ""),
                job=TASKS[c.task].job,
                latent=TASKS[c.task].latent,
            )
            for c in self._models.values()
        ]

    def checkpoint(self, name: str) -> Checkpoint:
        if name not in self._models:
            raise BadInputError(f"no model {name!r} loaded; loaded: {', '.join(self._models)}")
        return self._models[name]

    def _for_task(self, task: str, name: str | None = None) -> Checkpoint:
        """The model `name` (it must do `task`'s job), else the first loaded model that does it:
        one of that task, else one of a task that serves it."""
        job = TASKS[task].job
        if name is not None:
            ckpt = self.checkpoint(name)
            if TASKS[ckpt.task].job != job:
                raise BadInputError(f"model {name!r} does {TASKS[ckpt.task].job}, not {job}")
            return ckpt
        if job not in self._answers:
            own = [c for c in self._models.values() if c.task == job]
            serving = [c for c in self._models.values() if TASKS[c.task].job == job]
            if not (own or serving):
                raise ModelError(f"no {job} model loaded")
            self._answers[job] = (own or serving)[0]
        return self._answers[job]

    def _vae(self, controls: Controls) -> Checkpoint:
        if controls.model is None:
            return self._for_task("vae")
        ckpt = self.checkpoint(controls.model)
        if not TASKS[ckpt.task].latent:
            raise BadInputError(
                f"model {ckpt.name!r} does {ckpt.task}, not vae (sample/encode/decode need a "
                "model with a latent)"
            )
        return ckpt

    # -- the VAE verbs

    def sample(self, controls: Controls | None = None) -> np.ndarray:
        controls = controls or Controls()
        ckpt = self._vae(controls)
        rng = self._rng(controls)
        if controls.style is None:  # the checkpoint's prior (`inference.prior`), else N(0, I)
            z = prior_latents(ckpt.extras, ckpt.z_dim, 1, rng)[0]
        else:
            eps = rng.standard_normal(ckpt.z_dim).astype(np.float32)
            stats = self._style(ckpt, controls.style, rng)
            z = stats["mu"] + stats["std"] * eps
        return self._decode(ckpt, z, controls, rng)

    def encode(self, pattern: np.ndarray, controls: Controls | None = None) -> np.ndarray:
        """The latent mean of a pattern: (steps, 27) -> (z_dim,)."""
        ckpt = self._vae(controls or Controls())
        x = TASKS[ckpt.task].model_input(self._check_pattern(pattern, ckpt.steps))
        with torch.inference_mode():
            mu, _ = self._vae_fns[ckpt.name].encode(torch.from_numpy(np.ascontiguousarray(x[None])))
        return mu[0].numpy().copy()

    def decode(self, z: np.ndarray, controls: Controls | None = None) -> np.ndarray:
        controls = controls or Controls()
        ckpt = self._vae(controls)
        return self._decode(ckpt, self._check_z(z, ckpt.z_dim), controls)

    def decode_many(
        self, zs: Sequence[np.ndarray], controls: Sequence[Controls]
    ) -> list[np.ndarray]:
        """`decode` for several latents, each with its own controls: one model call per model.
        A batch of 8 costs about twice one decode (the server batches clients' waiting decodes
        with it), and each result is the one `decode` would give."""
        models = [self._vae(c) for c in controls]
        out: list[np.ndarray] = [np.empty(0)] * len(zs)
        groups: dict[str, list[int]] = {}
        for i, ckpt in enumerate(models):
            groups.setdefault(ckpt.name, []).append(i)
        for name, rows in groups.items():
            ckpt = self._models[name]
            z = np.stack([self._check_z(zs[i], ckpt.z_dim) for i in rows])
            fns = self._vae_fns[name]
            if not fns.batches:
                for row, i in enumerate(rows):
                    out[i] = self._decode(ckpt, z[row], controls[i])
                continue
            cs = [controls[i] for i in rows]
            noise = np.concatenate([hit_noise(self._rng(c), ckpt.steps, c.temperature) for c in cs])
            bias = torch.cat([threshold_bias(c.thresholds) for c in cs])
            with torch.inference_mode():
                patterns = fns.pattern(torch.from_numpy(z), torch.from_numpy(noise), bias).numpy()
            for row, i in enumerate(rows):
                out[i] = patterns[row]
        return out

    def interpolate(
        self, a: np.ndarray, b: np.ndarray, t: float, controls: Controls | None = None
    ) -> np.ndarray:
        """Slerp between two latents (or two patterns, encoded first): -> (z_dim,)."""
        if not np.isfinite(t):
            raise BadInputError(f"interpolation position must be a number; got {t}")
        controls = controls or Controls()
        z_dim = self._vae(controls).z_dim

        def latent(v: np.ndarray) -> np.ndarray:
            return self.encode(v, controls) if np.ndim(v) == 2 else self._check_z(v, z_dim)

        za, zb = latent(a), latent(b)
        return slerp(za, zb, float(t))

    # -- task models

    def transform(
        self, task: str, pattern: np.ndarray, controls: Controls | None = None
    ) -> np.ndarray:
        """One pattern task (humanize, drumify, infill: `pattern_tasks()`), as the answering
        model's record says: the model reads its task's input, and its answer merges back into
        `pattern`."""
        controls = controls or Controls()
        job = TASKS[task].job
        ckpt = self._for_task(job, controls.task_models.get(job))
        record = TASKS[ckpt.task]  # the model's own: a course drumify model reads its groove
        x = self._check_pattern(pattern, ckpt.steps)
        x_in = record.model_input(x)
        if record.busyness is not None and controls.busyness is not None:
            x_in = record.busyness(x_in, controls.busyness)
        # all_hits: every voice forced on, the model's velocities and offsets everywhere (drawn
        # at the request's temperature and seed by a model that has a spread)
        decode_with = replace(controls, thresholds=0.0) if record.all_hits else controls
        run = self._run_direct if ckpt.kind == "direct" else self._run_vae
        return record.merge(x, run(ckpt, x_in, decode_with))

    def humanize(self, pattern: np.ndarray, controls: Controls | None = None) -> np.ndarray:
        """Same hits as `pattern`, with the velocities and timing a humanize model gives them."""
        return self.transform("humanize", pattern, controls)

    def drumify(self, pattern: np.ndarray, controls: Controls | None = None) -> np.ndarray:
        """A full kit for the rhythm of `pattern` (all its voices tapped into one)."""
        return self.transform("drumify", pattern, controls)

    def infill(self, pattern: np.ndarray, controls: Controls | None = None) -> np.ndarray:
        """New closed hi-hats for `pattern`: its other voices exactly as they are, its own closed
        hi-hat (if any) replaced by the one an infill model writes for them."""
        return self.transform("infill", pattern, controls)

    def continue_(
        self, pattern: np.ndarray, bars: int = 2, controls: Controls | None = None
    ) -> np.ndarray:
        """`16 * bars` steps that follow `pattern`, predicted one step at a time."""
        controls = controls or Controls()
        ckpt = self._for_task("next_step")
        bars = int(bars)
        if not 1 <= bars <= MAX_CONTINUE_BARS:
            raise BadInputError(f"bars must be 1..{MAX_CONTINUE_BARS}; got {bars}")
        x = self._check_pattern(pattern, None)
        context = ckpt.steps
        history = np.zeros((context + STEPS_PER_BAR * bars, FEATURES), np.float32)
        keep = x[-context:]
        history[context - len(keep) : context] = keep
        rng = self._rng(controls)
        bias = threshold_bias(controls.thresholds)
        with torch.inference_mode():
            for t in range(context, len(history)):
                window = torch.from_numpy(history[None, t - context : t])
                logits, vel, off = (o[:, None] for o in ckpt.model(window))  # one step
                noise = torch.from_numpy(hit_noise(rng, 1, controls.temperature))
                history[t] = assemble(logits, vel, off, noise, bias).numpy()[0, 0]
        return history[context:].copy()

    # -- helpers

    def _rng(self, controls: Controls) -> np.random.Generator:
        """A new generator for a seeded request (repeatable), else the engine's own: seeding a
        new one from the OS on every unseeded request costs more than the draw itself."""
        return self._random if controls.seed is None else np.random.default_rng(controls.seed)

    def _style(
        self, ckpt: Checkpoint, style: str, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """The Gaussian to sample `style` from: one of its mixture components, picked by weight,
        when the checkpoint has them (see `pdbridge.train.styles`), else the style's one Gaussian."""
        styles = ckpt.extras.get("styles", {})
        if style not in styles:
            have = ", ".join(sorted(styles)) or "none"
            raise BadInputError(f"model {ckpt.name!r} has no style {style!r}; styles: {have}")
        s = styles[style]
        mix = s.get("components")
        if mix:
            weight = np.asarray(mix["weight"], np.float64)
            k = int(rng.choice(len(weight), p=weight / weight.sum()))
            s = {"mu": mix["mu"][k], "std": mix["std"][k]}
        return {k: np.asarray(s[k], np.float32) for k in ("mu", "std")}

    def _run_vae(self, ckpt: Checkpoint, x: np.ndarray, controls: Controls) -> np.ndarray:
        """Encode the mean, decode it into a (steps, 27) pattern."""
        with torch.inference_mode():
            mu, _ = self._vae_fns[ckpt.name].encode(torch.from_numpy(np.ascontiguousarray(x[None])))
        return self._decode(ckpt, mu[0].numpy(), controls)

    def _run_direct(self, ckpt: Checkpoint, x: np.ndarray, controls: Controls) -> np.ndarray:
        """A direct model's answer for its input `x` (steps, features): (steps, 27). The
        temperature and seed draw its hits and, for a model with a scale per hit (feel_net),
        its velocities and offsets."""
        rng = self._rng(controls)
        noise = hit_noise(rng, ckpt.steps, controls.temperature)
        spread = spread_noise(rng, ckpt.steps, controls.temperature)
        with torch.inference_mode():
            pattern = self._direct_fns[ckpt.name](
                torch.from_numpy(np.ascontiguousarray(x[None], dtype=np.float32)),
                torch.from_numpy(noise),
                threshold_bias(controls.thresholds),
                torch.from_numpy(spread),
            )
        return pattern.numpy()[0]

    def _decode(
        self,
        ckpt: Checkpoint,
        z: np.ndarray,
        controls: Controls,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        rng = rng if rng is not None else self._rng(controls)
        noise = hit_noise(rng, ckpt.steps, controls.temperature)
        with torch.inference_mode():
            pattern = self._vae_fns[ckpt.name].pattern(
                torch.from_numpy(z[None]),
                torch.from_numpy(noise),
                threshold_bias(controls.thresholds),
            )
        return pattern.numpy()[0]

    @staticmethod
    def _check_pattern(pattern: np.ndarray, steps: int | None) -> np.ndarray:
        x = np.asarray(pattern, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != FEATURES or len(x) == 0:
            raise BadInputError(f"a pattern is (steps, {FEATURES}); got {x.shape}")
        if steps is not None and x.shape[0] != steps:
            raise BadInputError(f"this model reads {steps} steps; got {x.shape[0]}")
        if not np.all(np.isfinite(x)):
            raise BadInputError("pattern contains NaN or infinity")
        return clean_array(x)

    @staticmethod
    def _check_z(z: np.ndarray, z_dim: int) -> np.ndarray:
        z = np.asarray(z, dtype=np.float32).ravel()
        if z.shape != (z_dim,):
            raise BadInputError(f"a latent vector has {z_dim} values; got {z.size}")
        if not math.isfinite(z.sum()) and not np.isfinite(z).all():  # one reduction if fine
            raise BadInputError("latent vector contains NaN or infinity")
        return z


def configure_torch(threads: int = 1) -> None:
    """How a process that answers requests runs torch; set once by the server, the clip tools and
    the benchmarks. `threads` CPU threads (1 leaves the other cores to Pd), and torch's own
    convolution kernels: at batch 1 on these small layers oneDNN's cost more than they compute
    (conv_vae decode 440 -> 360 us on the 2-core test machine)."""
    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = False












