"""A call that got no answer is said in plain words, from the exceptions `requests` really
raises through the target's own session (whose pool classes are private): refused, a name
that does not resolve, TLS, a proxy that is not there, a reset. Over loopback only."""

from __future__ import annotations

import socket
import struct
import threading
import typing as t

import pytest
import requests
from support import CLASS_NAME

from target_incidentio.delivery.outcome import Rejected, Retry, classify_exception
from target_incidentio.delivery.session import make_session
from target_incidentio.delivery.transport import describe_exception

if t.TYPE_CHECKING:
    from collections.abc import Iterator

# A name under `.invalid` (RFC 6761: resolves nowhere) whose first label starts with a hyphen,
# which glibc's resolver refuses before sending any query: no DNS traffic leaves the machine.
UNRESOLVABLE = "-nowhere.invalid"


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raised(url: str, **kwargs: t.Any) -> BaseException:
    """What the target's session raises for a GET of `url`."""
    with make_session(1) as session:
        try:
            session.get(url, timeout=5, **kwargs)
        except (requests.RequestException, OSError) as exc:
            return exc
    pytest.fail(f"{url} answered")


@pytest.fixture
def resetting() -> Iterator[str]:
    """A loopback server that resets every connection once the request has arrived."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    server.close()


def test_a_refused_connection_says_so_with_host_and_port() -> None:
    port = free_port()
    exc = raised(f"http://127.0.0.1:{port}/v1/identity")
    assert "_WatchedHTTPPool" in str(exc)  # live: the library's text names the private class
    failure = describe_exception(exc, f"127.0.0.1:{port}")
    assert failure.cause == "refused"
    assert failure.text == f"127.0.0.1:{port} refused the connection (nothing listens there)"
    assert isinstance(classify_exception(exc, f"127.0.0.1:{port}"), Retry)


def test_a_name_that_does_not_resolve_says_so() -> None:
    exc = raised(f"https://{UNRESOLVABLE}/v1/identity")
    failure = describe_exception(exc, f"{UNRESOLVABLE}:443")
    assert (failure.cause, failure.text) == (
        "unresolved",
        f"the host name {UNRESOLVABLE} does not resolve (DNS)",
    )
    assert not CLASS_NAME.search(failure.text)


def test_an_untrusted_certificate_is_a_tls_failure(self_signed_server, monkeypatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    url, _seen = self_signed_server
    exc = raised(url)
    where = url.removeprefix("https://").rstrip("/")
    failure = describe_exception(exc, where)
    assert failure.cause == "tls"
    assert failure.text.startswith(f"TLS failure with {where}: [SSL: CERTIFICATE_VERIFY_FAILED]")
    assert "_ssl.c" not in failure.text
    assert isinstance(classify_exception(exc, where), Rejected)


def test_a_proxy_that_is_not_there_names_the_proxy_and_its_variables() -> None:
    proxy = f"127.0.0.1:{free_port()}"
    target = f"127.0.0.1:{free_port()}"
    exc = raised(f"http://{target}/", proxies={"http": f"http://user:pw@{proxy}"})
    failure = describe_exception(exc, target)
    assert failure.cause == "proxy"
    assert failure.text.startswith(f"the proxy {proxy} did not carry the call to {target}")
    assert "refused the connection" in failure.text
    assert "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY" in failure.text
    assert "pw" not in failure.text


def test_a_reset_says_the_connection_was_closed(resetting: str) -> None:
    exc = raised(resetting)
    where = resetting.removeprefix("http://").rstrip("/")
    failure = describe_exception(exc, where)
    assert (failure.cause, failure.text) == (
        "closed",
        f"{where} closed the connection before a whole answer came",
    )


def test_no_failure_text_names_a_class(self_signed_server, resetting: str, monkeypatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    url, _seen = self_signed_server
    for target in (f"http://127.0.0.1:{free_port()}/", f"https://{UNRESOLVABLE}/", url, resetting):
        exc = raised(target)
        assert CLASS_NAME.search(str(exc)), str(exc)  # live: the raw text does
        text = describe_exception(exc, "h:1").text
        assert not CLASS_NAME.search(text), text
