"""Issue 14 from Pd: the performance patch chooses an imported course drumify model and plays
its beat (real Pd, real `pdbridge serve`).

The server loads tiny models for every task (ours: tiny_drumify) and one imported course model:
the real `solar_shadow_247.pth` from ../shared when it is there (imported with `pdbridge import`
into a temporary folder, never the repository), else a synthetic file of the same layout.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from pd_harness import PATCHES, LivePd, Server, free_udp_port, read_pattern, write_probe
from test_groove_transformer import SHARED

from pdbridge.cli import main

pytestmark = [pytest.mark.pd, pytest.mark.slow]


@pytest.fixture(scope="module")
def course_model(tmp_path_factory) -> tuple[str, str]:
    """(model name, path of its imported .pt)."""
    d = tmp_path_factory.mktemp("course")
    source = SHARED / "solar_shadow_247.pth"
    if not source.exists():
        from test_gt_import import course_file

        source, _ = course_file(d / "course_mgt.pth", "mgt", seed=3)
    out = d / f"{source.stem}.pt"
    assert main(["import", str(source), "--out", str(out)]) == 0
    return source.stem, str(out)


def test_performance_patch_chooses_an_imported_drumify_model_and_plays_its_beat(
    tmp_path, tmp_path_factory, course_model
):
    from tiny_models import make_tiny_models

    from pdbridge.inference import checkpoint
    from pdbridge.inference.engine import Controls, Engine

    name, path = course_model
    tiny = [str(p) for p in make_tiny_models(tmp_path_factory.mktemp("tiny"))]
    args = tuple(a for p in [*tiny, path] for a in ("--model", p))
    groove_cells = [(s, 0, 0.9) for s in range(0, 32, 4)] + [(s, 1, 0.7) for s in (4, 12, 20, 28)]
    groove = np.zeros((32, 27), np.float32)
    for s, v, vel in groove_cells:
        groove[s, v], groove[s, 9 + v] = 1.0, vel
    zero = Controls(temperature=0)
    want = Engine([checkpoint.load(path)]).drumify(groove, zero)
    ours = Engine([checkpoint.load(p) for p in tiny]).drumify(groove, zero)
    assert not np.array_equal(want[:, :9], ours[:, :9])  # the choice is audible

    ctl = free_udp_port()
    probe = write_probe(tmp_path, ctl)
    with Server(args=args) as srv:
        connect = f"pdbridge-client connect 127.0.0.1 {srv.port}"
        with LivePd(PATCHES / "pdbridge.pd", sends=(connect,), also_open=(probe,)) as pd:
            pd.wait_for(r"pdbridge-connected: 1", 10)
            pd.send(ctl, "fwd pdbridge-client temperature 0")
            pd.send(ctl, "fwd pdbridge-player bpm 300")
            for step, voice, vel in groove_cells:
                pd.send(ctl, f"fwd pdbridge-groove cell {step} {voice} {vel}")
            pd.send(ctl, "fwd pdbridge-groove bang")

            def press(button: str) -> np.ndarray:
                t0 = time.monotonic()
                pd.send(ctl, f"fwd pdbridge-press {button}")
                pd.wait_for(r"perf-pattern: 32", 10, after=t0)
                return read_pattern(tmp_path, 32)

            before = press("drumify")  # ours answers by default
            # the patch's "next model" button: tiny_drumify -> the imported model
            pd.send(ctl, "fwd pdbridge-press next-model")
            time.sleep(0.5)
            drummed = press("drumify")
            pd.send(ctl, "fwd pdbridge-player play")
            t_play = time.monotonic()
            time.sleep(2.2)  # a 2-bar loop at 300 bpm is 1.6 s
            pd.send(ctl, "fwd pdbridge-player stop")
            time.sleep(0.2)
            played = [
                int(float(m.group(1)))
                for line in pd.since(t_play)
                if (m := re.match(r"perf-ev: (\S+) (\S+)", line.text))
            ]
            errors = [line.text for line in pd.lines if "error" in line.text.lower()]
    assert not errors, errors
    assert np.array_equal(before[:, :9], ours[:, :9])
    assert np.array_equal(drummed[:, :9], want[:, :9]), "the imported model did not answer"
    assert np.allclose(drummed[:, 9:], want[:, 9:], atol=1e-4)
    assert played, "the performance patch played nothing"
    voices = {v for v in range(9) if want[:, v].any()}
    assert set(played) <= voices
