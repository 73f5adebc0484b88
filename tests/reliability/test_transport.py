"""Transport: TLS always verified, no clear-text key off this machine, no key on redirects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from reliability_helpers import API_KEY, assert_accounted, base_config, reported, run_inline, tap
from singer_sdk.exceptions import ConfigValidationError

import target_incidentio
from target_incidentio.delivery.session import make_session
from target_incidentio.target import TargetIncidentIO

PACKAGE = Path(target_incidentio.__file__).parent
INSECURE = re.compile(
    r"verify\s*=\s*(False|0|None)\b|CERT_NONE|check_hostname\s*=\s*False|disable_warnings"
    r"|_create_unverified_context|PYTHONHTTPSVERIFY"
)


def test_no_code_turns_certificate_checks_off():
    hits = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if INSECURE.search(line)
    ]
    assert hits == []
    # The pattern itself is live.
    assert INSECURE.search("session.verify = False")
    assert INSECURE.search("requests.post(url, verify=False)")


@pytest.mark.parametrize("curl_bundle", [None, ""])
def test_session_verifies_without_a_ca_bundle_variable(monkeypatch, tmp_path, curl_bundle):
    """With REQUESTS_CA_BUNDLE unset (and CURL_CA_BUNDLE unset or empty), verify stays True."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    if curl_bundle is not None:
        monkeypatch.setenv("CURL_CA_BUNDLE", curl_bundle)
    session = make_session(4)
    assert session.verify is True
    merged = session.merge_environment_settings("https://api.incident.io", {}, None, None, None)
    assert merged["verify"] is True
    config = {"api_key": API_KEY, "operation": "incident", "progress_interval": 60}
    with TargetIncidentIO(config=config, parse_env_config=False) as target:
        assert target.run.delivery._session.verify is True


def test_untrusted_certificate_is_refused_not_retried(
    self_signed_server, tmp_path, outputs, monkeypatch
):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    url, seen = self_signed_server

    config = base_config(url, tmp_path)
    run_inline(config, tap([1, 2]), outputs)

    assert seen == []  # no request got past the handshake
    ledger = reported(tmp_path)
    assert_accounted([1, 2], ledger)
    assert not ledger.delivered
    for response in ledger.failed.values():
        assert response["attempts"] == 1
        assert "TLS failure with 127.0.0.1:" in response["error"]["message"]
        assert "CERTIFICATE_VERIFY_FAILED" in response["error"]["message"]


REMOTE = [
    "http://api.incident.io",
    "http://10.0.0.5",
    "http://0.0.0.0:8080",
    "http://127.0.0.1.nip.io",
    "http://localhost.example.com",
    "http://[::ffff:8.8.8.8]",
    "HTTP://EXAMPLE.COM",
]


def _settings(setting, url):
    if setting == "base_url":
        return {"base_url": url}
    if setting == "api_url":
        return {"operation": "http", "api_url": f"{url}/v2/things"}
    if setting == "streams.timeline.api_url":
        return {"streams": {"timeline": {"operation": "http", "api_url": f"{url}/v2/x/{{id}}"}}}
    return {"response_webhook_url": f"{url}/hook"}


@pytest.mark.parametrize(
    "setting", ["base_url", "api_url", "streams.timeline.api_url", "response_webhook_url"]
)
@pytest.mark.parametrize("url", REMOTE)
def test_plain_http_off_this_machine_is_refused(setting, url):
    config = {"api_key": API_KEY, "operation": "incident", **_settings(setting, url)}
    with pytest.raises(ConfigValidationError, match=re.escape(f"Setting `{setting}`")) as caught:
        TargetIncidentIO(config=config, parse_env_config=False)
    assert "https://" in str(caught.value)
    assert API_KEY not in str(caught.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"])
def test_plain_http_to_loopback_is_accepted(url):
    config = {"api_key": API_KEY, "operation": "incident", "base_url": url}
    config["response_webhook_url"] = f"{url}/hook"
    with TargetIncidentIO(config=config, parse_env_config=False) as target:
        assert target.run.delivery is not None


@pytest.fixture
def two_hosts():
    """One server as 127.0.0.1, another as localhost: different hosts to `requests`."""
    first, second = HTTPServer(host="127.0.0.1"), HTTPServer(host="localhost")
    first.start()
    second.start()
    yield first, second
    first.clear()
    second.clear()
    first.stop()
    second.stop()


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirected_write_is_a_failure_naming_the_location(two_hosts, tmp_path, outputs, code):
    """A write answered with a redirect did not arrive: not followed, not counted delivered."""
    first, second = two_hosts
    landing = f"http://localhost:{second.port}/landing"
    first.expect_request("/v2/things").respond_with_data(
        "", status=code, headers={"Location": landing}
    )
    second.expect_request("/landing").respond_with_json({"ok": True})

    base = f"http://127.0.0.1:{first.port}"
    config = base_config(base, tmp_path, operation="http", api_url="/v2/things", max_retries=0)
    run_inline(config, tap([1]), outputs)

    assert [r.headers.get("Authorization") for r, _ in first.log] == [f"Bearer {API_KEY}"]
    assert second.log == []  # neither the key nor the record went anywhere else
    ledger = reported(tmp_path)
    assert ledger.delivered == set()
    error = ledger.failed["ticket_id=1"]["error"]["message"]
    assert landing in error
    assert "did not arrive" in error
    assert ledger.dead["ticket_id=1"]["record"]["ticket_id"] == 1


def test_every_delivery_of_a_run_is_bound_to_its_origin(tmp_path):
    # The send-time check is live for the run's calls and for the webhook's (its own URL).
    config = {
        "api_key": API_KEY,
        "operation": "incident",
        "base_url": "http://127.0.0.1:9",
        "response_webhook_url": "http://localhost:7/hook",
        "response_log_path": str(tmp_path / "responses.jsonl"),
    }
    with TargetIncidentIO(config=config, parse_env_config=False) as target:
        assert target.run.delivery._session.origin == ("http", "127.0.0.1", 9)
        hook = target.run.ledger._webhook
        assert hook is not None
        assert hook._delivery._session.origin == ("http", "localhost", 7)
