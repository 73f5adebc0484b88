"""Under every kind of network and server trouble, each record ends delivered once or reported."""

from __future__ import annotations

import pytest
from reliability_helpers import (
    STREAM,
    assert_accounted,
    assert_exactly_once,
    base_config,
    key_of,
    position,
    reported,
    run_inline,
    settled,
    tap,
)
from support import read_jsonl, run_cli

RECORDS = range(1, 13)
PATHS = {"incident": "/v2/incidents", "alert_event": "/v2/alert_events/http/*"}

# (fault, how many requests it strikes in a row). max_retries is 3, so a run of 24 with four
# workers leaves several records failing for good, while a run of 3 can sink none.
SHORT = 3
STORM = 24
FAULTS = [
    ("reset", SHORT),
    ("close", SHORT),
    ("500", SHORT),
    ("502", SHORT),
    ("503", STORM),
    ("504", SHORT),
    ("429", STORM),
    ("429-no-retry-after", SHORT),
    ("malformed-200", SHORT),
    ("malformed-502", SHORT),
    ("malformed-502", STORM),
    ("apply-then-reset", SHORT),
    ("apply-then-500", STORM),
    ("slow", 2),
]


@pytest.mark.slow
@pytest.mark.parametrize("operation", ["incident", "alert_event"])
@pytest.mark.parametrize(("fault", "count"), FAULTS)
def test_every_record_delivered_once_or_reported(
    sandbox, tmp_path, outputs, operation, fault, count
):
    """Scripted runs of one fault: the books balance by key and nothing is doubled."""
    sandbox.set_faults(
        slow_seconds=0.6,
        script=[{"path": PATHS[operation], "fault": fault, "count": count}],
    )
    config = base_config(sandbox, tmp_path, operation=operation, request_timeout=0.3)
    states, error = run_inline(config, tap(RECORDS), outputs)

    assert error is None, error
    assert states == [{"bookmarks": {STREAM: {"ticket_id": 12}}}]
    ledger = reported(tmp_path)
    assert_accounted(RECORDS, ledger)
    assert_exactly_once(sandbox, operation, RECORDS, ledger)
    if count == STORM:
        assert ledger.failed, "a storm longer than max_retries must sink some records"
    else:
        assert not ledger.failed, ledger.failed
    faulted = [e for e in settled(sandbox) if e["fault"] == fault]
    assert len(faulted) == count  # the fault really struck


@pytest.mark.parametrize("operation", ["incident", "alert_event"])
@pytest.mark.parametrize("fault", ["apply-then-reset", "apply-then-500"])
def test_retry_after_the_server_did_the_work_is_no_duplicate(
    sandbox, tmp_path, outputs, operation, fault
):
    """The create took effect, the answer was lost; the retry reaches the same object."""
    sandbox.set_faults(script=[{"path": PATHS[operation], "fault": fault, "count": 1}])
    config = base_config(sandbox, tmp_path, operation=operation)
    run_inline(config, tap([7]), outputs)

    journal = sandbox.journal()
    assert [(e["applied"], e["fault"]) for e in journal] == [(True, fault), (True, None)]
    key_field = "idempotency_key" if operation == "incident" else "deduplication_key"
    assert journal[0]["body"][key_field] == journal[1]["body"][key_field]
    current = sandbox.state()
    if operation == "incident":
        assert current["counts"]["incidents"] == 1
    else:
        assert current["counts"]["alert_events"] == 2  # the event arrived twice...
        assert current["counts"]["alerts"] == 1  # ...and folded into one alert
    (response,) = read_jsonl(tmp_path / "responses.jsonl")
    assert (response["status"], response["attempts"]) == ("delivered", 2)


@pytest.mark.slow
def test_random_fault_mix_balances(sandbox, tmp_path, outputs):
    """Seeded random faults of every kind across 150 incidents: books balance, no duplicate."""
    kinds = ["500", "502", "503", "429", "429-no-retry-after", "reset", "close"]
    kinds += ["malformed-200", "malformed-502", "apply-then-reset", "apply-then-500"]
    sandbox.set_faults(fault_rate=0.3, seed=6, fault_kinds=kinds)
    ids = range(150)
    config = base_config(sandbox, tmp_path, max_retries=2, max_concurrency=6)
    states, error = run_inline(config, tap(ids, every=20), outputs)

    assert error is None, error
    # Checkpoints may go out mid-run; the last is the tap's last, and none goes backwards.
    assert states[-1] == {"bookmarks": {STREAM: {"ticket_id": 149}}}
    positions = [position(s) for s in states]
    assert positions == sorted(positions)
    ledger = reported(tmp_path)
    assert_accounted(ids, ledger)
    assert_exactly_once(sandbox, "incident", ids, ledger)
    assert {e["fault"] for e in sandbox.journal()} >= {"reset", "apply-then-500"}


def test_oversized_record_is_refused_and_reported(sandbox, tmp_path, outputs):
    """A 413 is not retried; the big record is reported with its reason, the others delivered."""
    sandbox.set_faults(max_body_bytes=2000)

    def extra(i: int) -> dict[str, str]:
        return {"summary": "x" * (5000 if i == 3 else 10)}

    ids = range(1, 6)
    config = base_config(sandbox, tmp_path)
    states, error = run_inline(config, tap(ids, extra=extra), outputs)

    assert error is None, error
    assert states
    ledger = reported(tmp_path)
    assert_accounted(ids, ledger)
    assert set(ledger.failed) == {key_of(3)}
    failure = ledger.failed[key_of(3)]
    assert (failure["status"], failure["status_code"], failure["attempts"]) == ("rejected", 413, 1)
    assert "exceeds 2000 bytes" in failure["error"]["message"]
    assert ledger.dead[key_of(3)]["error"]["errors"][0]["code"] == "payload_too_large"
    assert_exactly_once(sandbox, "incident", ids, ledger)
    assert len(sandbox.journal()) == 5


@pytest.mark.slow
def test_oversized_record_with_on_error_fail_stops_without_state(sandbox, tmp_path, outputs):
    """With `on_error: fail` the 413 fails the run, names the reason and emits no state."""
    sandbox.set_faults(max_body_bytes=2000)
    messages = list(tap([1], extra=lambda _i: {"summary": "y" * 5000}))
    config = base_config(sandbox, tmp_path, on_error="fail")
    run = run_cli(config, messages, tmp_path)
    outputs.add(run.stdout, run.stderr)

    assert run.returncode != 0
    assert run.states == []
    assert "HTTP 413" in run.stderr
    assert "ticket_id=1" in run.stderr
    (response,) = read_jsonl(tmp_path / "responses.jsonl")
    assert response["status_code"] == 413
