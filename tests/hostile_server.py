"""A loopback HTTP server that misbehaves on purpose: drips, never ends, redirects, echoes.

Raw sockets, so it can do what a well-behaved server library would not: send headers one byte
a second, or a 200 whose chunked body never ends. Also used by `benchmarks/hostile.py`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import Self


@dataclass
class Seen:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    raw_head: bytes


@dataclass
class HostileServer:
    """Answers every request with `behaviour(socket, seen, stop)`; records what it read."""

    behaviour: Callable[[socket.socket, Seen, threading.Event], None]
    seen: list[Seen] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()
        self._listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while not self.stop.is_set():
                seen = _read_request(conn)
                if seen is None:
                    return
                self.seen.append(seen)
                self.behaviour(conn, seen, self.stop)


def _read_request(conn: socket.socket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    method, path, _ = request_line.split(" ", 2)
    return Seen(method, path, headers, rest, head)


def answer(
    status: int, body: bytes = b"{}", headers: dict[str, str] | None = None
) -> Callable[[socket.socket, Seen, threading.Event], None]:
    """A well-formed answer (to compare a misbehaving one with)."""

    def behave(conn: socket.socket, _seen: Seen, _stop: threading.Event) -> None:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        conn.sendall(head.encode() + body)

    return behave


def drip_body(
    status: int = 200, interval: float = 1.0
) -> Callable[[socket.socket, Seen, threading.Event], None]:
    """Headers at once, then one byte of body every `interval` seconds, forever."""

    def behave(conn: socket.socket, _seen: Seen, stop: threading.Event) -> None:
        conn.sendall(f"HTTP/1.1 {status} OK\r\nContent-Length: 1000000\r\n\r\n".encode())
        while not stop.wait(interval):
            conn.sendall(b" ")

    return behave


def drip_headers(interval: float = 1.0) -> Callable[[socket.socket, Seen, threading.Event], None]:
    """The status line and then one header byte every `interval` seconds, forever."""

    def behave(conn: socket.socket, _seen: Seen, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not stop.wait(interval):
            conn.sendall(b"a")

    return behave


def endless_body(status: int = 200) -> Callable[[socket.socket, Seen, threading.Event], None]:
    """A chunked body of 64 KiB chunks that never ends (as fast as the client reads)."""
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"

    def behave(conn: socket.socket, _seen: Seen, stop: threading.Event) -> None:
        conn.sendall(f"HTTP/1.1 {status} OK\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        while not stop.is_set():
            conn.sendall(chunk)

    return behave
