"""`pdbridge models`: the shipped models, their aliases, and what each one is."""

from __future__ import annotations

import argparse
import json
import sys

from pdbridge.core.errors import ModelError
from pdbridge.inference import checkpoint
from pdbridge.models.tasks import TASKS


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def describe() -> dict:
    """{"dir", "aliases", "models": [{name, architecture, kind, task, job, z_dim, steps, size_mb,
    ...}]}; an imported course model also names its source file ("source")."""
    models = []
    for name in checkpoint.shipped():
        path = checkpoint.models_dir() / f"{name}{checkpoint.SUFFIX}"
        entry = {"name": name, "path": str(path), "size_mb": round(path.stat().st_size / 1e6, 2)}
        try:
            c = checkpoint.load(path)
            entry |= {
                "architecture": c.model_name,
                "kind": c.kind,
                "task": c.task,
                "job": TASKS[c.task].job,
                "z_dim": c.z_dim,
                "steps": c.steps,
                "styles": sorted(c.extras.get("styles", {})),
                # e.g. humanize keeps its input's hits: no hit F1 (Task.hit_f1 says why)
                "val_hit_f1": c.metrics.get("val_hit_f1") if TASKS[c.task].hit_f1 else None,
            }
            if "card" in c.extras:
                entry["source"] = c.extras["card"]["source"]["file"]
        except ModelError as e:
            entry["error"] = str(e)
        models.append(entry)
    return {"dir": str(checkpoint.models_dir()), "aliases": checkpoint.aliases(), "models": models}


def run(args: argparse.Namespace) -> int:
    info = describe()
    if args.json:
        json.dump(info, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(f"models in {info['dir']}")
    for m in info["models"]:
        if "error" in m:
            print(f"  {m['name']:<14} BROKEN: {m['error']}")
            continue
        latent = f"z={m['z_dim']}" if m["z_dim"] else "no latent"
        f1 = f"val hit F1 {m['val_hit_f1']:.3f}" if m.get("val_hit_f1") is not None else ""
        source = f"from {m['source']}" if m.get("source") else ""
        print(
            f"  {m['name']:<14} {m['architecture']:<10} kind {m['kind']:<9} task {m['task']:<10} "
            f"{latent:<9} {m['steps']} steps  {m['size_mb']:.1f} MB  {f1} {source}".rstrip()
        )
    for alias, names in info["aliases"].items():
        print(f"  {alias:<14} = {', '.join(names)}")
    return 0
