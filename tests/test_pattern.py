import json

import numpy as np
import pytest

from pdbridge.core.errors import BadInputError
from pdbridge.core.pattern import FEATURES, NUM_VOICES, VOICES, Pattern, tap_array


def random_pattern(seed=0, steps=32, density=0.2, bpm=97.0) -> Pattern:
    rng = np.random.default_rng(seed)
    hits = (rng.random((steps, NUM_VOICES)) < density).astype(np.float32)
    vel = rng.integers(1, 128, (steps, NUM_VOICES)) / 127.0
    off = rng.integers(-60, 60, (steps, NUM_VOICES)) / 120.0
    return Pattern(hits, vel * hits, off * hits, bpm=bpm)


def test_flat_layout_is_step_major_hits_velocities_offsets():
    p = Pattern.empty()
    p.hits[3, 1] = 1
    p.velocities[3, 1] = 0.5
    p.offsets[3, 1] = -0.25
    flat = p.to_flat()
    assert flat.shape == (32 * FEATURES,)
    base = 3 * FEATURES
    assert flat[base + 1] == 1.0
    assert flat[base + NUM_VOICES + 1] == 0.5
    assert flat[base + 2 * NUM_VOICES + 1] == -0.25
    assert np.count_nonzero(flat) == 3
    assert Pattern.from_flat(flat) == p


def test_construction_cleans_ranges_and_zeroes_silent_cells():
    a = np.zeros((16, FEATURES), np.float32)
    a[0, 0] = 0.7  # counts as a hit
    a[0, 9] = 1.5  # velocity clipped
    a[0, 18] = 0.9  # offset clipped
    a[1, 9] = 0.4  # velocity without a hit is dropped
    p = Pattern.from_array(a)
    assert p.hits[0, 0] == 1 and p.velocities[0, 0] == 1.0 and p.offsets[0, 0] == 0.5
    assert p.velocities[1, 0] == 0


@pytest.mark.parametrize("bad", [np.zeros(26), np.zeros(0), np.full(27, np.nan)])
def test_from_flat_refuses_bad_vectors(bad):
    with pytest.raises(BadInputError):
        Pattern.from_flat(bad)


def test_json_round_trip_and_readable_form(tmp_path):
    p = random_pattern()
    path = tmp_path / "p.json"
    p.save_json(path)
    d = json.loads(path.read_text())
    assert d["format"] == "pdbridge-pattern" and d["version"] == 1
    assert d["voices"] == list(VOICES)
    assert len(d["hits"]["kick"]) == 32
    q = Pattern.load_json(path)
    assert q.allclose(p, atol=1e-4) and q.bpm == p.bpm


@pytest.mark.parametrize(
    "text,complaint",
    [
        ("{not json", "not valid JSON"),
        ('{"format": "other"}', "not a pdbridge pattern"),
        ('{"format": "pdbridge-pattern", "version": 99}', "version"),
        (
            '{"format": "pdbridge-pattern", "version": 1, "steps": 2, "hits": {"kick": [1]}, '
            '"velocities": {}, "offsets": {}}',
            "kick has 1 values",
        ),
        (
            '{"format": "pdbridge-pattern", "version": 1, "steps": 1, "hits": {"cowbell": [1]}, '
            '"velocities": {}, "offsets": {}}',
            "unknown voice",
        ),
    ],
)
def test_malformed_json_names_file_and_problem(tmp_path, text, complaint):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(BadInputError, match=complaint) as e:
        Pattern.load_json(path)
    assert str(path) in str(e.value)


def test_quantize_and_fixed_velocity():
    p = random_pattern()
    q = p.quantize().with_velocity(0.8)
    assert np.array_equal(q.hits, p.hits)
    assert not q.offsets.any()
    assert set(np.unique(q.velocities)) <= {0.0, np.float32(0.8)}


def test_tap_keeps_loudest_hit_per_step():
    p = Pattern.empty(16)
    p.hits[2, [0, 2]] = 1
    p.velocities[2, 0], p.offsets[2, 0] = 0.3, 0.1
    p.velocities[2, 2], p.offsets[2, 2] = 0.9, -0.2
    p.hits[5, 8], p.velocities[5, 8] = 1, 0.5
    t = p.tap()
    assert t.hits[:, 0].tolist() == [1.0 if s in (2, 5) else 0.0 for s in range(16)]
    assert t.hits[:, 1:].sum() == 0
    assert t.velocities[2, 0] == pytest.approx(0.9) and t.offsets[2, 0] == pytest.approx(-0.2)
    # the batch form is the same function
    batch = np.stack([p.to_array(), p.to_array()])
    assert np.array_equal(tap_array(batch)[1], t.to_array())


def test_drop_voices_bars_and_join():
    p = random_pattern(density=0.5)
    d = p.drop_voices(["closed_hihat", 0])
    assert d.hits[:, 2].sum() == 0 and d.hits[:, 0].sum() == 0
    assert np.array_equal(d.hits[:, 1], p.hits[:, 1])
    first, second = p.bars(0), p.bars(1)
    assert first.steps == 16 and Pattern.join([first, second]) == p
    assert p.bars(1, 3).steps == 32 and p.bars(1, 3).hits[16:].sum() == 0  # padded past the end
    with pytest.raises(BadInputError):
        p.drop_voices(["cowbell"])
