"""OSC 1.0 messages to and from bytes, with a numpy fast path for long float lists.

python-osc builds and parses one argument at a time in Python: about 1 ms to build and 0.4 ms to
parse an 864-float pattern, more than the model needs to make it. Here a run of floats is one
`numpy` big-endian float32 block (`>f4`), so a whole pattern costs a few microseconds either way.
The results are checked against python-osc's own parser in `tests/test_osc_codec.py`.

- `encode(address, *args)`: args are `int` (-> `i`), `float` (-> `f`), `str` (-> `s`) or a 1-D
  numpy array / sequence of floats (-> one `f` per element). Replies use only these three types,
  the ones vanilla Pd's `[oscparse]` reads.
- `decode(data) -> Message`: reads any OSC 1.0 message (plus the common `h d t T F N I` tags);
  numbers can be taken out as one float32 array with `Message.floats()`.
- Bundles are not supported: Pd's `[oscformat]` never sends them.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from pdbridge.core.errors import BadInputError

_INT = struct.Struct(">i")
_FIXED_SIZE = {"h": 8, "d": 8, "t": 8, "T": 0, "F": 0, "N": 0, "I": 0}
_FIXED_FORMAT = {"h": ">q", "d": ">d", "t": ">Q"}
_CONSTANT = {"T": True, "F": False, "N": None, "I": float("inf")}
# One match per numeric run ("fffff", "iii") or per single other tag.
_RUNS = re.compile(r"f+|i+|.", re.DOTALL)


class OscError(BadInputError):
    """A datagram that is not a readable OSC message."""


# ---------------------------------------------------------------------------- encoding


def _osc_string(s: str) -> bytes:
    """UTF-8, NUL-terminated, padded to a multiple of 4 bytes."""
    b = s.encode("utf-8")
    return b + b"\0" * (4 - len(b) % 4)


@lru_cache(maxsize=256)
def _head(address: str, tags: str) -> bytes:
    """Address and type tag string: replies repeat a few shapes, so build each once."""
    return _osc_string(address) + _osc_string(tags)


def encode(address: str, *args: object) -> bytes:
    """One OSC message as bytes. Float arrays are written in one go, never element by element."""
    tags = [","]
    parts = []
    for arg in args:
        if isinstance(arg, str):
            tags.append("s")
            parts.append(_osc_string(arg))
        elif isinstance(arg, bool):  # bool is an int in Python; OSC T/F would not reach Pd
            raise TypeError("encode: bool arguments are not supported; send 0 or 1")
        elif isinstance(arg, (int, np.integer)):
            tags.append("i")
            parts.append(_INT.pack(int(arg)))
        elif isinstance(arg, (float, np.floating)):
            tags.append("f")
            parts.append(struct.pack(">f", arg))
        else:
            block = np.asarray(arg, dtype=">f4")
            if block.ndim != 1:
                raise TypeError(f"encode: float arrays must be 1-D, got shape {block.shape}")
            tags.append("f" * block.size)
            parts.append(block.tobytes())
    return _head(address, "".join(tags)) + b"".join(parts)


# ---------------------------------------------------------------------------- decoding


@dataclass
class Message:
    """A decoded OSC message. `tags` is the type tag string without its leading comma.

    Arguments are read lazily: `args` gives Python values (fine for short messages), `floats()`
    gives numbers as one float32 array straight from the datagram (the fast path).
    """

    address: str
    tags: str
    data: bytes = field(repr=False)
    # (tag, count, byte offset) for each run of same-tag numbers; strings/blobs hold their value
    runs: list[tuple[str, int, int, object]] = field(repr=False)

    def __len__(self) -> int:
        return len(self.tags)

    @property
    def args(self) -> list[object]:
        out: list[object] = []
        for tag, count, offset, value in self.runs:
            if tag == "f":
                out.extend(np.frombuffer(self.data, ">f4", count, offset).tolist())
            elif tag == "i":
                out.extend(np.frombuffer(self.data, ">i4", count, offset).tolist())
            else:
                out.append(value)
        return out

    def floats(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Arguments `start:stop` as a native float32 array; all must be numbers (`f` or `i`).

        Raises `BadInputError` naming the first argument that is not a number.
        """
        stop = len(self.tags) if stop is None else stop
        pieces = []
        index = 0  # argument index at the start of the current run
        for tag, count, offset, value in self.runs:
            lo, hi = max(start, index), min(stop, index + count)
            if lo < hi:
                if tag == "f":
                    pieces.append(
                        np.frombuffer(self.data, ">f4", hi - lo, offset + 4 * (lo - index))
                    )
                elif tag == "i":
                    pieces.append(
                        np.frombuffer(self.data, ">i4", hi - lo, offset + 4 * (lo - index))
                    )
                elif tag in "hd":
                    pieces.append(np.array([value], dtype=np.float64))
                else:
                    raise BadInputError(
                        f"argument {lo + 1} should be a number, got type '{tag}' ({value!r})"
                    )
            index += count
        if not pieces:
            return np.zeros(0, np.float32)
        if len(pieces) == 1:
            return pieces[0].astype(np.float32)
        return np.concatenate(pieces).astype(np.float32)


def _read_string(data: bytes, pos: int, what: str) -> tuple[str, int]:
    end = data.find(b"\0", pos)
    if end < 0:
        raise OscError(f"{what} is not NUL-terminated")
    try:
        s = data[pos:end].decode("utf-8")
    except UnicodeDecodeError:
        raise OscError(f"{what} is not valid UTF-8") from None
    return s, (end + 4) & ~3


def read_address(data: bytes) -> str:
    """The address of a datagram, or '?' when even that cannot be read (for error replies)."""
    end = data.find(b"\0", 0, 256)
    if end <= 0 or data[:1] != b"/":
        return "?"
    try:
        return data[:end].decode("utf-8")
    except UnicodeDecodeError:
        return "?"


def decode(data: bytes) -> Message:
    """Parse one OSC message. Raises `OscError` (a `BadInputError`) with a one-line reason."""
    if not data:
        raise OscError("empty datagram")
    if data[:1] == b"#":
        raise OscError("OSC bundles are not supported; send plain messages")
    if data[:1] != b"/":
        raise OscError("not an OSC message (the address must start with '/')")
    if len(data) % 4:
        raise OscError(f"datagram length {len(data)} is not a multiple of 4")
    address, pos = _read_string(data, 0, "address")
    if pos >= len(data):  # OSC 1.0 allows a missing type tag string: no arguments
        return Message(address, "", data, [])
    if data[pos : pos + 1] != b",":
        raise OscError("type tag string missing (it must start with ',')")
    tagstring, pos = _read_string(data, pos, "type tag string")
    tags = tagstring[1:]
    size = len(data)
    if tags and tags.count("f") == len(tags):  # what Pd sends: only floats, one run
        if pos + 4 * len(tags) > size:
            raise OscError(f"datagram too short for its {len(tags)} floats ({size} bytes)")
        return Message(address, tags, data, [("f", len(tags), pos, None)])
    runs: list[tuple[str, int, int, object]] = []
    for m in _RUNS.finditer(tags):
        run = m.group()
        tag, count = run[0], len(run)
        if tag in "fi":
            runs.append((tag, count, pos, None))
            pos += 4 * count
        elif tag == "s" or tag == "S":
            value, pos = _read_string(data, pos, "string argument")
            runs.append(("s", 1, 0, value))
        elif tag == "b":
            if pos + 4 > size:
                raise OscError("datagram ends inside a blob size")
            n = _INT.unpack_from(data, pos)[0]
            if n < 0:
                raise OscError("negative blob size")
            if pos + 4 + n > size:  # refuse a declared size before taking anything for it
                raise OscError(f"blob size {n} larger than the datagram ({size} bytes)")
            value = data[pos + 4 : pos + 4 + n]
            pos += 4 + ((n + 3) & ~3)
            runs.append(("b", 1, 0, value))
        elif tag in _FIXED_SIZE:
            width = _FIXED_SIZE[tag]
            if pos + width > size:
                raise OscError(f"datagram too short for its type tags ,{tags} ({size} bytes)")
            if tag in _FIXED_FORMAT:
                value = struct.unpack_from(_FIXED_FORMAT[tag], data, pos)[0]
            else:
                value = _CONSTANT[tag]
            runs.append((tag, 1, pos, value))
            pos += width
        else:
            raise OscError(f"unknown OSC type tag '{tag}'")
        if pos > size:
            break
    if pos > size:
        raise OscError(f"datagram too short for its type tags ,{tags} ({size} bytes)")
    return Message(address, tags, data, runs)


__all__ = ["Message", "OscError", "decode", "encode", "read_address"]
