"""A threaded HTTP/1.1 server for the sandbox app, and the ``Sandbox`` test helper.

Werkzeug's development server closes every connection after one answer; clients
of incident.io keep connections alive, and the faults need to reset or close a
connection on purpose, so a small stdlib handler runs the WSGI app instead.
"""

from __future__ import annotations

import io
import ipaddress
import socket
import struct
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from werkzeug.wrappers import Response

from incidentio_sandbox.app import CONNECTION_DIRECTIVE, SandboxApp
from incidentio_sandbox.config import DEFAULT_ALERT_SOURCES, DEFAULT_API_KEY, SandboxConfig
from incidentio_sandbox.faults import FaultConfig
from incidentio_sandbox.seed import Seed

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self  # typing.Self needs 3.11

_MAX_BODY = 64 * 1024 * 1024  # beyond this the sandbox refuses to buffer a body at all


def ensure_loopback(host: str) -> None:
    """Refuse to listen anywhere but loopback: the sandbox has no real security."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        msg = f"the sandbox only listens on loopback addresses, not {host!r}"
        raise ValueError(msg)


class _Handler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a WSGI call, honouring the app's connection faults."""

    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle plus the client's
        # delayed ACK adds ~40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length > _MAX_BODY or length < 0:
            return None
        return self.rfile.read(length) if length else b""

    def _environ(self, body: bytes) -> dict[str, Any]:
        parts = urlsplit(self.path)
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(parts.path, encoding="latin-1"),
            "QUERY_STRING": parts.query,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key not in {"CONTENT_LENGTH", "TRANSFER_ENCODING"}:
                http_key = f"HTTP_{key}"
                environ[http_key] = (
                    f"{environ[http_key]}, {value}" if http_key in environ else value
                )
        return environ

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self.send_error(413, "Request body too large (or unreadable) for the sandbox")
            self.close_connection = True
            return
        environ = self._environ(body)
        holder: dict[str, str] = {}
        environ[CONNECTION_DIRECTIVE] = holder
        response = Response.from_app(self.server.app, environ, buffered=True)
        directive = holder.get("action")
        if directive == "reset":
            # Linger 0 turns the close into a TCP RST: the client gets no answer at all.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        data = response.get_data()
        self.send_response(response.status_code, response.status.partition(" ")[2] or None)
        for name, value in response.headers.items():
            if name.lower() not in {"content-length", "connection"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if directive == "close" or self.server.stopping.is_set():
            self.send_header("Connection", "close")  # also sets close_connection
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # http.server dispatches on these names.
    do_GET = do_POST = do_PUT = do_PATCH = _serve  # noqa: N815
    do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815


class SandboxHTTPServer(ThreadingHTTPServer):
    """One thread per connection; daemon threads so a hung client never blocks shutdown."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int, app: SandboxApp, *, verbose: bool = False) -> None:
        ensure_loopback(host)
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.app = app
        self.verbose = verbose
        self.stopping = app.stopping
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        """Base URL clients use, e.g. ``http://127.0.0.1:54321``."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ANN401
        """Clients hanging up mid-answer are routine here (timeouts, faults); stay quiet."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Sandbox:
    """A sandbox running in a background thread, for tests and benchmarks.

    ``with Sandbox(api_key="k", alert_sources={"src": "tok"}) as sb: sb.url``.
    Catalog types, non-HTTP alert sources and custom fields come in ``seed`` (a ``Seed`` or
    its JSON shape); the other keyword arguments are shortcuts for the common seed items.
    """

    def __init__(  # noqa: PLR0913 - mirrors the CLI flags one to one
        self,
        *,
        api_key: str | Sequence[str] | Mapping[str, str] = DEFAULT_API_KEY,
        alert_sources: Mapping[str, str] | None = None,
        heartbeat_sources: Mapping[str, str] | None = None,
        seed: Seed | Mapping[str, Any] | None = None,
        api_key_roles: Mapping[str, Iterable[str]] | None = None,
        reject_catalog_external_ids: Iterable[str] = (),
        reject_catalog_names: Iterable[str] = (),
        rate_limit: bool = False,
        bucket_capacity: float = 1200,
        refill_per_second: float = 20,
        alert_bucket_capacity: float = 120,
        alert_refill_per_second: float = 2,
        retry_after_header: bool = True,
        retry_after_format: Literal["rfc3339", "http-date"] = "rfc3339",
        faults: FaultConfig | Mapping[str, Any] | None = None,
        journal_max_entries: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        ensure_loopback(host)
        if isinstance(api_key, str):
            keys: dict[str, str] = {api_key: "api_key_name"}
        elif isinstance(api_key, Mapping):
            keys = dict(api_key)
        else:
            keys = dict.fromkeys(api_key, "api_key_name")
        if isinstance(faults, Mapping):
            faults = FaultConfig(**faults)
        seeded = Seed.from_json(seed) if isinstance(seed, Mapping) else seed or Seed()
        shortcuts = Seed(
            api_key_roles={key: tuple(roles) for key, roles in (api_key_roles or {}).items()},
            reject_catalog_external_ids=frozenset(reject_catalog_external_ids),
            reject_catalog_names=frozenset(reject_catalog_names),
        )
        self.config = SandboxConfig(
            api_keys=keys,
            alert_sources=dict(DEFAULT_ALERT_SOURCES if alert_sources is None else alert_sources),
            heartbeat_sources=dict(heartbeat_sources or {}),
            seed=seeded.merged(shortcuts),
            rate_limit=rate_limit,
            bucket_capacity=bucket_capacity,
            refill_per_second=refill_per_second,
            alert_bucket_capacity=alert_bucket_capacity,
            alert_refill_per_second=alert_refill_per_second,
            retry_after_header=retry_after_header,
            retry_after_format=retry_after_format,
            faults=faults or FaultConfig(),
            journal_max_entries=journal_max_entries,
        )
        self.app = SandboxApp(self.config)
        self._host, self._port, self._verbose = host, port, verbose
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running sandbox."""
        if self._server is None:
            msg = "the sandbox is not running"
            raise RuntimeError(msg)
        return self._server.url

    def start(self) -> Self:
        """Bind (port 0 picks a free port) and serve in a daemon thread."""
        if self._server is None:
            self.app.stopping.clear()
            self._server = SandboxHTTPServer(
                self._host, self._port, self.app, verbose=self._verbose
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="incidentio-sandbox",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; sleeping latency/slow faults wake up at once."""
        self.app.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def journal(self, since: int = 0, path: str | None = None) -> list[dict[str, Any]]:
        """Every request received (control endpoints excepted), oldest first."""
        return self.app.journal(since=since, path=path)

    def state(self) -> dict[str, Any]:
        """Incidents, updates, alerts, alert events, catalog entries and counts."""
        return self.app.state()

    def set_faults(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig:  # noqa: ANN401
        """Replace the whole fault config, or just the named fields."""
        if config is not None:
            self.app.faults.configure(config)
            return config
        return self.app.set_faults(changes)

    def clear_faults(self) -> None:
        """No latency, no faults, no script."""
        self.app.faults.configure(FaultConfig())

    def reset(self) -> None:
        """Forget state, journal and rate-limit buckets; faults and seed return to the start."""
        self.app.reset()

    def load_seed(self, seed: Seed | Mapping[str, Any]) -> Seed:
        """Add catalog types, sources, custom fields or key roles while running."""
        return self.app.load_seed(Seed.from_json(seed) if isinstance(seed, Mapping) else seed)

    def current_seed(self) -> Seed:
        """What the account holds now (the ``GET /_sandbox/seed`` view)."""
        return self.app.current_seed()
