from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests
from delivery_helpers import API_KEY
from requests.adapters import HTTPAdapter

from target_incidentio.delivery.session import (
    USER_AGENT,
    DeliverySession,
    ForeignOriginError,
    InsecureRedirectError,
    make_session,
)

if TYPE_CHECKING:
    from pytest_httpserver import HTTPServer

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_session_settings() -> None:
    session = make_session(6)
    adapter = session.get_adapter("https://api.incident.io")
    assert isinstance(adapter, HTTPAdapter)
    assert adapter._pool_maxsize == 6
    assert adapter._pool_connections == 6
    assert adapter.max_retries.total == 0  # retries are ours, not urllib3's
    assert session.verify is True
    assert session.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("target-incidentio/")


def test_user_agent_and_keep_alive_reach_the_server(server: HTTPServer) -> None:
    server.expect_request("/ping").respond_with_json({})
    with make_session(2) as session:
        for _ in range(2):
            session.get(server.url_for("/ping"), timeout=5).raise_for_status()
    first, second = (request for request, _ in server.log)
    assert first.headers["User-Agent"] == USER_AGENT
    assert first.headers.get("Connection", "keep-alive").lower() == "keep-alive"
    assert second.headers["User-Agent"] == USER_AGENT


def test_redirect_to_another_host_drops_authorization(
    server: HTTPServer, other_server: HTTPServer
) -> None:
    # Both are loopback, but "localhost" is another host name than "127.0.0.1".
    target = f"http://localhost:{other_server.port}/landing"
    other_server.expect_request("/landing").respond_with_json({"ok": True})
    server.expect_request("/start").respond_with_data("", status=307, headers={"Location": target})
    with make_session(1) as session:
        response = session.post(server.url_for("/start"), json={}, headers=AUTH, timeout=5)
    assert response.status_code == 200
    [(first, _)] = server.log
    [(landed, _)] = other_server.log
    assert first.headers["Authorization"] == AUTH["Authorization"]
    assert "Authorization" not in landed.headers


def test_redirect_on_the_same_host_keeps_authorization(server: HTTPServer) -> None:
    """The counterpart of the test above: shows the header would be seen if it were sent."""
    server.expect_request("/landing").respond_with_json({"ok": True})
    server.expect_request("/start").respond_with_data(
        "", status=307, headers={"Location": "/landing"}
    )
    with make_session(1) as session:
        session.post(server.url_for("/start"), json={}, headers=AUTH, timeout=5)
    landed = server.log[-1][0]
    assert landed.path == "/landing"
    assert landed.headers["Authorization"] == AUTH["Authorization"]


def _redirect(from_url: str, location: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 302
    response.url = from_url
    response.headers["Location"] = location
    response._content = b""
    response._content_consumed = True
    return response


def test_https_to_http_redirect_is_refused() -> None:
    session = DeliverySession()
    with pytest.raises(InsecureRedirectError, match="plain http"):
        session.get_redirect_target(_redirect("https://api.incident.io/v2/x", "http://evil.test/"))


@pytest.mark.parametrize(
    ("from_url", "location"),
    [
        ("https://api.incident.io/v2/x", "https://api.incident.io/v2/y"),
        ("https://api.incident.io/v2/x", "/v2/y"),
        ("http://127.0.0.1:8000/v2/x", "http://localhost:8000/v2/y"),
    ],
)
def test_other_redirects_are_followed(from_url: str, location: str) -> None:
    assert DeliverySession().get_redirect_target(_redirect(from_url, location)) == location


def test_a_session_sends_only_to_its_origin(server: HTTPServer, other_server: HTTPServer) -> None:
    # The last line of defence: whatever built the URL, another origin is never sent to.
    other_server.expect_request("/x").respond_with_json({})
    server.expect_request("/x").respond_with_json({})
    elsewhere = f"http://localhost:{other_server.port}/x"
    with make_session(1, origin=server.url_for("/")) as session:
        assert session.get(server.url_for("/x"), timeout=5).status_code == 200
        with pytest.raises(ForeignOriginError, match="refused to send"):
            session.post(elsewhere, json={}, headers=AUTH, timeout=5)
        with pytest.raises(ForeignOriginError):
            session.get(server.url_for("/x").replace(str(server.port), "1"), timeout=5)
    assert other_server.log == []


def test_a_redirect_to_another_origin_is_not_followed(
    server: HTTPServer, other_server: HTTPServer
) -> None:
    other_server.expect_request("/landing").respond_with_json({"ok": True})
    target = f"http://localhost:{other_server.port}/landing"
    server.expect_request("/start").respond_with_data("", status=302, headers={"Location": target})
    with make_session(1, origin=server.url_for("/")) as session, pytest.raises(ForeignOriginError):
        session.get(server.url_for("/start"), headers=AUTH, timeout=5)
    assert other_server.log == []
