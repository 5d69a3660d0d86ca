"""The installed product, not the checkout: build the wheel, install it into a fresh venv outside
the repository, serve from a temporary folder, and play through patches copied out of the
installed package with `pdbridge patches --copy` (CI runs this with the README's test command).

torch is not installed again (a minute and 900 MB): the fresh venv sees the repository venv's
torch and its own dependencies through a folder of links (`torch_links`) named in a .pth file,
as a machine with torch already installed would. Everything else (python-osc, mido, numpy, tqdm,
platformdirs, ...) pip installs from the wheel's requirements as it would for a user.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pd_harness
import pytest
from pd_harness import LivePd, error_lines, events, free_udp_port, run_batch, write_harness

pytestmark = [pytest.mark.pd, pytest.mark.slow, pytest.mark.installed]

REPO = Path(__file__).resolve().parents[1]
MAX_WHEEL_MB = 40  # the default models are most of it


def _requirement_name(req: str) -> str | None:
    """The distribution a Requires-Dist line needs here, or None (an extra, another platform)."""
    if "extra ==" in req:
        return None
    if ";" in req:
        try:
            from packaging.markers import Marker
        except ImportError:  # pip vendors it, but be safe: keep what we cannot judge
            pass
        else:
            if not Marker(req.split(";", 1)[1]).evaluate():
                return None
    return re.match(r"[A-Za-z0-9_.\-]+", req.strip()).group(0)


def torch_links(dest: Path) -> list[str]:
    """A folder of links to torch and what it needs (as installed in the venv running the tests),
    dist-info included, so pip in another venv sees torch as installed."""
    found: dict[str, metadata.Distribution] = {}

    def add(name: str) -> None:
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            return
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return
        found[key] = dist
        for req in dist.requires or []:
            needed = _requirement_name(req)
            if needed:
                add(needed)

    add("torch")
    dest.mkdir(parents=True)
    for dist in found.values():
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            src = Path(str(dist.locate_file(top)))
            if top in ("..", "bin") or not src.exists() or (dest / top).exists():
                continue
            (dest / top).symlink_to(src)
    return sorted(found)


def user_env(home: Path) -> dict[str, str]:
    """The environment of a user's shell: no repository on the path, user folders in `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PDBRIDGE_", "PYTHON"))}
    env |= {
        "PDBRIDGE_MODELS_DIR": str(home / "models"),
        "PDBRIDGE_EXPORT_DIR": str(home / "exports"),
        "PDBRIDGE_CACHE": str(home / "cache"),
    }
    return env


class Product:
    """The built wheel installed into a fresh venv, and the time each step took."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.times: dict[str, float] = {}
        self.home = root / "home"
        self.env = user_env(self.home)

    def step(self, name: str, t0: float) -> None:
        self.times[name] = time.monotonic() - t0

    def build(self) -> None:
        t0 = time.monotonic()
        out = self.root / "dist"
        # --no-isolation: the venv's setuptools; isolation would fetch it again on every run
        done = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        self.wheel = next(out.glob("pdbridge-*.whl"))
        self.sdist = next(out.glob("pdbridge-*.tar.gz"))
        self.step("build wheel and sdist", t0)

    def install(self) -> None:
        t0 = time.monotonic()
        venv = self.root / "venv"
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
        site = next((venv / "lib").glob("python*/site-packages"))
        self.torch_dists = torch_links(self.root / "torch-links")
        (site / "torch-already-installed.pth").write_text(f"{self.root / 'torch-links'}\n")
        self.python = venv / "bin" / "python"
        self.exe = venv / "bin" / "pdbridge"
        self.install_started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), "install", "-q",
             "--disable-pip-version-check", str(self.wheel)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=self.home,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        self.step("venv and pip install of the wheel", t0)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.exe), *args], capture_output=True, text=True, timeout=timeout,
            cwd=self.home, env=self.env,
        )


@pytest.fixture(scope="module")
def product(tmp_path_factory) -> Product:
    pd_harness.need_pd()
    root = tmp_path_factory.mktemp("installed")
    p = Product(root)
    p.home.mkdir()
    p.build()
    p.install()
    return p


class InstalledServer(pd_harness.Server):
    """`pdbridge serve` of the installed product, started from its user's folder."""

    def __init__(self, product: Product) -> None:
        super().__init__()
        self.product = product

    def start(self, timeout: float = 60.0) -> InstalledServer:
        self.proc = subprocess.Popen(
            [str(self.product.exe), "serve", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            cwd=self.product.home,
            env=self.product.env,
        )
        self._wait_ready(timeout)
        return self


@pytest.fixture(scope="module")
def server(product):
    with InstalledServer(product) as s:
        yield s


def test_the_wheel_carries_the_default_models_patches_and_protocol(product):
    names = set(zipfile.ZipFile(product.wheel).namelist())
    index = json.loads((REPO / "models" / "index.json").read_text())
    default = index["aliases"]["default"]
    for model in default:
        assert f"pdbridge/shipped_models/{model}.pt" in names
    assert "pdbridge/shipped_models/index.json" in names
    shipped = {n for n in names if n.startswith("pdbridge/shipped_models/") and n.endswith(".pt")}
    named = {m for v in index["aliases"].values() for m in ([v] if isinstance(v, str) else v)}
    assert {Path(n).stem for n in shipped} == named  # nothing the index does not name
    for patch in ("pdbridge.pd", "pdbridge-client.pd", "pdbridge-client-help.pd",
                  "pdbridge-meta.pd", "lab/lab1-ping.pd"):
        assert f"pdbridge/patches/{patch}" in names
    assert "pdbridge/docs/protocol.md" in names
    sdist = {n.split("/", 1)[1] for n in __import__("tarfile").open(product.sdist).getnames()
             if "/" in n}
    assert {"setup.py", "models/index.json", "patches/pdbridge.pd", "docs/protocol.md"} <= sdist
    mb = product.wheel.stat().st_size / 1e6
    print(f"wheel {product.wheel.name}: {mb:.1f} MB; sdist {product.sdist.stat().st_size / 1e6:.1f} MB")
    assert mb < MAX_WHEEL_MB


def test_installed_commands_find_the_package_folders_not_the_checkout(product):
    done = product.run("paths", "--json")
    assert done.returncode == 0, done.stderr
    found = {k: Path(v) for k, v in json.loads(done.stdout).items()}
    venv = product.root / "venv"
    for key in ("package models", "patches", "protocol"):
        assert venv in found[key].parents, (key, found[key])
        assert found[key].exists()
    assert found["user models"] == product.home / "models"
    assert found["exports"] == product.home / "exports"
    models = product.run("models", "--json")
    assert models.returncode == 0, models.stderr
    assert "default" in json.loads(models.stdout)["aliases"]
    version = product.run("--version")
    assert version.stdout.strip().startswith("pdbridge ")


def test_installed_server_answers_sample_with_the_default_model(product, server):
    from pdbridge.serve.client import Client

    with Client(port=server.port, timeout=10) as client:
        pattern = client.sample(seed=3)
        first = time.monotonic() - product.install_started
        models = client.models()
    assert pattern.shape[1] == 27 and pattern[:, :9].sum() > 0
    index = json.loads((REPO / "models" / "index.json").read_text())
    assert set(index["aliases"]["default"]) <= set(models)
    times = ", ".join(f"{k} {v:.1f} s" for k, v in product.times.items())
    print(f"{times}; pip install to first /pattern {first:.1f} s (torch present: "
          f"{', '.join(product.torch_dists)})")


def test_installed_server_loads_a_model_from_the_user_models_folder(product, server):
    from tiny_models import make_tiny_models

    from pdbridge.serve.client import Client

    mine = make_tiny_models(product.home / "models", tasks=False)[0]  # PDBRIDGE_MODELS_DIR
    with Client(port=server.port, timeout=20) as client:
        reply = client.request("/load", mine.stem)
    assert reply.address == "/ok" and list(reply.args[:2]) == ["load", mine.stem], reply.args


def test_installed_clip_tool_writes_a_midi_file(product):
    done = product.run("sample", "--bars", "2", "--seed", "1", "--out", "beat.mid")
    assert done.returncode == 0, done.stderr
    assert (product.home / "beat.mid").stat().st_size > 0


def copied_patches(product: Product) -> Path:
    dest = product.root / "pd-externals"
    if not (dest / "pdbridge").exists():
        done = product.run("patches", "--copy", str(dest))
        assert done.returncode == 0, done.stderr
    return dest / "pdbridge"


def test_copied_patches_are_a_pd_package_that_opens_clean(product):
    folder = copied_patches(product)
    patches = sorted(folder.rglob("*.pd"))
    assert {"pdbridge.pd", "pdbridge-meta.pd", "pdbridge-client-help.pd"} <= {p.name for p in patches}
    assert (folder / "lab").is_dir()
    assert not [p for p in folder.rglob("*") if p.suffix in (".py", ".pyc")]
    meta = (folder / "pdbridge-meta.pd").read_text()
    from pdbridge import __version__

    assert f"VERSION {__version__};" in meta and "NAME pdbridge;" in meta
    broken = {}
    for patch in patches:  # as a user opens it: no -path, from the copied folder
        lines = error_lines(run_batch(patch, search_path=False))
        if lines:
            broken[str(patch.relative_to(folder))] = lines
    assert not broken, broken
    print(f"{len(patches)} copied patches open clean in Pd from {folder.parent}")


def test_copied_patches_play_a_pattern_from_the_installed_server(product, server, monkeypatch):
    folder = copied_patches(product)
    monkeypatch.setattr(pd_harness, "PATCHES", folder)  # LivePd's -path: the copied package
    workdir = folder.parent / "e2e"
    workdir.mkdir(exist_ok=True)
    ctl = free_udp_port()
    patch = write_harness(workdir, server_port=server.port, ctl_port=ctl)
    with LivePd(patch) as pd:
        pd.wait_for(r"connected: 1", 10)
        pd.send(ctl, "player bpm 300")
        t0 = time.monotonic()
        pd.send(ctl, "client sample 1 7")
        pd.wait_for(r"got-pattern: 32", 10, after=t0)
        t1 = time.monotonic()
        pd.send(ctl, "player play")
        time.sleep(1.2)  # 24 steps of 50 ms
        pd.send(ctl, "player stop")
        time.sleep(0.1)
        played = events(pd.since(t1))
        assert error_lines(pd.text()) == [], pd.text()[-2000:]
    assert played, "the copied player played nothing"
