"""Where things are (pdbridge.core.places), `pdbridge paths`, `pdbridge patches --copy` and the
deken archive, in the checkout (tests/test_installed.py does the same from a built wheel)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from conftest import load_script

from pdbridge import __version__
from pdbridge.cli import command_parser, main
from pdbridge.cli.patches import copy_patches
from pdbridge.core import places
from pdbridge.core.errors import BadInputError, ModelMissingError
from pdbridge.inference import checkpoint

REPO = Path(__file__).resolve().parents[1]


def test_the_checkout_finds_its_folders_through_the_package(monkeypatch):
    monkeypatch.delenv("PDBRIDGE_MODELS", raising=False)
    # the editable install maps models/, patches/ and docs/ into the package (setup.py)
    assert places.package_models() == REPO / "models"
    assert places.package_patches() == REPO / "patches"
    assert places.protocol_doc() == REPO / "docs" / "protocol.md"
    assert checkpoint.models_dir() == REPO / "models"


def test_user_folders_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PDBRIDGE_MODELS_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("PDBRIDGE_EXPORT_DIR", str(tmp_path / "e"))
    monkeypatch.setenv("PDBRIDGE_CACHE", str(tmp_path / "c"))
    assert places.user_models_dir() == tmp_path / "m"
    assert places.export_dir() == tmp_path / "e"
    assert places.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("PDBRIDGE_MODELS_DIR")
    monkeypatch.delenv("PDBRIDGE_EXPORT_DIR")
    assert places.user_models_dir().parts[-2:] == ("pdbridge", "models")
    assert places.export_dir().name == "pdbridge"


def test_a_model_in_the_user_folder_is_found_by_name(tmp_path, monkeypatch):
    from tiny_models import make_tiny_models

    monkeypatch.setenv("PDBRIDGE_MODELS_DIR", str(tmp_path))
    path = make_tiny_models(tmp_path)[0]
    assert checkpoint.resolve(path.stem) == [path]
    with pytest.raises(ModelMissingError, match=str(tmp_path)):
        checkpoint.resolve("no-such-model")


def test_paths_command_prints_every_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PDBRIDGE_EXPORT_DIR", str(tmp_path))
    assert main(["paths", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert set(found) == {"package models", "user models", "exports", "patches", "protocol",
                          "dataset cache"}
    assert found["exports"] == str(tmp_path)
    assert main(["paths"]) == 0
    assert "user models" in capsys.readouterr().out


def test_patches_command_prints_the_folder(capsys):
    assert main(["patches"]) == 0
    assert capsys.readouterr().out.strip() == str(places.package_patches())


def test_copy_makes_a_pd_package_folder_and_replaces_only_its_own(tmp_path):
    folder = copy_patches(tmp_path)
    assert folder == tmp_path / "pdbridge"
    names = {str(p.relative_to(folder)) for p in folder.rglob("*.pd")}
    assert {"pdbridge.pd", "pdbridge-meta.pd", "pdbridge-client.pd", "lab/lab1-ping.pd"} <= names
    assert not list(folder.rglob("*.py")) and not list(folder.rglob("__pycache__"))
    with pytest.raises(BadInputError, match="--force"):
        copy_patches(tmp_path)
    assert copy_patches(tmp_path, force=True) == folder
    other = tmp_path / "elsewhere"
    (other / "pdbridge").mkdir(parents=True)
    (other / "pdbridge" / "mine.pd").write_text("#N canvas 0 0 100 100 12;\n")
    with pytest.raises(BadInputError, match="not a pdbridge patch folder"):
        copy_patches(other, force=True)
    assert (other / "pdbridge" / "mine.pd").exists()


def test_meta_patch_names_the_library_and_this_version():
    meta = (REPO / "patches" / "pdbridge-meta.pd").read_text()
    for field in ("NAME pdbridge;", f"VERSION {__version__};", "LICENSE MIT;", "DESCRIPTION "):
        assert field in meta


def test_deken_archive_holds_the_pdbridge_folder(tmp_path):
    deken = load_script("deken_package")
    archive = deken.build(tmp_path)
    assert archive.name == f"pdbridge[v{__version__}].dek"
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
    assert all(n.startswith("pdbridge/") for n in names)
    assert {"pdbridge/pdbridge-meta.pd", "pdbridge/pdbridge.pd", "pdbridge/lab/lab1-ping.pd"} <= set(
        names
    )
    assert (tmp_path / (archive.name + ".sha256")).read_text().split()[1] == archive.name


def test_train_export_without_a_file_goes_to_the_user_models_folder():
    parser = command_parser("train")
    args = parser.parse_args(["mlp_vae", "--data", str(REPO), "--export"])
    assert args.export is True  # cli.train: places.user_models_dir() / "<run>.pt"
    args = parser.parse_args(["mlp_vae", "--data", str(REPO)])
    assert args.export is None


def test_training_without_matplotlib_draws_no_curves_and_goes_on(tmp_path, monkeypatch, caplog):
    """matplotlib is the 'train' extra: a wheel installed without it still trains."""
    import sys

    from pdbridge.train.trainer import plot_history

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.0, "val_hit_f1": 0.5}]
    plot_history(history, tmp_path / "losses.png")
    assert not (tmp_path / "losses.png").exists()
    assert "pdbridge[train]" in caplog.text
