"""Drum performances -> 2-bar training windows, cached.

Reads a folder in the Groove MIDI Dataset layout (`info.csv` + MIDI files; whatever splits it
lists) or, as a fallback, any folder of `.mid` files (split 90/10 into train/validation by a hash
of the file name, so a user's own collection gets a validation set too).

Each performance becomes a `Pattern`, cut into windows of `bars` bars with a hop of `hop_bars`;
windows with fewer than `min_hits` hits are dropped. Performances shorter than a window give none.
The result (`Windows`) is cached as an .npz keyed by the settings and the files' sizes and
modification times, so a second load takes a fraction of a second.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from pdbridge.core import places
from pdbridge.core.errors import BadInputError
from pdbridge.core.midi import DRUM_CHANNEL, DrumMap, read_midi
from pdbridge.core.pattern import FEATURES, STEPS_PER_BAR
from pdbridge.core.progress import progress

log = logging.getLogger(__name__)
CACHE_VERSION = 1


@dataclass(frozen=True)
class DatasetConfig:
    splits: tuple[str, ...] | None = None  # None: every split the folder has
    time_signature: str | None = "4-4"  # None: any
    beat_types: tuple[str, ...] = ("beat", "fill")
    bars: int = 2
    hop_bars: int = 1
    min_hits: int = 4  # drop windows with almost no hits (silence, a lone crash)
    channel: int | None = DRUM_CHANNEL
    drum_map: DrumMap = field(default_factory=DrumMap)

    @property
    def steps(self) -> int:
        return self.bars * STEPS_PER_BAR


@dataclass
class Performance:
    """One MIDI file and what the dataset's index says about it."""

    path: Path
    split: str
    style: str  # primary style: "funk" for "funk/groove1"
    beat_type: str  # "beat", "fill" or "" when unknown
    time_signature: str  # "4-4", or "" when the index does not say
    drummer: str = ""


@dataclass
class Windows:
    """Training windows: `x` is (N, steps, 27) float32; the rest are (N,) per-window labels."""

    x: np.ndarray
    bpm: np.ndarray
    style: np.ndarray
    split: np.ndarray
    source: np.ndarray
    beat_type: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def select(self, mask: np.ndarray) -> Windows:
        return Windows(**{k: v[mask] for k, v in self.__dict__.items()})

    def where(self, split: str | None = None, style: str | None = None) -> Windows:
        mask = np.ones(len(self), bool)
        if split is not None:
            mask &= self.split == split
        if style is not None:
            mask &= self.style == style
        return self.select(mask)

    def counts(self, by: str) -> Counter:
        return Counter(getattr(self, by).tolist())


# ---------------------------------------------------------------------------- finding files


def find_performances(root: Path) -> list[Performance]:
    root = Path(root)
    if not root.is_dir():
        raise BadInputError(f"{root}: not a folder")
    info = root / "info.csv"
    if info.exists():
        return _gmd_performances(root, info)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise BadInputError(f"{root}: no info.csv and no .mid files")
    return [
        Performance(
            path=f,
            # A stable 90/10 split by file name, so re-runs and other machines agree.
            split="validation"
            if zlib.crc32(str(f.relative_to(root)).encode()) % 10 == 0
            else "train",
            style=f.parent.name if f.parent != root else "unknown",
            beat_type="",
            time_signature="",
        )
        for f in files
    ]


def _gmd_performances(root: Path, info: Path) -> list[Performance]:
    out = []
    with info.open(newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"midi_filename", "split", "style", "beat_type", "time_signature"}
        if not need <= set(reader.fieldnames or ()):
            raise BadInputError(
                f"{info}: missing columns {sorted(need - set(reader.fieldnames or ()))}"
            )
        for row in reader:
            out.append(
                Performance(
                    path=root / row["midi_filename"],
                    split=row["split"],
                    style=row["style"].split("/")[0],
                    beat_type=row["beat_type"],
                    time_signature=row["time_signature"],
                    drummer=row.get("drummer", ""),
                )
            )
    return out


# ---------------------------------------------------------------------------- windows


def performance_windows(perf: Performance, config: DatasetConfig) -> tuple[np.ndarray, float, str]:
    """(n, steps, 27) windows of one performance, its tempo and its meter ("4-4")."""
    drums = read_midi(perf.path, config.drum_map, channel=config.channel)
    a = drums.pattern.to_array()
    steps, hop = config.steps, config.hop_bars * STEPS_PER_BAR
    starts = range(0, len(a) - steps + 1, hop)
    wins = [a[s : s + steps] for s in starts]
    wins = [w for w in wins if w[:, :9].sum() >= config.min_hits]
    x = np.stack(wins) if wins else np.zeros((0, steps, FEATURES), np.float32)
    return x, drums.pattern.bpm, "{}-{}".format(*drums.time_signature)


def _selected(perfs: list[Performance], config: DatasetConfig) -> list[Performance]:
    keep = []
    for p in perfs:
        if config.splits is not None and p.split not in config.splits:
            continue
        if config.time_signature and p.time_signature and p.time_signature != config.time_signature:
            continue
        if p.beat_type and p.beat_type not in config.beat_types:
            continue
        keep.append(p)
    return keep


def build_windows(root: Path, config: DatasetConfig, show_progress: bool = True) -> Windows:
    perfs = _selected(find_performances(root), config)
    xs, labels = [], {k: [] for k in ("bpm", "style", "split", "source", "beat_type")}
    skipped = 0
    for perf in progress(perfs, "reading MIDI", enabled=show_progress):
        try:
            x, bpm, meter = performance_windows(perf, config)
        except BadInputError as e:
            log.warning("skipping %s", e)
            skipped += 1
            continue
        if config.time_signature and meter != config.time_signature:
            continue  # the index said nothing (or was wrong): the file's own meter decides
        xs.append(x)
        n = len(x)
        labels["bpm"] += [bpm] * n
        labels["style"] += [perf.style] * n
        labels["split"] += [perf.split] * n
        labels["source"] += [str(perf.path.relative_to(root))] * n
        labels["beat_type"] += [perf.beat_type] * n
    if skipped:
        log.warning("%d of %d files could not be read", skipped, len(perfs))
    x = np.concatenate(xs) if xs else np.zeros((0, config.steps, FEATURES), np.float32)
    return Windows(
        x=x.astype(np.float32),
        bpm=np.asarray(labels["bpm"], np.float32),
        **{k: np.asarray(labels[k], dtype=str) for k in ("style", "split", "source", "beat_type")},
    )


# ---------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """`$PDBRIDGE_CACHE`, else the platform's per-user cache folder (`pdbridge paths`)."""
    return places.cache_dir()


def cache_key(root: Path, config: DatasetConfig) -> str:
    """Changes when the settings, the code's cache version or any file (size, mtime) changes."""
    root = Path(root).resolve()
    stats = []
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in (".mid", ".midi", ".csv"):
            st = p.stat()
            stats.append((str(p.relative_to(root)), st.st_size, st.st_mtime_ns))
    blob = json.dumps([CACHE_VERSION, str(root), asdict(config), stats], default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def load_windows(
    root: str | Path,
    config: DatasetConfig | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    show_progress: bool = True,
) -> Windows:
    """Windows of a dataset folder, from the cache when the settings and files are unchanged."""
    root = Path(root)
    config = config or DatasetConfig()
    if not use_cache:
        return build_windows(root, config, show_progress)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    path = cache_dir / f"windows-{cache_key(root, config)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return Windows(**{k: z[k] for k in z.files})
        except (OSError, ValueError, KeyError, zlib.error) as e:
            log.warning("rebuilding unreadable cache %s (%s)", path, e)
    windows = build_windows(root, config, show_progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **windows.__dict__)
    tmp.replace(path)  # atomic: a crash never leaves half a cache behind
    return windows
