"""`pdbridge train`: train a model on a dataset folder (`pdbridge.train.trainer`)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from pdbridge.core.errors import BadInputError
from pdbridge.models import registry
from pdbridge.train.trainer import VALIDATION_SPLIT, TrainConfig, train

log = logging.getLogger(__name__)

def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument(
        "model", help=f"a model name ({', '.join(registry.REGISTRY)}) or a JSON training config"
    )
    parser.add_argument(
        "--data", type=Path, required=True, help="dataset folder (GMD or .mid files)"
    )
    parser.add_argument("--out", type=Path, help="run folder (default runs/<model>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a model config field, e.g. --set z_dim=32 (repeatable)",
    )
    parser.add_argument("--export", type=Path, help="also copy the best checkpoint here")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    source = Path(args.model)
    if source.suffix == ".json":
        try:
            config = TrainConfig.from_dict(json.loads(source.read_text()), where=str(source))
        except FileNotFoundError:
            raise BadInputError(f"{source}: no such training config") from None
        except json.JSONDecodeError as e:
            raise BadInputError(f"{source}: not valid JSON ({e})") from None
    else:
        registry.spec(args.model)
        config = TrainConfig(model=args.model)
    for name in ("epochs", "batch_size", "lr", "seed", "threads"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise BadInputError(f"--set {item}: expected FIELD=VALUE")
        try:
            config.model_config[key] = json.loads(value)
        except json.JSONDecodeError:
            config.model_config[key] = value
    registry.config_from_dict(config.model, config.model_config)  # fail early on a typo
    return config


def run(args: argparse.Namespace) -> int:
    from pdbridge.train.dataset import DatasetConfig, load_windows

    config = config_from_args(args)
    out = args.out or Path("runs") / (Path(args.model).stem.replace(".train", ""))
    windows = load_windows(args.data, DatasetConfig())
    train_w, val_w = windows.where(split="train"), windows.where(split=VALIDATION_SPLIT)
    log.info("%d training and %d validation windows from %s", len(train_w), len(val_w), args.data)
    data_info = {"path": str(args.data), "dataset_config": "DatasetConfig() defaults"}
    result = train(config, train_w.x, val_w.x, out, args.resume, train_w.style, data_info)
    best = result.metrics
    print(
        f"best epoch {best['epoch']}: val loss {best['val_loss']:.3f}, "
        f"val hit F1 {best['val_hit_f1']:.4f}; {result.best_path}  (curves: {out / 'losses.png'})"
    )
    if args.export:
        args.export.parent.mkdir(parents=True, exist_ok=True)
        args.export.write_bytes(result.best_path.read_bytes())
        print(f"exported {args.export}")
    return 0
