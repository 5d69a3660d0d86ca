import time

import numpy as np
import pytest
from test_midi import midi_file
from test_pattern import random_pattern

from pdbridge.core.errors import BadInputError
from pdbridge.core.midi import write_midi
from pdbridge.core.pattern import Pattern
from pdbridge.train.dataset import DatasetConfig, load_windows


def make_folder(root, n=12, bars=4):
    """A folder of plain .mid files in style sub-folders (no info.csv)."""
    for i in range(n):
        p = Pattern.join(
            [random_pattern(seed=i * 10 + b, steps=16, density=0.3) for b in range(bars)]
        )
        style = "rock" if i % 2 else "funk"
        (root / style).mkdir(parents=True, exist_ok=True)
        write_midi(p, root / style / f"take{i}.mid")
    return root


def test_folder_of_midi_files_gives_windows_with_labels(tmp_path):
    root = make_folder(tmp_path / "mine")
    w = load_windows(root, use_cache=False, show_progress=False)
    assert w.x.shape == (12 * 3, 32, 27)  # 4 bars -> windows at bars 0, 1, 2
    assert set(w.style) == {"rock", "funk"}
    assert set(w.split) <= {"train", "validation"}
    assert np.all(w.bpm == 97.0)
    # windows hop by one bar: the second bar of window 0 is the first bar of window 1
    first = w.select(w.source == w.source[0])
    assert np.array_equal(first.x[0, 16:], first.x[1, :16])


def test_windows_with_almost_no_hits_are_dropped(tmp_path):
    root = tmp_path / "sparse"
    root.mkdir()
    midi_file(root / "a.mid", [(0, 36, 90), (120 * 16 * 3, 36, 90)])  # 4 bars, 2 hits
    with pytest.raises(BadInputError):
        load_windows(tmp_path / "nope", show_progress=False)
    assert (
        len(load_windows(root, DatasetConfig(min_hits=2), use_cache=False, show_progress=False))
        == 0
    )
    # windows at bars 0-1 and 2-3 hold a hit each; bars 1-2 are silent
    assert (
        len(load_windows(root, DatasetConfig(min_hits=1), use_cache=False, show_progress=False))
        == 2
    )


def test_time_signature_filter_reads_the_file_when_there_is_no_index(tmp_path):
    root = tmp_path / "meters"
    root.mkdir()
    notes = [(t * 120, 42, 80) for t in range(64)]
    midi_file(root / "four.mid", notes)
    midi_file(root / "three.mid", notes, sig=(3, 4))
    w = load_windows(root, use_cache=False, show_progress=False)
    assert set(w.source) == {"four.mid"}
    w = load_windows(root, DatasetConfig(time_signature=None), use_cache=False, show_progress=False)
    assert set(w.source) == {"four.mid", "three.mid"}


def test_unreadable_files_are_skipped_not_fatal(tmp_path, caplog):
    root = make_folder(tmp_path / "mixed", n=2)
    (root / "broken.mid").write_bytes(b"garbage")
    w = load_windows(root, use_cache=False, show_progress=False)
    assert len(w) == 6 and "broken.mid" in caplog.text


def test_cache_is_reused_and_invalidated(tmp_path):
    root = make_folder(tmp_path / "c", n=4)
    cache = tmp_path / "cache"
    a = load_windows(root, cache_dir=cache, show_progress=False)
    assert len(list(cache.glob("*.npz"))) == 1
    b = load_windows(root, cache_dir=cache, show_progress=False)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.source, b.source)
    write_midi(random_pattern(99, steps=48), root / "rock" / "new.mid")  # a new file -> new key
    c = load_windows(root, cache_dir=cache, show_progress=False)
    assert len(c) == len(a) + 2
    assert len(list(cache.glob("*.npz"))) == 2
    # a corrupt cache file is rebuilt, not fatal
    for f in cache.glob("*.npz"):
        f.write_bytes(b"junk")
    assert len(load_windows(root, cache_dir=cache, show_progress=False)) == len(c)


def test_gmd_filters_by_split_meter_and_beat_type(groove_dir, tmp_path):
    start = time.perf_counter()
    w = load_windows(groove_dir, show_progress=False)
    first = time.perf_counter() - start
    assert set(w.split) == {"train", "validation"}  # the test split is withheld: not assumed
    assert len(w.where(split="train")) > 10 * len(w.where(split="validation")) / 2
    assert w.x.shape[1:] == (32, 27) and w.x.dtype == np.float32
    assert "rock" in set(w.style) and all("/" not in s for s in set(w.style))
    assert np.all((w.bpm > 40) & (w.bpm < 300))
    start = time.perf_counter()
    again = load_windows(groove_dir, show_progress=False)
    assert len(again) == len(w)
    assert time.perf_counter() - start < first  # from the cache
    beats = load_windows(
        groove_dir, DatasetConfig(splits=("validation",), beat_types=("beat",)), show_progress=False
    )
    assert 0 < len(beats) < len(w.where(split="validation"))
    assert set(beats.beat_type) == {"beat"} and set(beats.split) == {"validation"}
