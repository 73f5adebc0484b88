"""What went wrong when no HTTP answer came, in plain words: refused, unresolved, TLS, timed out.

`requests` and `urllib3` nest the cause three deep and name their (and our) pool and
connection classes in the text: `_WatchedHTTPSPool(host=…): Max retries exceeded … (Caused by
NewConnectionError(…))`. A user needs what happened, to which host and port, and what to
look at. Pure: an exception in, a `TransportFailure` out; the caller names the setting.
"""

from __future__ import annotations

import errno
import http.client
import re
import socket
import ssl
import typing as t
from dataclasses import dataclass

import requests
import urllib3.exceptions

if t.TYPE_CHECKING:
    from collections.abc import Iterator

# What kind of failure it was: the retry policy and `--check` decide by it.
Cause = t.Literal[
    "proxy", "unresolved", "tls", "refused", "unreachable", "timeout", "closed", "other"
]
# The environment variables `requests` reads a proxy from.
PROXY_VARIABLES = "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY"
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)")
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*")
_CLASS_CALL = re.compile(r"\b_?[A-Z]\w*(?:Pool|Connection|Error)\((?:host=)?'?[^()]*\)?:?\s*")


@dataclass(frozen=True)
class TransportFailure:
    """What went wrong on the way, as a user reads it."""

    cause: Cause
    text: str


def chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception it wraps: causes, contexts, `MaxRetryError.reason`, args."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        nested += list(current.args)
        todo += [item for item in nested if isinstance(item, BaseException)]


def _first(exc: BaseException, *kinds: type[BaseException]) -> BaseException | None:
    return next((item for item in chain(exc) if isinstance(item, kinds)), None)


def _proxy_address(exc: BaseException) -> str:
    """The proxy's host:port, from the connection that could not be made (never its userinfo)."""
    for item in chain(exc):
        conn = getattr(item, "conn", None)
        host, port = getattr(conn, "host", None), getattr(conn, "port", None)
        if isinstance(host, str):
            return f"{host}:{port}" if port else host
    return "the proxy"


def _words(exc: BaseException) -> str:
    """An exception's own message, without the class and object names libraries put in it."""
    text = _OBJECT_REPR.sub("", str(exc))
    text = _CLASS_CALL.sub("", text)
    return _SSL_LOCATION.sub("", text).strip(" :") or type(exc).__name__


# Simple kinds: the exceptions anywhere in the chain that mean it, and what to say. In order:
# a refused connection under a timeout is a refusal.
_KINDS: tuple[tuple[Cause, tuple[type[BaseException], ...], str], ...] = (
    (
        "refused",
        (ConnectionRefusedError,),
        "{where} refused the connection (nothing listens there)",
    ),
    (
        "timeout",
        (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError),
        "{where} timed out: {detail}",
    ),
    (
        "closed",
        (
            ConnectionResetError,
            ConnectionAbortedError,
            BrokenPipeError,
            http.client.RemoteDisconnected,
            http.client.IncompleteRead,
            urllib3.exceptions.ProtocolError,
            requests.exceptions.ChunkedEncodingError,
        ),
        "{where} closed the connection before a whole answer came",
    ),
)
_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


def describe_exception(exc: BaseException, where: str = "the server") -> TransportFailure:
    """The failure as plain words; `where` is the `host:port` the call went to."""
    if _first(exc, urllib3.exceptions.ProxyError, requests.exceptions.ProxyError) is not None:
        return _through_proxy(exc, where)
    if _first(exc, urllib3.exceptions.NameResolutionError, socket.gaierror) is not None:
        host = where.rsplit(":", 1)[0]
        return TransportFailure("unresolved", f"the host name {host} does not resolve (DNS)")
    tls = _first(exc, ssl.SSLError, urllib3.exceptions.SSLError, requests.exceptions.SSLError)
    if tls is not None:
        innermost = _first(exc, ssl.SSLError) or tls
        return TransportFailure("tls", f"TLS failure with {where}: {_words(innermost)}")
    if any(isinstance(e, OSError) and e.errno in _UNREACHABLE for e in chain(exc)):
        return TransportFailure("unreachable", f"{where} cannot be reached (no route to it)")
    for cause, kinds, text in _KINDS:
        if _first(exc, *kinds) is not None:
            detail = str(exc) if "request_timeout" in str(exc) else "no answer in `request_timeout`"
            return TransportFailure(cause, text.format(where=where, detail=detail))
    connecting = isinstance(exc, (requests.ConnectionError, ConnectionError))
    text = f"the connection to {where} failed: {_words(exc)}" if connecting else _words(exc)
    return TransportFailure("other", text)


def _through_proxy(exc: BaseException, where: str) -> TransportFailure:
    """A proxy was in the way: what happened between here and the proxy, and where it comes from."""
    proxy = _proxy_address(exc)
    inner = describe_exception(_innermost(exc), proxy)
    return TransportFailure(
        "proxy",
        f"the proxy {proxy} did not carry the call to {where} ({inner.text}); it comes "
        f"from the environment ({PROXY_VARIABLES})",
    )


def _innermost(exc: BaseException) -> BaseException:
    *_, last = chain(exc)
    return last
