"""`escalation` end to end against the sandbox: by path, by users, once per record."""

from __future__ import annotations

import typing as t

import pytest
from support import read_jsonl, record, run_in_process, sandbox_config, schema

from incidentio_sandbox import Sandbox

API_KEY = "ik-test-Q7pv2cXX-oncall"
ANN, BOB = "01HUSERANN0000000000000000", "01HUSERBOB0000000000000000"
PATH = "01HPATHPAYMENTS00000000000"
SEED: dict[str, t.Any] = {
    "users": [
        {"id": ANN, "name": "Ann", "email": "ann@example.com"},
        {"id": BOB, "name": "Bob", "email": "bob@example.com"},
    ],
    "escalation_paths": [{"id": PATH, "name": "Payments urgent", "user_ids": [ANN]}],
}
FAILURES = schema(
    "dq_failures",
    {
        "check_id": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "escalation_path": {"type": ["string", "null"]},
        "users": {"type": ["array", "null"], "items": {"type": "string"}},
    },
    ["check_id"],
)
ROWS = [
    record(
        "dq_failures",
        {
            "check_id": "orders",
            "title": "Orders stale",
            "description": "6 h",
            "escalation_path": "payments urgent",
        },
    ),
    record(
        "dq_failures",
        {
            "check_id": "refunds",
            "title": "Refunds null",
            "description": "12%",
            "users": ["BOB@example.com", ANN],
        },
    ),
]


@pytest.fixture
def oncall() -> t.Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        yield sb


def _config(sb: Sandbox, tmp_path, **extra: t.Any) -> dict[str, t.Any]:
    return sandbox_config(sb.url, tmp_path, API_KEY, "escalation", **extra)


def test_escalations_page_a_path_or_users_and_a_rerun_pages_nobody(
    oncall, tmp_path, openapi_validator
):
    run_in_process(_config(oncall, tmp_path), [FAILURES, *ROWS])
    made = {e["title"]: e for e in oncall.state()["escalations"]}
    assert made["Orders stale"]["escalation_path_id"] == PATH
    notified = [ev for ev in made["Refunds null"]["events"] if ev["event"] == "notified_users"]
    assert {u["id"] for u in notified[0]["users"]} == {ANN, BOB}
    posts = [e for e in oncall.journal() if e["method"] == "POST"]
    for entry in oncall.journal():
        openapi_validator(entry["method"], oncall.url + entry["path"], entry["body"])
    # Each list read once, whatever the number of rows.
    reads = [e["path"] for e in oncall.journal() if e["method"] == "GET"]
    assert sorted(reads) == ["/v2/escalation_paths", "/v2/users"]
    responses = [r for r in read_jsonl(tmp_path / "responses.jsonl") if r["method"] == "POST"]
    assert {r["resource_id"] for r in responses} == {e["id"] for e in made.values()}

    run_in_process(_config(oncall, tmp_path), [FAILURES, *ROWS])
    assert len(oncall.state()["escalations"]) == 2  # incident.io answered the first ones
    again = [e for e in oncall.journal() if e["method"] == "POST"][len(posts) :]
    assert [e["body"]["idempotency_key"] for e in again] == [
        e["body"]["idempotency_key"] for e in posts
    ]


def test_a_row_with_both_or_an_unknown_name_fails_alone(oncall, tmp_path):
    rows = [
        record(
            "dq_failures", {"check_id": "a", "title": "A", "escalation_path": PATH, "users": [ANN]}
        ),
        record("dq_failures", {"check_id": "b", "title": "B", "escalation_path": "Payment urgnt"}),
        record("dq_failures", {"check_id": "c", "title": "C", "users": ["ann@example.com"]}),
    ]
    run_in_process(_config(oncall, tmp_path, on_error="continue"), [FAILURES, *rows])
    assert [e["title"] for e in oncall.state()["escalations"]] == ["C"]
    failed = {
        r["record_keys"][0]: r
        for r in read_jsonl(tmp_path / "responses.jsonl")
        if r["status"] == "invalid"
    }
    assert "has both" in failed["check_id='a'"]["error"]["message"]
    assert "closest: Payments urgent" in failed["check_id='b'"]["error"]["message"]
