"""Experiment: can a humanize model reach <= 16.6 ms validation timing MAE (-20% vs baseline)?

Not part of pdbridge: a standalone experiment, outputs under runs/exp_humanize/.

    # the shipped model and the baseline, scored by pdbridge.evaluate.task_metrics (the numbers in docs)
    python scripts/experiments/humanize_tempo.py reference
    # one variant (deterministic regressor; see --help for the switches)
    python scripts/experiments/humanize_tempo.py train --name dconv_tempo_l1ms --tempo --off-loss l1ms

Data: the Groove MIDI Dataset's train and validation splits only (DatasetConfig(splits=...)), the
same windows `pdbridge eval` builds for those splits. Scoring: the predicted velocities/offsets are
put on the input's hits exactly as `Engine.humanize` does (hits of the input, `clean_array`), then
`pdbridge.core.metrics.velocity_mae` / `timing_mae_ms` at each window's bpm, as in
`pdbridge.evaluate.task_metrics.humanize_scores`.

Variants (all deterministic: no latent, no KL):
- arch `dconv`: 1x1 stem, then residual blocks of dilated 'same' convolutions (dilations
  1, 2, 4, 8, 16 twice: every step sees the whole 2 bars), a learned position embedding per step.
- arch `tf`: a small transformer encoder over the 32 steps (learned positions).
- `--tempo`: log(bpm / 120) enters through a small MLP added to every step's features.
- `--off-loss`: `sq` squared error in steps (as groove_objective), `l1` absolute error in steps,
  `l1ms` absolute error in ms / 125 (ms at the window's tempo; 125 ms = a step at 120 bpm),
  `sqms` squared error in (ms / 125)^2.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pdbridge.core import metrics
from pdbridge.core.pattern import HITS, OFFSETS, VELOCITIES, clean_array
from pdbridge.evaluate.task_metrics import humanize_baseline, humanize_scores
from pdbridge.inference import checkpoint
from pdbridge.models.registry import task_input
from pdbridge.train.dataset import DatasetConfig, load_windows

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "groove"
OUT = ROOT / "runs" / "exp_humanize"
SPLITS = ("train", "validation")  # never the test split
STEPS = 32
VOICES = 9


def load() -> tuple:
    w = load_windows(
        DATA, DatasetConfig(splits=SPLITS), cache_dir=OUT / "cache", show_progress=False
    )
    tr, va = w.where(split="train"), w.where(split="validation")
    return tr, va


def assemble(x: np.ndarray, vel: np.ndarray, off: np.ndarray) -> np.ndarray:
    """What Engine.humanize returns: the input's hits with the model's velocities and offsets."""
    return clean_array(np.concatenate([x[..., HITS], vel, off], axis=-1))


def score(x: np.ndarray, bpm: np.ndarray, vel: np.ndarray, off: np.ndarray) -> dict[str, float]:
    pred = assemble(x, vel, off)
    return {
        "velocity_mae": metrics.velocity_mae(pred, x),
        "timing_mae_ms": metrics.timing_mae_ms(pred, x, bpm),
    }


# ---------------------------------------------------------------------------- reference


def reference() -> None:
    tr, va = load()
    print(f"{len(tr)} train, {len(va)} validation windows")
    ckpt = checkpoint.load(ROOT / "models" / "humanize.pt")
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    s = humanize_scores(ckpt, va.x, va.bpm, tr.x)  # through the engine, as pdbridge eval does
    s["seconds"] = round(time.perf_counter() - t0, 1)
    # the same model scored by this script's own path (batch forward), to check `score`
    with torch.no_grad():
        model = ckpt.model.eval()
        x_in = torch.from_numpy(np.ascontiguousarray(task_input("humanize", va.x)))
        mu, _ = model.encode(x_in)
        _, vel, off = model.decode(mu)
    own = score(va.x, va.bpm, vel.numpy(), off.numpy())
    s["own_path_velocity_mae"], s["own_path_timing_mae_ms"] = own["velocity_mae"], own["timing_mae_ms"]
    base = humanize_baseline(va.x, tr.x)
    b = score(va.x, va.bpm, base[..., VELOCITIES], base[..., OFFSETS])
    s["own_path_baseline_velocity_mae"] = b["velocity_mae"]
    s["own_path_baseline_timing_mae_ms"] = b["timing_mae_ms"]
    # the oracle of docs/models.md: each window's own per-voice mean offset (velocity untouched)
    hits = va.x[..., HITS]
    mean_off = (va.x[..., OFFSETS] * hits).sum(1, keepdims=True) / np.maximum(
        hits.sum(1, keepdims=True), 1
    )
    o = score(va.x, va.bpm, base[..., VELOCITIES], np.broadcast_to(mean_off, hits.shape) * hits)
    s["oracle_window_voice_mean_timing_mae_ms"] = o["timing_mae_ms"]
    print(json.dumps(s, indent=1))
    (OUT / "reference.json").write_text(json.dumps(s, indent=1) + "\n")


# ---------------------------------------------------------------------------- models


def tempo_feature(bpm: torch.Tensor) -> torch.Tensor:
    return torch.log(bpm / 120.0)[:, None]  # (B, 1)


class DilatedBlock(nn.Module):
    def __init__(self, c: int, dilation: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.GELU(),
            nn.Conv1d(c, c, 3, padding=dilation, dilation=dilation),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv1d(c, c, 1),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.net(h)


class Humanizer(nn.Module):
    """(B, 32, 27) task input [+ bpm] -> velocities (B, 32, 9) in [0, 1], offsets in [-0.5, 0.5]."""

    def __init__(self, arch: str, channels: int, tempo: bool, dropout: float, layers: int):
        super().__init__()
        self.arch, self.use_tempo = arch, tempo
        c = channels
        self.stem = nn.Linear(VOICES, c)  # the input's hits (its velocities are all 0.8)
        self.pos = nn.Parameter(torch.zeros(STEPS, c))
        nn.init.normal_(self.pos, std=0.1)
        if tempo:
            self.tempo = nn.Sequential(nn.Linear(1, c), nn.GELU(), nn.Linear(c, c))
        if arch == "dconv":
            dil = [1, 2, 4, 8, 16] * max(1, layers // 5)
            self.body = nn.Sequential(*[DilatedBlock(c, d, dropout) for d in dil])
        elif arch == "tf":
            layer = nn.TransformerEncoderLayer(
                c, 4, 2 * c, dropout, activation="gelu", batch_first=True, norm_first=True
            )
            self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        else:
            raise ValueError(arch)
        self.head = nn.Sequential(nn.GELU(), nn.Linear(c, 2 * VOICES))

    def forward(self, x_in: torch.Tensor, bpm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.stem(x_in[..., HITS]) + self.pos  # (B, T, C)
        if self.use_tempo:
            h = h + self.tempo(tempo_feature(bpm))[:, None, :]
        if self.arch == "dconv":
            h = self.body(h.transpose(1, 2)).transpose(1, 2)
        else:
            h = self.body(h)
        vel, off = self.head(h).split(VOICES, dim=-1)
        return torch.sigmoid(vel), 0.5 * torch.tanh(off)


def loss_fn(vel, off, target, bpm, args) -> tuple[torch.Tensor, dict[str, float]]:
    hits, t_vel, t_off = target.split(VOICES, dim=-1)
    b = target.shape[0]
    dv = vel - t_vel
    v = (hits * (dv.abs() if args.vel_loss == "l1" else dv**2)).sum() / b
    do = off - t_off
    if args.off_loss.endswith("ms"):
        do = do * (60_000.0 / bpm / 4.0 / 125.0)[:, None, None]  # in units of 125 ms
    o = (hits * (do.abs() if args.off_loss.startswith("l1") else do**2)).sum() / b
    loss = args.vel_weight * v + args.off_weight * o
    return loss, {"vel": v.item(), "off": o.item(), "loss": loss.item()}


@torch.no_grad()
def predict(model, x_in, bpm, batch=1024) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    vs, os_ = [], []
    for i in range(0, len(x_in), batch):
        v, o = model(x_in[i : i + batch], bpm[i : i + batch])
        vs.append(v.numpy())
        os_.append(o.numpy())
    return np.concatenate(vs), np.concatenate(os_)


def train(args) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    out = OUT / args.name
    out.mkdir(parents=True, exist_ok=True)
    tr, va = load()
    x_tr = torch.from_numpy(np.ascontiguousarray(task_input("humanize", tr.x)))
    y_tr = torch.from_numpy(np.ascontiguousarray(tr.x))
    b_tr = torch.from_numpy(tr.bpm.astype(np.float32))
    x_va = torch.from_numpy(np.ascontiguousarray(task_input("humanize", va.x)))
    y_va = torch.from_numpy(np.ascontiguousarray(va.x))
    b_va = torch.from_numpy(va.bpm.astype(np.float32))
    model = Humanizer(args.arch, args.channels, args.tempo, args.dropout, args.layers)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    batches = math.ceil(len(x_tr) / args.batch_size)
    total = batches * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=total, pct_start=0.1
    )
    print(f"{args.name}: {n_params} parameters, {len(x_tr)} train windows", flush=True)
    history, best, t_start = [], None, time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.from_numpy(np.random.default_rng([args.seed, epoch]).permutation(len(x_tr)))
        sums = {}
        for bi in range(batches):
            idx = order[bi * args.batch_size : (bi + 1) * args.batch_size]
            vel, off = model(x_tr[idx], b_tr[idx])
            loss, logs = loss_fn(vel, off, y_tr[idx], b_tr[idx], args)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v / batches
        vel, off = predict(model, x_va, b_va)
        with torch.no_grad():
            _, vlogs = loss_fn(torch.from_numpy(vel), torch.from_numpy(off), y_va, b_va, args)
        s = score(va.x, va.bpm, vel, off)
        row = {
            "epoch": epoch + 1,
            "minutes": round((time.perf_counter() - t_start) / 60, 2),
            **{f"train_{k}": round(v, 5) for k, v in sums.items()},
            **{f"val_{k}": round(v, 5) for k, v in vlogs.items()},
            **{k: round(v, 3) for k, v in s.items()},
        }
        history.append(row)
        print(json.dumps(row), flush=True)
        if best is None or vlogs["loss"] < best["val_loss"]:  # select by validation loss
            best = row
            torch.save(
                {"state_dict": model.state_dict(), "args": vars(args), "metrics": row},
                out / "best.pt",
            )
    result = {
        "name": args.name,
        "args": vars(args),
        "parameters": n_params,
        "best_by_val_loss": best,
        "last": history[-1],
        "history": history,
    }
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print("BEST", json.dumps(best), flush=True)


# ---------------------------------------------------------------------------- analysis


def analyze() -> None:
    """Non-neural probes of how much tempo and the hit pattern say about the offsets."""
    tr, va = load()
    hits_tr, hits_va = tr.x[..., HITS], va.x[..., HITS]
    base = humanize_baseline(va.x, tr.x)
    out: dict[str, float] = {}
    out["baseline"] = score(va.x, va.bpm, base[..., VELOCITIES], base[..., OFFSETS])["timing_mae_ms"]
    # 1. per-(step, voice) means within tempo bins (tempo alone as extra information)
    for nb in (3, 6, 10):
        edges = np.quantile(tr.bpm, np.linspace(0, 1, nb + 1)[1:-1])
        btr, bva = np.digitize(tr.bpm, edges), np.digitize(va.bpm, edges)
        off = np.zeros_like(hits_va)
        for b in range(nb):
            sel = btr == b
            if sel.sum() == 0:
                continue
            off[bva == b] = humanize_baseline(va.x[bva == b], tr.x[sel])[..., OFFSETS]
        out[f"tempo_bins_{nb}"] = score(va.x, va.bpm, base[..., VELOCITIES], off)["timing_mae_ms"]
    # 2. k nearest train windows by hit pattern (+ tempo), mean/median of their offsets per cell
    a = hits_va.reshape(len(va), -1)
    b = hits_tr.reshape(len(tr), -1)
    ham = a @ (1 - b).T + (1 - a) @ b.T  # (Nva, Ntr)
    dt = np.abs(np.log(va.bpm)[:, None] - np.log(tr.bpm)[None, :])
    off_tr = tr.x[..., OFFSETS]
    for name, dist in (("pattern", ham), ("pattern+tempo", ham + 40.0 * dt)):
        order = np.argsort(dist, axis=1)
        for k in (5, 20, 50):
            nn_idx = order[:, :k]
            h = hits_tr[nn_idx]  # (Nva, k, T, V)
            o = off_tr[nn_idx]
            cnt = h.sum(1)
            mean = np.where(cnt > 0, (o * h).sum(1) / np.maximum(cnt, 1), base[..., OFFSETS])
            masked = np.where(h > 0, o, np.nan)
            with np.errstate(all="ignore"):
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    med = np.nanmedian(masked, axis=1)
            med = np.where(cnt > 0, med, base[..., OFFSETS])
            for stat, off in (("mean", mean), ("median", med)):
                r = score(va.x, va.bpm, base[..., VELOCITIES], off * hits_va)["timing_mae_ms"]
                out[f"knn_{name}_k{k}_{stat}"] = r
    # 3. per voice: baseline vs oracle (window's own per-voice mean)
    mean_off = (va.x[..., OFFSETS] * hits_va).sum(1, keepdims=True) / np.maximum(
        hits_va.sum(1, keepdims=True), 1
    )
    step_ms = metrics.ms_per_step(va.bpm)[:, None, None]
    e_base = np.abs(base[..., OFFSETS] - va.x[..., OFFSETS]) * step_ms
    e_orc = np.abs(mean_off - va.x[..., OFFSETS]) * step_ms
    m = hits_va > 0
    for v in range(VOICES):
        mv = m[..., v]
        out[f"voice{v}_n"] = int(mv.sum())
        out[f"voice{v}_baseline_ms"] = float(e_base[..., v][mv].mean())
        out[f"voice{v}_oracle_ms"] = float(e_orc[..., v][mv].mean())
    out["val_bpm_range"] = [float(va.bpm.min()), float(va.bpm.max())]
    out["train_val_sources_shared"] = len(set(tr.source) & set(va.source))
    print(json.dumps(out, indent=1))
    (OUT / "analysis.json").write_text(json.dumps(out, indent=1) + "\n")


def analyze_style() -> None:
    """Per-(step, voice) means within each style (the GMD style label as extra information)."""
    tr, va = load()
    base = humanize_baseline(va.x, tr.x)
    off = base[..., OFFSETS].copy()
    for st in np.unique(va.style):
        sel = tr.style == st
        if sel.sum() >= 20:
            off[va.style == st] = humanize_baseline(va.x[va.style == st], tr.x[sel])[..., OFFSETS]
    out = {"style_means": score(va.x, va.bpm, base[..., VELOCITIES], off)["timing_mae_ms"]}
    out["val_style_counts"] = {k: int(v) for k, v in va.counts("style").items()}
    out["train_style_counts"] = {k: int(v) for k, v in tr.counts("style").items()}
    print(json.dumps(out, indent=1))
    (OUT / "analysis_style.json").write_text(json.dumps(out, indent=1) + "\n")


def reference_index(w, min_gap: int = 2) -> np.ndarray:
    """For each window, another window of the same take that does not overlap it (windows hop
    one bar, so index distance >= 2 within a take is disjoint); the nearest such one, later
    first; -1 when the take has none. Windows of a take are stored in time order."""
    ref = np.full(len(w), -1)
    for src in np.unique(w.source):
        idx = np.flatnonzero(w.source == src)
        for k, i in enumerate(idx):
            for d in range(min_gap, len(idx)):
                if k + d < len(idx):
                    ref[i] = idx[k + d]
                    break
                if k - d >= 0:
                    ref[i] = idx[k - d]
                    break
    return ref


def voice_feel(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-voice mean offset (N, 9) and hit count (N, 9) of windows x."""
    h = x[..., HITS]
    cnt = h.sum(1)
    return (x[..., OFFSETS] * h).sum(1) / np.maximum(cnt, 1), cnt


def analyze_reference() -> None:
    """Offsets from another (disjoint) window of the same take: the groove-template idea."""
    tr, va = load()
    base = humanize_baseline(va.x, tr.x)
    vel_b, off_b = base[..., VELOCITIES], base[..., OFFSETS]
    hits = va.x[..., HITS]
    ref = reference_index(va)
    has = ref >= 0
    out = {"val_windows_with_reference": int(has.sum()), "val_windows": len(va)}
    r = va.x[np.where(has, ref, 0)]
    r_mean, r_cnt = voice_feel(r)
    r_cnt = r_cnt * has[:, None]
    # A: the reference's per-voice mean offset for every hit of that voice
    a = np.where(r_cnt[:, None, :] > 0, r_mean[:, None, :], off_b)
    out["A_ref_voice_mean"] = score(va.x, va.bpm, vel_b, a * hits)["timing_mae_ms"]
    # B: baseline + (reference's mean - baseline's mean at the reference's own hits), per voice
    rb = humanize_baseline(r, tr.x)[..., OFFSETS]
    shift = r_mean - (rb * r[..., HITS]).sum(1) / np.maximum(r[..., HITS].sum(1), 1)
    bb = off_b + np.where(r_cnt > 0, shift, 0)[:, None, :]
    out["B_baseline_plus_ref_shift"] = score(va.x, va.bpm, vel_b, bb * hits)["timing_mae_ms"]
    # C: the reference's own offset at the same (step in bar, voice) when it has a hit there
    rh = r[..., HITS].reshape(len(va), 2, 16, VOICES)
    ro = r[..., OFFSETS].reshape(len(va), 2, 16, VOICES)
    c16 = rh.sum(1)
    o16 = (ro * rh).sum(1) / np.maximum(c16, 1)
    c16 = np.tile(c16, (1, 2, 1)) * has[:, None, None]
    o16 = np.tile(o16, (1, 2, 1))
    cc = np.where(c16 > 0, o16, bb)
    out["C_ref_same_step_else_B"] = score(va.x, va.bpm, vel_b, cc * hits)["timing_mae_ms"]
    # velocity the same way (B-style shift), to see if the reference helps velocity too
    rv = humanize_baseline(r, tr.x)[..., VELOCITIES]
    vshift = (r[..., VELOCITIES] * r[..., HITS]).sum(1) / np.maximum(r[..., HITS].sum(1), 1) - (
        rv * r[..., HITS]
    ).sum(1) / np.maximum(r[..., HITS].sum(1), 1)
    vb = vel_b + np.where(r_cnt > 0, vshift, 0)[:, None, :]
    out["B_velocity_mae"] = score(va.x, va.bpm, vb, bb * hits)["velocity_mae"]
    print(json.dumps(out, indent=1))
    (OUT / "analysis_reference.json").write_text(json.dumps(out, indent=1) + "\n")


def shift_oracles(x, bpm, vel, off) -> dict[str, float]:
    """Timing MAE of a prediction after adding each window's (or bar's) mean residual: how
    much of its error is one timing shift (drift against the grid) rather than feel."""
    hits = x[..., HITS]
    res = (x[..., OFFSETS] - off) * hits
    out = {}
    g = res.sum((1, 2), keepdims=True) / np.maximum(hits.sum((1, 2), keepdims=True), 1)
    out["plus_window_shift"] = score(x, bpm, vel, (off + g) * hits)["timing_mae_ms"]
    rb = res.reshape(len(x), 2, 16, VOICES)
    hb = hits.reshape(len(x), 2, 16, VOICES)
    gb = rb.sum((2, 3), keepdims=True) / np.maximum(hb.sum((2, 3), keepdims=True), 1)
    gb = np.broadcast_to(gb, rb.shape).reshape(x.shape[0], STEPS, VOICES)
    out["plus_bar_shift"] = score(x, bpm, vel, (off + gb) * hits)["timing_mae_ms"]
    gv = res.sum(1, keepdims=True) / np.maximum(hits.sum(1, keepdims=True), 1)
    out["plus_window_voice_shift"] = score(x, bpm, vel, (off + gv) * hits)["timing_mae_ms"]
    return out


def analyze_shift(checkpoints: list[str]) -> None:
    tr, va = load()
    base = humanize_baseline(va.x, tr.x)
    out = {"baseline": shift_oracles(va.x, va.bpm, base[..., VELOCITIES], base[..., OFFSETS])}
    for path in checkpoints:
        data = torch.load(path, weights_only=False)
        a = argparse.Namespace(**data["args"])
        model = Humanizer(a.arch, a.channels, a.tempo, a.dropout, a.layers)
        model.load_state_dict(data["state_dict"])
        x_in = torch.from_numpy(np.ascontiguousarray(task_input("humanize", va.x)))
        vel, off = predict(model, x_in, torch.from_numpy(va.bpm.astype(np.float32)))
        out[path] = score(va.x, va.bpm, vel, off) | shift_oracles(va.x, va.bpm, vel, off)
    print(json.dumps(out, indent=1))
    (OUT / "analysis_shift.json").write_text(json.dumps(out, indent=1) + "\n")


def load_run(path: str) -> Humanizer:
    data = torch.load(path, weights_only=False)
    a = argparse.Namespace(**data["args"])
    model = Humanizer(a.arch, a.channels, a.tempo, a.dropout, a.layers)
    model.load_state_dict(data["state_dict"])
    return model.eval()


def ensemble(checkpoints: list[str]) -> None:
    """Mean velocities and median offsets of several runs' predictions."""
    torch.set_num_threads(1)
    _, va = load()
    x_in = torch.from_numpy(np.ascontiguousarray(task_input("humanize", va.x)))
    bpm = torch.from_numpy(va.bpm.astype(np.float32))
    preds = [predict(load_run(p), x_in, bpm) for p in checkpoints]
    vel = np.mean([v for v, _ in preds], 0)
    out = {"checkpoints": checkpoints}
    out["mean"] = score(va.x, va.bpm, vel, np.mean([o for _, o in preds], 0))
    out["median_offsets"] = score(va.x, va.bpm, vel, np.median([o for _, o in preds], 0))
    print(json.dumps(out, indent=1))
    with (OUT / "ensembles.jsonl").open("a") as fh:
        fh.write(json.dumps(out) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("reference")
    sub.add_parser("analyze")
    sub.add_parser("analyze_style")
    sub.add_parser("analyze_reference")
    sh = sub.add_parser("analyze_shift")
    sh.add_argument("checkpoints", nargs="*")
    en = sub.add_parser("ensemble")
    en.add_argument("checkpoints", nargs="+")
    t = sub.add_parser("train")
    t.add_argument("--name", required=True)
    t.add_argument("--arch", choices=["dconv", "tf"], default="dconv")
    t.add_argument("--channels", type=int, default=64)
    t.add_argument("--layers", type=int, default=10)
    t.add_argument("--tempo", action="store_true")
    t.add_argument("--off-loss", choices=["sq", "l1", "l1ms", "sqms"], default="sq")
    t.add_argument("--vel-loss", choices=["sq", "l1"], default="sq")
    t.add_argument("--vel-weight", type=float, default=2.0)
    t.add_argument("--off-weight", type=float, default=4.0)
    t.add_argument("--dropout", type=float, default=0.1)
    t.add_argument("--weight-decay", type=float, default=0.01)
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.cmd == "reference":
        reference()
    elif args.cmd == "analyze":
        analyze()
    elif args.cmd == "analyze_style":
        analyze_style()
    elif args.cmd == "analyze_reference":
        analyze_reference()
    elif args.cmd == "analyze_shift":
        analyze_shift(args.checkpoints)
    elif args.cmd == "ensemble":
        ensemble(args.checkpoints)
    else:
        train(args)


if __name__ == "__main__":
    main()
