"""A small Python client for `pdbridge serve`, and `pdbridge send` for the terminal.

    with Client(port=1415) as c:
        beat = c.sample(temperature=0.8, seed=42)   # (32, 27) float32
        z = c.encode(beat)                          # (z_dim,)
        again = c.decode(z)

Each call sends one request and waits for its reply; an `/error` reply raises `ServerError`.
`send()` / `receive()` are there for pipelining (several requests in flight).
"""

from __future__ import annotations

import socket

import numpy as np

from pdbridge.core.errors import BadInputError, PdbridgeError
from pdbridge.core.pattern import FEATURES
from pdbridge.serve.address import DEFAULT_HOST, DEFAULT_PORT
from pdbridge.serve.osc_codec import Message, decode, encode


class ServerError(PdbridgeError):
    """The server answered `/error <request> <message>`."""

    def __init__(self, request: str, message: str) -> None:
        super().__init__(f"{request}: {message}")
        self.request = request
        self.message = message


class ServerTimeout(PdbridgeError):
    """No reply in time: is `pdbridge serve` running on that port?"""


class Client:
    def __init__(
        self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, timeout: float = 2.0
    ) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host if host in ("127.0.0.1", "localhost") else "", 0))
        self.sock.settimeout(timeout)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw messages

    def send(self, address: str, *args: object) -> None:
        self.sock.sendto(encode(address, *args), self.address)

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendto(data, self.address)

    def receive(self, timeout: float | None = None) -> Message:
        """The next reply, whatever it is (an `/error` too)."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
        except TimeoutError:
            raise ServerTimeout(
                f"no reply from {self.address[0]}:{self.address[1]} within {self.sock.gettimeout()} s"
                " (is `pdbridge serve` running?)"
            ) from None
        finally:
            if timeout is not None:
                self.sock.settimeout(self.timeout)
        return decode(data)

    def drain(self) -> int:
        """Throw away replies that arrived late (after a timeout); returns how many."""
        self.sock.setblocking(False)
        n = 0
        try:
            while True:
                self.sock.recv(1 << 16)
                n += 1
        except (BlockingIOError, InterruptedError):
            pass
        finally:
            self.sock.settimeout(self.timeout)
        return n

    def request(self, address: str, *args: object) -> Message:
        """Send one request and return its reply; `/error` raises `ServerError`."""
        self.send(address, *args)
        reply = self.receive()
        if reply.address == "/error":
            request, message = (reply.args + ["?", "?"])[:2]
            raise ServerError(str(request), str(message))
        return reply

    # -- the protocol, as Python calls (docs/protocol.md)

    @staticmethod
    def _pattern(reply: Message) -> np.ndarray:
        if reply.address != "/pattern":
            raise BadInputError(f"expected /pattern, got {reply.address}")
        return reply.floats(1).reshape(-1, FEATURES)

    @staticmethod
    def _vector(reply: Message) -> np.ndarray:
        if reply.address != "/z":
            raise BadInputError(f"expected /z, got {reply.address}")
        return reply.floats(1)

    def ping(self) -> tuple[int, str]:
        reply = self.request("/ping")
        return int(reply.args[0]), str(reply.args[1])

    def sample(self, temperature: float | None = None, seed: int | None = None) -> np.ndarray:
        args: list[float] = []
        if temperature is not None or seed is not None:
            args.append(1.0 if temperature is None else float(temperature))
        if seed is not None:
            args.append(float(seed))
        return self._pattern(self.request("/sample", *args))

    def encode(self, pattern: np.ndarray) -> np.ndarray:
        return self._vector(self.request("/encode", np.ravel(pattern)))

    def decode(self, z: np.ndarray) -> np.ndarray:
        return self._pattern(self.request("/decode", np.ravel(z)))

    def store(self, slot: str, values: np.ndarray | None = None) -> None:
        """Store a pattern, a latent, or (no values) the last pattern received, in slot a or b."""
        extra = () if values is None else (np.ravel(values),)
        self.request("/store", slot, *extra)

    def interpolate(self, position: float) -> np.ndarray:
        return self._pattern(self.request("/interpolate", float(position)))

    def morph(self, x: float, y: float) -> np.ndarray:
        """The four stored corners (slots a, b, c, d) blended at (x, y) of a pad, decoded."""
        return self._pattern(self.request("/morph", float(x), float(y)))

    def humanize(self, pattern: np.ndarray) -> np.ndarray:
        return self._pattern(self.request("/humanize", np.ravel(pattern)))

    def drumify(self, pattern: np.ndarray) -> np.ndarray:
        return self._pattern(self.request("/drumify", np.ravel(pattern)))

    def infill(self, pattern: np.ndarray) -> np.ndarray:
        return self._pattern(self.request("/infill", np.ravel(pattern)))

    def continue_(self, pattern: np.ndarray, bars: int = 2) -> np.ndarray:
        return self._pattern(self.request("/continue", np.ravel(pattern), float(bars)))

    def set(self, setting: str, *values: float | str) -> list[object]:
        """A setting: temperature, seed, threshold, density, style, reset. Returns the echo."""
        args = [v if isinstance(v, str) else float(v) for v in values]
        return self.request(f"/{setting}", *args).args

    def models(self) -> list[str]:
        return [str(a) for a in self.request("/models").args[1:]]

    def drumifier(self, name: str | None = None) -> str:
        """Choose the model that answers `drumify` (a name, "next" or "default"); its name."""
        return str(self.request("/drumifier", *([] if name is None else [name])).args[1])

    def model(self, name: str | None = None) -> dict[str, object]:
        reply = self.request("/model", *([] if name is None else [name]))
        keys = ("name", "task", "z_dim", "steps")
        return dict(zip(keys, reply.args, strict=False))

    def styles(self) -> list[str]:
        return [str(a) for a in self.request("/styles").args[1:]]
