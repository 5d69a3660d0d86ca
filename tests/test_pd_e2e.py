"""End to end with real Pd and the real server (`pdbridge serve` on a free port).

The harness patch (tests/pd_harness.py) holds [pdbridge-client] and [pdbridge-player]; the test
drives it over FUDI and reads what it prints. The server loads the shipped default models when
they are in models/ (what `pdbridge serve` loads by default), else tiny random-weight checkpoints
(same server, same protocol). PDBRIDGE_E2E_MODELS="a.pt b.pt" runs them against your checkpoints.
"""

from __future__ import annotations

import json
import os
import re
import time

import numpy as np
import pytest
from pd_harness import (
    PATCHES,
    REPO,
    LivePd,
    Server,
    events,
    free_udp_port,
    read_pattern,
    write_harness,
    write_probe,
)

pytestmark = [pytest.mark.pd, pytest.mark.slow]

BPM = 300.0  # a fast tempo: 50 ms steps, a 2-bar loop in 1.6 s
STEP_MS = 15000.0 / BPM


def shipped_default_exists() -> bool:
    """True when every checkpoint that `pdbridge serve` loads by default is in models/."""
    index = REPO / "models" / "index.json"
    if not index.exists():
        return False
    names = json.loads(index.read_text()).get("aliases", {}).get("default", [])
    return bool(names) and all((REPO / "models" / f"{n}.pt").exists() for n in names)


@pytest.fixture(scope="module")
def server_args(tmp_path_factory) -> tuple[str, ...]:
    chosen = os.environ.get("PDBRIDGE_E2E_MODELS")  # e.g. "runs/x/best.pt runs/y/best.pt"
    if chosen:
        return tuple(arg for p in chosen.split() for arg in ("--model", p))
    if shipped_default_exists():
        return ()  # what `pdbridge serve` loads by default
    from tiny_models import make_tiny_models

    paths = make_tiny_models(tmp_path_factory.mktemp("models"))
    return tuple(arg for p in paths for arg in ("--model", str(p)))


@pytest.fixture
def server(server_args):
    with Server(args=server_args) as s:
        yield s


def start_harness(tmp_path, server_port):
    ctl = free_udp_port()
    patch = write_harness(tmp_path, server_port=server_port, ctl_port=ctl)
    return LivePd(patch), ctl


def fetch(pd: LivePd, ctl: int, request: str, tmp_path, timeout: float = 5.0) -> np.ndarray:
    t0 = time.monotonic()
    pd.send(ctl, f"client {request}")
    line = pd.wait_for(r"got-pattern: \d+", timeout, after=t0)
    steps = int(line.text.split()[-1])
    return read_pattern(tmp_path, steps)


def expected_events(p: np.ndarray, loops: int):
    steps = len(p)
    out = []
    for loop in range(loops):
        for s in range(steps):
            for v in range(9):
                if p[s, v] >= 0.5:
                    out.append(((1 + loop * steps + s + p[s, 18 + v]) * STEP_MS, v, p[s, 9 + v]))
    return sorted(out)


def test_a_served_pattern_plays_every_hit_once_per_loop_on_time(tmp_path, server):
    pd, ctl = start_harness(tmp_path, server.port)
    with pd:
        pd.wait_for(r"connected: 1", 10)
        pd.send(ctl, f"player bpm {BPM}")
        p = fetch(pd, ctl, "sample 1 7", tmp_path)
        assert p[:, :9].sum() > 0, "the server sent an empty pattern"
        t0 = time.monotonic()
        pd.send(ctl, "player play")
        loops_ms = (1 + 2 * len(p)) * STEP_MS
        time.sleep(loops_ms / 1000 + 0.6)  # margin: Pd's logical time may lag a busy machine
        pd.send(ctl, "player stop")
        time.sleep(0.1)
        got = [e for e in events(pd.since(t0)) if e.ms < loops_ms - 0.5 * STEP_MS]
    want = [w for w in expected_events(p, 3) if w[0] < loops_ms - 0.5 * STEP_MS]
    got.sort(key=lambda e: (round(e.ms, 3), e.voice))
    assert len(got) == len(want)
    assert [e.ms for e in got] == sorted(e.ms for e in got)
    late = []
    for e, (t, v, vel) in zip(got, want, strict=True):
        assert e.voice == v
        assert e.velocity == pytest.approx(vel, abs=1e-4)
        assert abs(e.ms - t) <= 2.0, (e, t)
        late.append(abs(e.real_ms - t))
    # wall clock inside Pd: reported, loosely bounded (a busy CI machine is not a concert)
    logical = max(abs(e.ms - w[0]) for e, w in zip(got, want, strict=True))
    print(
        f"{len(got)} events over two loops: logical-time error max {logical:.3f} ms; "
        f"real-time error median {np.median(late):.2f} ms, max {max(late):.2f} ms"
    )
    assert np.median(late) < 10.0


def test_sweep_between_stored_patterns_gives_new_patterns(tmp_path, server):
    pd, ctl = start_harness(tmp_path, server.port)
    with pd:
        pd.wait_for(r"connected: 1", 10)
        pd.send(ctl, "client temperature 0")
        a = fetch(pd, ctl, "sample 1 1", tmp_path)
        pd.send(ctl, "client store a")
        b = fetch(pd, ctl, "sample 1 2", tmp_path)
        pd.send(ctl, "client store b")
        pd.wait_for(r"reply: ok store b", 5)
        sweep = [fetch(pd, ctl, f"interpolate {x}", tmp_path) for x in (0.0, 0.5, 1.0)]
        assert "error" not in pd.text()
        # a bad request: the client prints the server's /error and passes it on
        pd.send(ctl, "client interpolate 2 3")
        pd.wait_for(r"pdbridge-error: /interpolate \S+", 5)
        pd.wait_for(r"reply: error /interpolate", 5)
    assert not np.array_equal(a, b)
    # the ends decode the stored patterns' latents; the middle is somewhere else
    assert not np.array_equal(sweep[0], sweep[2])
    assert all(s.shape == (32, 27) for s in sweep)


def test_player_keeps_looping_without_server_and_client_recovers(tmp_path, server):
    pd, ctl = start_harness(tmp_path, server.port)
    with pd:
        pd.wait_for(r"connected: 1", 10)
        pd.send(ctl, f"player bpm {BPM}")
        p = fetch(pd, ctl, "sample 1 3", tmp_path)
        hits = int((p[:, :9] >= 0.5).sum())
        loop_s = len(p) * STEP_MS / 1000
        pd.send(ctl, "player play")
        time.sleep(0.5)
        server.stop()
        gone = pd.wait_for(r"connected: 0", 5, after=time.monotonic())
        time.sleep(loop_s + 0.2)  # one more loop without a server
        after = events(pd.since(gone.t))
        assert len(after) >= hits // 2 > 0, "the player stopped with the server"
        server.start()
        back = pd.wait_for(r"connected: 1", 10, after=gone.t)
        fetch(pd, ctl, "sample 1 4", tmp_path)  # and the server answers again
        time.sleep(loop_s)
        assert events(pd.since(back.t)), "the player stopped"


def test_performance_patch_sweep_slider_morphs_the_playing_beat(tmp_path, server):
    """patches/pdbridge.pd as a musician uses it: sample, store A and B, move the sweep slider."""
    ctl = free_udp_port()
    probe = write_probe(tmp_path, ctl)
    perf = PATCHES / "pdbridge.pd"
    connect = f"pdbridge-client connect 127.0.0.1 {server.port}"
    with LivePd(perf, sends=(connect,), also_open=(probe,)) as pd:
        pd.wait_for(r"pdbridge-connected: 1", 10)

        def perf_pattern(fwd: str) -> np.ndarray:
            t0 = time.monotonic()
            pd.send(ctl, f"fwd {fwd}")
            pd.wait_for(r"perf-pattern: 32", 5, after=t0)
            return read_pattern(tmp_path, 32)

        pd.send(ctl, "fwd pdbridge-player bpm 300")
        pd.send(ctl, "fwd pdbridge-client temperature 0")
        a = perf_pattern("pdbridge-client sample 1 11")
        pd.send(ctl, "fwd pdbridge-client store a")
        b = perf_pattern("pdbridge-client sample 1 12")
        pd.send(ctl, "fwd pdbridge-client store b")
        pd.send(ctl, "fwd pdbridge-player play")
        sweep = [perf_pattern(f"pdbridge-sweep {x}") for x in (0.0, 0.5, 1.0)]
        time.sleep(0.5)
        played = [line for line in pd.lines if line.text.startswith("perf-ev:")]
        errors = [line.text for line in pd.lines if "error" in line.text]
    assert not errors, errors
    assert not np.array_equal(a, b)
    assert not np.array_equal(sweep[0], sweep[2])
    assert played, "the performance patch played nothing"


def test_latency_probe_reports_p50_and_p99(server):
    probe = PATCHES / "pdbridge-latency.pd"
    sends = (
        "pdbridge-latency quit 1",
        f"pdbridge-latency connect 127.0.0.1 {server.port}",
        "pdbridge-latency run",
    )
    with LivePd(probe, sends=sends) as pd:
        line = pd.wait_for(r"latency: .* p50 \S+ ms p99 \S+ ms", 30)
        pd.proc.wait(timeout=5)  # quit 1: Pd quits when done
    m = re.search(r"over (\d+) requests: p50 (\S+) ms p99 (\S+) ms", line.text)
    n, p50, p99 = int(m.group(1)), float(m.group(2)), float(m.group(3))
    print(line.text)
    assert n == 100
    assert 0 < p50 <= p99


@pytest.fixture(scope="module")
def task_model_args(tmp_path_factory) -> tuple[str, ...]:
    """Tiny checkpoints for every task: the default model set need not include humanize and
    drumify models, and these buttons must be tested anyway (same server, same protocol)."""
    from tiny_models import make_tiny_models

    paths = make_tiny_models(tmp_path_factory.mktemp("task_models"))
    return tuple(arg for p in paths for arg in ("--model", str(p)))


def test_performance_patch_drumify_humanize_continue(tmp_path, task_model_args):
    """The groove drawn in pdbridge.pd's recorder goes to /drumify and /humanize; the pattern
    playing goes to /continue and /infill; each answer comes back as the new pattern."""
    ctl = free_udp_port()
    probe = write_probe(tmp_path, ctl)
    with Server(args=task_model_args) as srv:
        connect = f"pdbridge-client connect 127.0.0.1 {srv.port}"
        with LivePd(PATCHES / "pdbridge.pd", sends=(connect,), also_open=(probe,)) as pd:
            pd.wait_for(r"pdbridge-connected: 1", 10)

            def press(button: str) -> np.ndarray:
                t0 = time.monotonic()
                pd.send(ctl, f"fwd pdbridge-press {button}")
                pd.wait_for(r"perf-pattern: 32", 5, after=t0)
                return read_pattern(tmp_path, 32)

            # a groove: four on the floor with a late snare, drawn cell by cell
            groove = [(s, 0, 0.9) for s in range(0, 32, 4)] + [(s, 1, 0.7) for s in (4, 12, 20, 28)]
            for step, voice, vel in groove:
                pd.send(ctl, f"fwd pdbridge-groove cell {step} {voice} {vel}")
            pd.send(ctl, "fwd pdbridge-groove bang")
            human = press("humanize")
            hits = {(s, v) for s, v in zip(*np.nonzero(human[:, :9] >= 0.5), strict=True)}
            assert hits == {(s, v) for s, v, _ in groove}  # humanize keeps the hits
            drummed = press("drumify")
            assert drummed[:, :9].sum() > 0
            continued = press("continue")  # continues the pattern now playing (the drumified one)
            assert continued.shape == (32, 27)
            hats = press("infill")  # new closed hi-hats for the pattern now playing
            hat = [2, 11, 20]  # closed hi-hat: its hit, velocity and offset columns
            others = [c for c in range(27) if c not in hat]
            assert np.allclose(hats[:, others], continued[:, others], atol=1e-4)
            errors = [line.text for line in pd.lines if "error" in line.text]
    assert not errors, errors


# A probe for two copies of the performance patch: `fwd <receiver> <message>` as above; prints
# what each copy's remote names carry: `pattern-<R>: <steps>`, `step-<R>: <step>`, `ev-<R>: ...`
# and `req-<R>: <request ...>` for R = pdbridge and pdbridge2.
TWO_PROBE = """#N canvas 0 50 600 400 12;
#X obj 20 20 netreceive -u {ctl_port};
#X obj 20 50 route fwd;
#X obj 20 80 list split 1;
#X obj 20 110 symbol;
#X obj 20 140 t b s;
#X obj 120 170 list;
#X obj 120 200 send;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 2 0 3 0;
#X connect 2 1 5 1;
#X connect 3 0 4 0;
#X connect 4 0 5 0;
#X connect 4 1 6 1;
#X connect 5 0 6 0;
"""


def write_two_probe(directory, ctl_port: int):
    lines = [TWO_PROBE.format(ctl_port=ctl_port).rstrip("\n")]
    n = 7
    for name in ("pdbridge", "pdbridge2"):
        for what, tail in (
            ("pattern", "list split 1"),
            ("step", None),
            ("events", None),
            ("requests", None),
        ):
            lines.append(f"#X obj 20 {40 * n} r {name}-{what};")
            if tail:
                lines.append(f"#X obj 20 {40 * n} {tail};")
                lines.append(f"#X obj 20 {40 * n} print {what}-{name};")
                lines += [f"#X connect {n} 0 {n + 1} 0;", f"#X connect {n + 1} 0 {n + 2} 0;"]
                n += 3
            else:
                lines.append(f"#X obj 20 {40 * n} print {what}-{name};")
                lines.append(f"#X connect {n} 0 {n + 1} 0;")
                n += 2
    path = directory / "two_probe.pd"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_two_performance_patches_side_by_side_with_two_servers(tmp_path, server_args):
    """Two copies of pdbridge.pd in one Pd, each on its own server: each plays its own beat and
    hears only its own replies (everything inside a copy is $0-local; the remote names differ)."""
    ctl = free_udp_port()
    probe = write_two_probe(tmp_path, ctl)
    second = tmp_path / "pdbridge-copy.pd"  # Pd opens a file only once: the copy is a second file
    second.write_text((PATCHES / "pdbridge.pd").read_text())
    with Server(args=server_args) as one, Server(args=server_args) as two:
        sends = (
            f"pdbridge-client connect 127.0.0.1 {one.port}",
            f"pdbridge2-client connect 127.0.0.1 {two.port}",
        )
        with LivePd(PATCHES / "pdbridge.pd", sends=sends, also_open=(second, probe)) as pd:
            deadline = time.monotonic() + 10
            while pd.text().count("pdbridge-connected: 1") < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert pd.text().count("pdbridge-connected: 1") == 2, pd.text()[-2000:]
            for name in ("pdbridge", "pdbridge2"):
                pd.send(ctl, f"fwd {name}-player bpm 300")
                pd.send(ctl, f"fwd {name}-client temperature 0")
            t0 = time.monotonic()
            pd.send(ctl, "fwd pdbridge-press sample")  # only the first copy samples
            pd.wait_for(r"pattern-pdbridge: 32", 5, after=t0)
            time.sleep(0.3)
            assert not any("pattern-pdbridge2" in ln.text for ln in pd.since(t0)), "copy 2 heard it"
            t1 = time.monotonic()
            pd.send(ctl, "fwd pdbridge2-press sample")
            pd.wait_for(r"pattern-pdbridge2: 32", 5, after=t1)
            time.sleep(0.3)
            assert not any(re.match(r"pattern-pdbridge: ", ln.text) for ln in pd.since(t1))
            pd.send(ctl, "fwd pdbridge-player play")  # only the first copy plays
            t2 = time.monotonic()
            time.sleep(1.0)
            lines = pd.since(t2)
            errors = [ln.text for ln in pd.lines if "error" in ln.text]
    steps1 = [ln for ln in lines if ln.text.startswith("step-pdbridge:")]
    steps2 = [ln for ln in lines if ln.text.startswith("step-pdbridge2:")]
    reqs = [ln.text for ln in pd.lines if ln.text.startswith("requests-")]
    print(f"copy 1: {len(steps1)} steps in 1 s; copy 2: {len(steps2)}; requests {reqs}")
    assert not errors, errors
    assert len(steps1) >= 10 and not steps2  # 50 ms steps; copy 2 was never told to play
    assert "requests-pdbridge: sample" in reqs and "requests-pdbridge2: sample" in reqs
    assert f"requests-pdbridge: connect 127.0.0.1 {one.port}" in reqs
    assert f"requests-pdbridge2: connect 127.0.0.1 {two.port}" in reqs


def test_morph_pad_sweeps_four_corners_while_playing(tmp_path, server):
    """The performance patch's pad: store four beats in corners a-d, play, then drive the pad in
    a 4 s circle at 100 positions a second. The patch sends at most ~60 /morph a second (latest
    only), patterns come back, and the player never drops a bar."""
    ctl = free_udp_port()
    probe = write_two_probe(tmp_path, ctl)
    connect = f"pdbridge-client connect 127.0.0.1 {server.port}"
    with LivePd(PATCHES / "pdbridge.pd", sends=(connect,), also_open=(probe,)) as pd:
        pd.wait_for(r"pdbridge-connected: 1", 10)
        pd.send(ctl, "fwd pdbridge-player bpm 300")
        pd.send(ctl, "fwd pdbridge-client temperature 0")
        for seed, slot in ((21, "a"), (22, "b"), (23, "c"), (24, "d")):
            t0 = time.monotonic()
            pd.send(ctl, f"fwd pdbridge-client sample 1 {seed}")
            pd.wait_for(r"pattern-pdbridge: 32", 5, after=t0)
            pd.send(ctl, f"fwd pdbridge-press store-{slot}")
            pd.wait_for(
                rf"reply: ok store {slot}|pdbridge-error|requests-pdbridge: store {slot}",
                5,
                after=t0,
            )
        time.sleep(0.3)
        t0 = time.monotonic()
        pd.send(ctl, "fwd pdbridge-pad 0.5 0.5")
        first = pd.wait_for(r"pattern-pdbridge: 32|pdbridge-error: /morph", 5, after=t0)
        if "unknown address" in first.text:
            pytest.skip("the server does not answer /morph yet (the server side has not landed)")
        pd.send(ctl, "fwd pdbridge-player play")
        time.sleep(0.5)
        start = time.monotonic()
        sent = 0
        while (now := time.monotonic()) < start + 4.0:
            a = 2 * np.pi * (now - start) / 4.0
            pd.send(
                ctl, f"fwd pdbridge-pad {0.5 + 0.45 * np.cos(a):.4f} {0.5 + 0.45 * np.sin(a):.4f}"
            )
            sent += 1
            time.sleep(0.01)
        end = time.monotonic()
        time.sleep(0.5)  # the last replies
        lines = pd.since(start)
        errors = [ln.text for ln in pd.lines if "error" in ln.text]
    morphs = [
        ln for ln in lines if ln.text.startswith("requests-pdbridge: morph") and ln.t <= end + 0.05
    ]
    patterns = [ln for ln in lines if ln.text.startswith("pattern-pdbridge: 32")]
    steps = [
        int(float(ln.text.split()[-1]))
        for ln in lines
        if ln.text.startswith("step-pdbridge:") and ln.t <= end
    ]
    bars = sum(1 for s in steps if s % 16 == 0)
    # no step (hence no bar) skipped: each step follows the one before, around the 32-step loop
    gaps = [(a, b) for a, b in zip(steps, steps[1:], strict=False) if b != (a + 1) % 32]
    print(
        f"pad: {sent} positions in 4 s -> {len(morphs)} /morph sent "
        f"({len(morphs) / 4:.0f} a second), {len(patterns)} patterns received, "
        f"{bars} bars played ({len(steps)} steps, {len(gaps)} gaps)"
    )
    assert not errors, errors
    assert 150 <= len(morphs) <= 4 * 62, len(morphs)  # about 60 a second, never more
    assert len(patterns) >= 20
    assert not gaps, gaps
    assert bars >= int(4.0 / (16 * STEP_MS / 1000)) - 1  # 0.8 s bars: 5 in 4 s
