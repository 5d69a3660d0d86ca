"""The requests that touch files: `/load` reads a checkpoint from an allowed models folder,
`/export` writes a MIDI file into the export folder. Nothing else in the server reads or writes
files, and a request names a file only inside those folders (`pdbridge.core.paths.confine`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pdbridge.core.limits import MAX_MODELS
from pdbridge.core.paths import confine
from pdbridge.core.pattern import Pattern
from pdbridge.serve.requests import RequestError

MODEL_SUFFIXES = (".pt", ".pth")  # .pth: a course Groove Transformer file, imported as it loads
MIDI_SUFFIXES = (".mid", ".midi")

# (engine, checkpoint path) -> (a new engine with that model added, its name)
LoadModel = Callable[[object, Path], tuple[object, str]]


class FileService:
    def __init__(
        self,
        load_model: LoadModel | None = None,
        model_dirs: Sequence[str | Path] = (),
        export_dir: str | Path | None = None,
    ) -> None:
        """Either request is refused when its folder (or loader) is not given."""
        self.load_model = load_model
        self.model_dirs = list(model_dirs)
        self.export_dir = export_dir
        self._lock = threading.Lock()  # one load at a time
        self._loaded: dict[Path, tuple[tuple[int, int], str]] = {}  # path -> (stat, name)

    def load(
        self, engine: object, requested: str, loaded_names: set[str]
    ) -> tuple[object, str, Path]:
        """(the engine to serve with, the model's name, its file). The same unchanged file again
        costs nothing (a reload costs time and memory); a bad file leaves everything as is."""
        if self.load_model is None or not self.model_dirs:
            raise RequestError("loading models is off on this server")
        path = confine(requested, self.model_dirs, MODEL_SUFFIXES)
        with self._lock:
            stat = path.stat()
            seen = self._loaded.get(path)
            if seen is not None and seen[0] == (stat.st_mtime_ns, stat.st_size):
                return engine, seen[1], path
            if len(loaded_names) >= MAX_MODELS and path.stem not in loaded_names:
                raise RequestError(f"{MAX_MODELS} models loaded already; restart for others")
            engine, name = self.load_model(engine, path)
            self._loaded[path] = ((stat.st_mtime_ns, stat.st_size), name)
            return engine, name, path

    def export(self, pattern: np.ndarray, requested: str, bpm: float) -> str:
        """Write `pattern` as a MIDI file named `requested` inside the export folder; the name
        written, as the reply gives it (`beat` becomes `beat.mid`)."""
        if self.export_dir is None:
            raise RequestError("exporting is off on this server")
        path = confine(requested, [self.export_dir], MIDI_SUFFIXES, must_exist=False)
        from pdbridge.core.midi import write_midi  # mido: only when a patch exports

        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside, then rename: never half a file, and a symlink at `path` is replaced,
        # not followed.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            write_midi(Pattern.from_array(pattern, bpm=bpm), tmp)
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise RequestError(f"cannot write {requested}: {e.strerror}") from None
        root = Path(os.path.realpath(os.path.expanduser(str(self.export_dir))))
        return str(path.relative_to(root))
