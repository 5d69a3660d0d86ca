"""`pdbridge train`: train a model on a dataset folder (`pdbridge.train.trainer`)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from pdbridge.cli.options import float_range, input_dir, int_range, output_file, writable_dir
from pdbridge.core import limits, places
from pdbridge.core.errors import BadInputError, PdbridgeError, UsageError
from pdbridge.core.json_files import read_json
from pdbridge.models import registry
from pdbridge.train.trainer import VALIDATION_SPLIT, TrainConfig, train

log = logging.getLogger(__name__)

def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument(
        "model", help=f"a model name ({', '.join(registry.REGISTRY)}) or a JSON training config"
    )
    parser.add_argument(
        "--data", type=input_dir, required=True, help="dataset folder (GMD or .mid files)"
    )
    parser.add_argument("--out", type=writable_dir, help="run folder (default runs/<model>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--epochs", type=int_range(1, limits.MAX_EPOCHS))
    parser.add_argument("--batch-size", type=int_range(1, limits.MAX_BATCH_SIZE))
    parser.add_argument("--lr", type=float_range(0.0, 10.0, lo_open=True))
    parser.add_argument("--seed", type=int_range(0, limits.MAX_SEED))
    parser.add_argument("--threads", type=int_range(1, limits.MAX_THREADS))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a model config field, e.g. --set z_dim=32 (repeatable)",
    )
    parser.add_argument(
        "--export",
        type=output_file(".pt"),
        nargs="?",
        const=True,  # --export alone: into your models folder
        metavar="FILE",
        help="also copy the best checkpoint to FILE (.pt); without FILE into your models folder "
        "as <run>.pt, where /load NAME and serve --model NAME find it (pdbridge paths)",
    )


def check_model_size(name: str, model_config: object, where: str) -> None:
    """Build the model without memory (torch's meta device) to see that the config makes sense
    and the model stays within `limits.MAX_MODEL_PARAMS`."""
    import torch

    try:
        with torch.device("meta"):
            model = registry.build(name, model_config)
    except (TypeError, ValueError, RuntimeError, AttributeError, OverflowError) as e:
        why = " ".join(str(e).split())[:200]
        raise BadInputError(f"{where}: a {name} cannot be built from it ({why})") from None
    params = sum(p.numel() for p in model.parameters())
    if params > limits.MAX_MODEL_PARAMS:
        raise BadInputError(
            f"{where}: a {name} of {params:,} parameters; at most {limits.MAX_MODEL_PARAMS:,}"
        )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    source = Path(args.model)
    if source.suffix == ".json":
        if not source.is_file():
            raise BadInputError(f"{source}: no such training config")
        config = TrainConfig.from_dict(read_json(source), where=str(source))
    else:
        try:
            registry.spec(args.model)
        except PdbridgeError as e:
            raise UsageError(f"argument model: {e}") from None
        config = TrainConfig(model=args.model)
    for name in ("epochs", "batch_size", "lr", "seed", "threads"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"argument --set: {item!r}: expected FIELD=VALUE")
        try:
            config.model_config[key] = json.loads(value)
        except (ValueError, RecursionError):
            config.model_config[key] = value
    # A typo or an impossible size fails here, before any data is read: named by --set (a
    # usage error) or by the config file (a bad input).
    where = "argument --set" if args.set else str(source)
    error = UsageError if args.set else BadInputError
    try:
        model_config = registry.config_from_dict(config.model, config.model_config)
        check_model_size(config.model, model_config, where)
    except PdbridgeError as e:
        raise error(str(e) if str(e).startswith(where) else f"{where}: {e}") from None
    return config


def run(args: argparse.Namespace) -> int:
    from pdbridge.train.dataset import DatasetConfig, load_windows

    config = config_from_args(args)
    out = args.out or writable_dir(str(Path("runs") / Path(args.model).stem.replace(".train", "")))
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
    if args.export is not None:
        export = args.export
        if export is True:  # --export without FILE
            export = places.user_models_dir() / f"{Path(out).name}.pt"
        export.parent.mkdir(parents=True, exist_ok=True)
        export.write_bytes(result.best_path.read_bytes())
        print(f"exported {export}")
    return 0
