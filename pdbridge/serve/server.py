"""`pdbridge serve`: the UDP socket, per-client queues and inference threads around `Protocol`.

Threads:
- one receiver reads datagrams, decodes them (microseconds) and queues them per client; it never
  waits for inference, so a burst from Pd is always read off the socket at once;
- `workers` inference threads (1 by default, torch itself limited to `torch_threads`) take the
  next client with work, answer its oldest request, and send the reply. When that request is a
  decode (`BATCHED`), the oldest decodes of up to `batch - 1` other waiting clients join it in
  one model call: 8 clients' decodes cost about two single ones, so throughput grows with load
  while a lone client's latency stays as it is.

A client (a sender address) is served by one worker at a time, so its replies come back in the
order its requests arrived. A `/decode` or `/interpolate` still waiting is dropped when a newer one
of the same kind from the same client arrives (latest wins while a slider sweeps). Each client's
queue is bounded; a request that does not fit gets `/error ... server busy` at once.

Who may talk to it: the server listens on loopback unless started with `allow_remote`, and answers
only senders on loopback or in `allow` (networks). The decision is made once per sender host and
cached, so the receiver pays one dict lookup per datagram. See docs/reliability.md.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pdbridge.core import places
from pdbridge.core.errors import PdbridgeError, PortInUseError, UsageError
from pdbridge.serve.address import DEFAULT_HOST, DEFAULT_PORT
from pdbridge.serve.osc_codec import Message, OscError, decode, read_address
from pdbridge.serve.protocol import BATCHED, LATEST_WINS, Protocol, error_reply

log = logging.getLogger(__name__)

MAX_UDP = 65535  # receive buffer: larger than any UDP datagram, so nothing is cut silently
MAX_SENDER_CACHE = 4096  # allow-list decisions remembered (sender hosts)


@dataclass
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    reply_port: int | None = None  # None: reply to the sender's own address
    models: list[str] = field(default_factory=lambda: ["default"])
    workers: int = 1  # inference threads
    torch_threads: int = 1  # CPU threads torch may use per inference (leave cores for Pd)
    queue_size: int = 32  # requests waiting per client before "server busy"
    batch: int = 8  # clients' decodes answered in one model call at most (1: no batching)
    max_request: int = 32768  # bytes; an 8-bar pattern is about 14 KB
    max_clients: int = 256
    allow_remote: bool = False  # listening on a non-loopback address must be asked for
    allow: list[str] = field(default_factory=list)  # client networks besides loopback
    # /load folders besides the shipped models; empty: the user models folder (places.py)
    models_dirs: list[str] = field(default_factory=list)
    # where /export writes (default: places.export_dir()); None: /export is off
    export_dir: str | None = field(default_factory=lambda: str(places.export_dir()))


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def check_host(config: ServerConfig) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Refuse a non-loopback address without `allow_remote`; the allowed client networks."""
    if not is_loopback(config.host) and not config.allow_remote:
        raise UsageError(
            f"--host {config.host} would let other computers reach the server; "
            "add --allow-remote (and --allow NETWORK for each network that may send) to mean it"
        )
    networks = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
    for text in config.allow:
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise UsageError(
                f"--allow {text}: not an address or network (e.g. 192.168.1.0/24)"
            ) from None
    return networks


class _ReadyQueue:
    """Clients ready for a worker, and a pipe that wakes one waiting worker per client.

    Not `queue.SimpleQueue`: its put() wakes the worker while the putting thread still holds the
    GIL, so on one core the worker runs, blocks on the GIL, and the two threads switch back and
    forth before anything happens. `os.write` lets go of the GIL for its system call, so the woken
    worker runs at once (a bare hand-over between two threads: 17 us -> 6.5 us on the test
    machine). For the same reason, call put() with no lock held.

    `take` removes clients from the middle (a worker batching their decodes); their wake-up bytes
    stay in the pipe, so get() skips a wake-up that finds nothing.
    """

    def __init__(self) -> None:
        self._items: deque[_Client | None] = deque()
        self._lock = threading.Lock()
        self._read_fd, self._write_fd = os.pipe()

    def put(self, client: _Client | None) -> None:
        with self._lock:
            self._items.append(client)  # before the byte: a woken worker always finds it
        os.write(self._write_fd, b"\0")

    def get(self) -> _Client | None:
        while True:
            os.read(self._read_fd, 1)
            with self._lock:
                if self._items:
                    return self._items.popleft()

    def waiting(self) -> bool:
        """Is any client waiting for a worker? (A glance without the lock: for a shortcut.)"""
        return bool(self._items)

    def take(self, wanted: Callable[[_Client], bool], limit: int) -> list[_Client]:
        """Up to `limit` waiting clients for which `wanted(client)`, out of the line."""
        with self._lock:
            taken = [c for c in self._items if c is not None and wanted(c)][:limit]
            for client in taken:
                self._items.remove(client)
        return taken

    def close(self) -> None:
        os.close(self._read_fd)
        os.close(self._write_fd)


class _Client:
    """One sender's waiting requests. `scheduled` is True while a worker owns or will own it."""

    __slots__ = ("key", "reply_to", "pending", "scheduled")

    def __init__(self, key: tuple, reply_to: tuple) -> None:
        self.key = key
        self.reply_to = reply_to
        self.pending: deque[Message] = deque()
        self.scheduled = False


class Server:
    """A running OSC server around a `Protocol`. `start()` returns at once; `stop()` joins."""

    def __init__(self, protocol: Protocol, config: ServerConfig) -> None:
        self.protocol = protocol
        self.config = config
        self._networks = check_host(config)
        self._sender_ok: dict[str, bool] = {}  # allow-list decision per sender host
        self.refused = 0  # datagrams dropped from senders not allowed
        self.batched = 0  # requests answered in a shared model call
        self._refused_logged = 0.0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        try:
            self.sock.bind((config.host, config.port))
        except OSError as e:
            self.sock.close()
            where = f"{config.host}:{config.port}"
            if e.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"cannot listen on {where}: the port is in use (another pdbridge serve?); "
                    "stop it or choose another with --port"
                ) from None
            raise PdbridgeError(f"cannot listen on {where}: {e.strerror or e}") from None
        self._clients: dict[tuple, _Client] = {}
        self._lock = threading.Lock()
        self._ready = _ReadyQueue()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def start(self) -> None:
        self._threads.append(threading.Thread(target=self._receive, name="osc-receive"))
        for i in range(self.config.workers):
            self._threads.append(threading.Thread(target=self._work, name=f"osc-worker-{i}"))
        for t in self._threads:
            t.daemon = True
            t.start()

    def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        try:  # wake the receiver, blocked in recvfrom
            waker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            host, port = self.address
            waker.sendto(b"", ("127.0.0.1" if host == "0.0.0.0" else host, port))
            waker.close()
        except OSError:
            pass
        for _ in range(self.config.workers):
            self._ready.put(None)
        for t in self._threads:
            t.join(timeout=5)
        self.sock.close()
        if not any(t.is_alive() for t in self._threads):
            self._ready.close()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- threads

    def _send(self, data: bytes, to: tuple) -> None:
        try:
            self.sock.sendto(data, to)
        except OSError as e:  # the patch may be gone; never let that stop the server
            log.warning("cannot reply to %s:%s: %s", to[0], to[1], e)

    def _receive(self) -> None:
        reply_port = self.config.reply_port
        sender_ok = self._sender_ok
        while True:
            try:
                data, sender = self.sock.recvfrom(MAX_UDP)
            except OSError:
                if self._stopping:
                    return
                continue  # e.g. an ICMP error reported on the socket
            if self._stopping:
                return
            allowed = sender_ok.get(sender[0])
            if not allowed and not (allowed is None and self._judge(sender[0])):
                self._refuse(sender)
                continue
            reply_to = sender if reply_port is None else (sender[0], reply_port)
            if len(data) > self.config.max_request:
                self._send(
                    error_reply(
                        read_address(data),
                        f"request too large: {len(data)} bytes (limit {self.config.max_request})",
                    ),
                    reply_to,
                )
                continue
            try:
                message = decode(data)
            except OscError as e:
                self._send(error_reply(read_address(data), str(e)), reply_to)
                continue
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s:%s %s ,%s", sender[0], sender[1], message.address, message.tags[:16])
            if not self._enqueue(sender, reply_to, message):
                self._send(
                    error_reply(
                        message.address,
                        f"server busy: {self.config.queue_size} requests already waiting",
                    ),
                    reply_to,
                )

    def _judge(self, host: str) -> bool:
        """Is `host` allowed? Decided once per host, then read from the cache."""
        try:
            address = ipaddress.ip_address(host)
            allowed = any(address in network for network in self._networks)
        except ValueError:
            allowed = False
        if len(self._sender_ok) >= MAX_SENDER_CACHE:  # many spoofed senders: start over
            self._sender_ok.clear()
        self._sender_ok[host] = allowed
        return allowed

    def _refuse(self, sender: tuple) -> None:
        """Drop without a reply (a reply would help a spoofer); log at most once a second."""
        self.refused += 1
        now = time.monotonic()
        if now - self._refused_logged >= 1.0:
            self._refused_logged = now
            log.debug(
                "dropped a datagram from %s:%s (not allowed; %d so far)", *sender[:2], self.refused
            )

    def _enqueue(self, sender: tuple, reply_to: tuple, message: Message) -> bool:
        with self._lock:
            client = self._clients.get(sender)
            if client is None:
                if len(self._clients) >= self.config.max_clients:
                    for key in [k for k, c in self._clients.items() if not c.scheduled]:
                        del self._clients[key]
                    if len(self._clients) >= self.config.max_clients:
                        return False  # every client has work waiting: busy, and bounded
                client = self._clients[sender] = _Client(sender, reply_to)
            pending = client.pending
            if message.address in LATEST_WINS and pending:
                for old in [m for m in pending if m.address == message.address]:
                    pending.remove(old)
                    log.debug("dropped a waiting %s (a newer one arrived)", old.address)
            if len(pending) >= self.config.queue_size:
                return False
            pending.append(message)
            wake = not client.scheduled
            client.scheduled = True
        if wake:  # outside the lock: the woken worker takes it at once
            self._ready.put(client)
        return True

    def _work(self) -> None:
        batch_size = self.config.batch

        def batches_with(client: _Client) -> bool:  # called with self._lock held
            return bool(client.pending) and client.pending[0].address in BATCHED

        while True:
            client = self._ready.get()
            if client is None:
                return
            with self._lock:
                message = client.pending.popleft()
                batch = [(client, message)]
                if message.address in BATCHED and batch_size > 1 and self._ready.waiting():
                    # Other clients' decodes waiting now share this one's model call.
                    for other in self._ready.take(batches_with, batch_size - 1):
                        batch.append((other, other.pending.popleft()))
            if len(batch) == 1:  # the usual case: one client's request, nothing to share
                self._send(self.protocol.handle(client.key, message), client.reply_to)
                with self._lock:
                    again = client.scheduled = bool(client.pending)
                if again:
                    self._ready.put(client)
                continue
            replies = self.protocol.handle_many([(c.key, m) for c, m in batch])
            for (c, _), reply in zip(batch, replies, strict=True):
                self._send(reply, c.reply_to)
            with self._lock:
                self.batched += len(batch)
                again = [c for c, _ in batch if c.pending]
                for c, _ in batch:
                    c.scheduled = bool(c.pending)
            for c in again:  # clients take turns: back of the line
                self._ready.put(c)
