"""Injected faults: each says whether the request took effect, so retries can be judged."""

from __future__ import annotations

import time
import typing as t

import pytest
import requests
from sandbox_helpers import API_KEY, AUTH

from incidentio_sandbox import FaultConfig, Sandbox, ScriptedFault

if t.TYPE_CHECKING:
    from collections.abc import Callable


def _create(
    sandbox: Sandbox, http: requests.Session, key: str, **kwargs: t.Any
) -> requests.Response:
    body = {"idempotency_key": key, "visibility": "public"}
    return http.post(f"{sandbox.url}/v2/incidents", json=body, headers=AUTH, **kwargs)


def _script(sandbox: Sandbox, fault: str, count: int = 1, path: str = "/v2/incidents") -> None:
    sandbox.set_faults(script=[ScriptedFault(path=path, fault=fault, count=count)])


def _wait_for(check: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_reset_drops_the_connection_without_applying(
    sandbox: Sandbox, http: requests.Session
) -> None:
    _script(sandbox, "reset")
    with pytest.raises(requests.ConnectionError):
        _create(sandbox, http, "k")
    entry = sandbox.journal()[-1]
    assert (entry["fault"], entry["outcome"], entry["status"], entry["applied"]) == (
        "reset",
        "dropped",
        None,
        False,
    )
    assert sandbox.state()["counts"]["incidents"] == 0
    assert _create(sandbox, http, "k").status_code == 200  # the script is used up


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_answers_do_not_apply(sandbox: Sandbox, http: requests.Session, status: int) -> None:
    _script(sandbox, str(status), count=2)
    replies = [_create(sandbox, http, "k") for _ in range(3)]
    assert [r.status_code for r in replies] == [status, status, 200]
    body = replies[0].json()
    assert body["status"] == status
    assert body["type"] == "api_error"
    assert body["errors"][0]["code"] == "injected_fault"
    assert [e["applied"] for e in sandbox.journal()] == [False, False, True]
    assert sandbox.state()["counts"]["incidents"] == 1


@pytest.mark.parametrize(("fault", "has_header"), [("429", True), ("429-no-retry-after", False)])
def test_429_storm(sandbox: Sandbox, http: requests.Session, fault: str, has_header: bool) -> None:
    _script(sandbox, fault, count=3)
    replies = [_create(sandbox, http, "k") for _ in range(4)]
    assert [r.status_code for r in replies] == [429, 429, 429, 200]
    assert ("Retry-After" in replies[0].headers) is has_header
    assert replies[0].json()["rate_limit"]["remaining"] == 0
    assert sandbox.state()["counts"]["incidents"] == 1


@pytest.mark.slow
def test_slow_answer_times_the_client_out_but_applies(http: requests.Session) -> None:
    with Sandbox(api_key=API_KEY, faults=FaultConfig(slow_seconds=0.6)) as sb:
        _script(sb, "slow")
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            _create(sb, http, "k", timeout=0.2)
        assert time.monotonic() - started < 0.5
        _wait_for(lambda: sb.journal()[-1]["outcome"] != "pending")
        entry = sb.journal()[-1]
        assert (entry["fault"], entry["applied"], entry["status"]) == ("slow", True, 200)
        assert entry["duration_ms"] >= 600
        assert sb.state()["counts"]["incidents"] == 1


def test_413_for_large_bodies(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_faults(max_body_bytes=200)
    big = http.post(
        f"{sandbox.url}/v2/incidents",
        json={"idempotency_key": "k", "visibility": "public", "summary": "x" * 500},
        headers=AUTH,
    )
    assert big.status_code == 413
    assert big.json()["type"] == "payload_too_large"
    assert sandbox.journal()[-1]["applied"] is False
    assert _create(sandbox, http, "k").status_code == 200


def test_malformed_bodies(sandbox: Sandbox, http: requests.Session) -> None:
    _script(sandbox, "malformed-200")
    ok = _create(sandbox, http, "a")
    assert ok.status_code == 200
    with pytest.raises(ValueError, match="Expecting value"):
        ok.json()
    _script(sandbox, "malformed-502")
    bad = _create(sandbox, http, "b")
    assert bad.status_code == 502
    assert not bad.headers["Content-Type"].startswith("application/json")
    assert [e["applied"] for e in sandbox.journal()] == [True, False]
    assert sandbox.state()["counts"]["incidents"] == 1


@pytest.mark.parametrize("fault", ["apply-then-500", "apply-then-reset"])
def test_apply_then_fail_is_safe_with_idempotency(
    sandbox: Sandbox, http: requests.Session, fault: str
) -> None:
    _script(sandbox, fault)
    if fault == "apply-then-reset":
        with pytest.raises(requests.ConnectionError):
            _create(sandbox, http, "k")
    else:
        assert _create(sandbox, http, "k").status_code == 500
    assert sandbox.journal()[-1]["applied"] is True
    first_id = sandbox.state()["incidents"][0]["id"]
    retry = _create(sandbox, http, "k")
    assert retry.status_code == 200
    assert retry.json()["incident"]["id"] == first_id
    assert sandbox.state()["counts"]["incidents"] == 1


def test_close_after_answer_forces_a_new_connection(
    sandbox: Sandbox, http: requests.Session
) -> None:
    _script(sandbox, "close")
    closed = _create(sandbox, http, "a")
    assert closed.status_code == 200
    assert closed.headers["Connection"] == "close"
    _create(sandbox, http, "b")
    _create(sandbox, http, "c")
    ports = [e["client_port"] for e in sandbox.journal()]
    assert ports[0] != ports[1]
    assert ports[1] == ports[2]


def test_seeded_random_faults_replay_identically(http: requests.Session) -> None:
    faults = FaultConfig(fault_rate=0.5, seed=7, fault_kinds=("503", "502"))
    with Sandbox(api_key=API_KEY, faults=faults) as sb:
        first = [_create(sb, http, f"k{i}").status_code for i in range(20)]
        applied = sum(e["applied"] for e in sb.journal())
        count = sb.state()["counts"]["incidents"]
        sb.reset()
        second = [_create(sb, http, f"k{i}").status_code for i in range(20)]
    assert first == second
    assert {502, 503, 200} == set(first)
    assert applied == count == first.count(200)


def test_latency(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_faults(latency_ms=150)
    started = time.monotonic()
    assert _create(sandbox, http, "k").status_code == 200
    assert time.monotonic() - started >= 0.15


def test_faults_over_http(sandbox: Sandbox, http: requests.Session) -> None:
    url = f"{sandbox.url}/_sandbox/faults"
    script = [{"path": "/v2/incidents", "method": "POST", "fault": "503", "count": 1}]
    set_reply = http.post(url, json={"script": script, "latency_ms": 1})
    assert set_reply.status_code == 200
    assert set_reply.json()["script"][0]["count"] == 1
    assert (
        http.get(f"{sandbox.url}/v2/incidents", headers=AUTH).status_code == 200
    )  # method differs
    assert _create(sandbox, http, "k").status_code == 503
    assert http.get(url).json()["script"][0]["count"] == 0

    for bad in (
        {"script": [{"path": "/x", "fault": "explode"}]},
        {"fault_rate": 2},
        {"nope": 1},
        [1],
    ):
        refused = http.post(url, json=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["errors"][0]["code"] == "invalid_fault_config"

    http.post(url, json={"fault_rate": 1.0, "fault_kinds": ["500"]})
    assert _create(sandbox, http, "k").status_code == 500
    assert http.delete(url).json()["fault_rate"] == 0.0
    assert _create(sandbox, http, "k").status_code == 200


def test_control_endpoints_are_never_faulted(sandbox: Sandbox, http: requests.Session) -> None:
    sandbox.set_faults(fault_rate=1.0, fault_kinds=("reset",))
    assert http.get(f"{sandbox.url}/_sandbox/state").status_code == 200
    assert http.get(f"{sandbox.url}/_sandbox/journal").json() == {"entries": []}
    assert http.post(f"{sandbox.url}/_sandbox/reset").status_code == 200


def test_echo_can_be_faulted(sandbox: Sandbox, http: requests.Session) -> None:
    _script(sandbox, "503", path="/_sandbox/echo/*")
    assert http.post(f"{sandbox.url}/_sandbox/echo/hook", json={}).status_code == 503
    assert http.post(f"{sandbox.url}/_sandbox/echo/hook", json={}).status_code == 200


def test_unknown_fault_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        FaultConfig(fault_kinds=("boom",))
    with pytest.raises(ValueError, match="unknown fault"):
        ScriptedFault(path="/", fault="600")
