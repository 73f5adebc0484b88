"""The `escalation` builder: a path or users by name or id, once per record, paced by the key."""

from __future__ import annotations

import pytest
from numbering import numbered
from support import StaticLists

from target_incidentio.core.errors import RecordError
from target_incidentio.payloads.escalations import build_escalation

PATHS = [
    {"id": "01EPAYMENTS", "name": "Payments urgent"},
    {"id": "01EDATA", "name": "Data platform"},
]
USERS = [
    {"id": "01UANN", "name": "Ann", "email": "ann@example.com"},
    {"id": "01UBOB", "name": "Bob", "email": "Bob@Example.com"},
]
LISTS = {"escalation_paths": PATHS, "users": USERS}
ROW = {"check_id": "orders_fresh", "title": "Orders are stale", "description": "6 h behind"}


def _build(make_ctx, row, **settings):
    ctx = make_ctx("dq_failures", ("check_id",), directory=StaticLists(LISTS), **settings)
    return build_escalation(numbered(row), ctx)


def test_a_path_by_name_becomes_a_valid_escalation(make_ctx, openapi_validator):
    request = _build(make_ctx, {**ROW, "escalation_path": "payments URGENT"})
    openapi_validator(request.method, request.url, request.body)
    assert request.body["escalation_path_id"] == "01EPAYMENTS"
    assert "user_ids" not in request.body
    assert request.body["title"] == "Orders are stale"
    assert [(r.field, r.name, r.id) for r in request.resolved] == [
        ("escalation_path", "payments URGENT", "01EPAYMENTS")
    ]


def test_users_by_email_any_case_or_id(make_ctx, openapi_validator):
    request = _build(
        make_ctx, {**ROW, "users": ["bob@example.com", "01UANN"], "incident_id": "01I1"}
    )
    openapi_validator(request.method, request.url, request.body)
    assert request.body["user_ids"] == ["01UBOB", "01UANN"]
    assert request.body["incident_id"] == "01I1"


def test_the_validator_is_live(make_ctx, openapi_validator):
    request = _build(make_ctx, {**ROW, "users": "ann@example.com"})
    with pytest.raises(Exception, match="user_ids"):
        openapi_validator(request.method, request.url, {**request.body, "user_ids": "01UANN"})


def test_the_idempotency_key_comes_from_the_stream_and_key_or_the_record(make_ctx):
    first = _build(make_ctx, {**ROW, "escalation_path": "01EDATA"})
    again = _build(make_ctx, {**ROW, "escalation_path": "01EDATA", "description": "7 h"})
    other = _build(make_ctx, {**ROW, "check_id": "x", "escalation_path": "01EDATA"})
    own = _build(make_ctx, {**ROW, "escalation_path": "01EDATA", "idempotency_key": "dq-1"})
    assert first.body["idempotency_key"] == again.body["idempotency_key"]
    assert first.body["idempotency_key"] != other.body["idempotency_key"]
    assert own.body["idempotency_key"] == "dq-1"


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ({**ROW, "escalation_path": "01EDATA", "users": ["01UANN"]}, "has both"),
        (ROW, "has neither"),
        ({**ROW, "users": []}, "has neither"),
    ],
)
def test_both_or_neither_fails_the_record(make_ctx, row, said):
    with pytest.raises(RecordError, match=said) as failed:
        _build(make_ctx, row)
    assert "stream 'dq_failures', record" in str(failed.value)
    assert "orders_fresh" in str(failed.value)


def test_unknown_names_fail_the_record_naming_the_closest(make_ctx):
    with pytest.raises(RecordError, match=r"closest: Payments urgent") as failed:
        _build(make_ctx, {**ROW, "escalation_path": "Payment urgent"})
    assert failed.value.field == "escalation_path"
    with pytest.raises(RecordError, match=r"'carl@example.com' is not a user") as failed:
        _build(make_ctx, {**ROW, "users": ["ann@example.com", "carl@example.com"]})
    assert failed.value.field == "users"


def test_a_title_is_required(make_ctx):
    with pytest.raises(RecordError, match="'title' is required"):
        _build(make_ctx, {"check_id": "c", "escalation_path": "01EDATA"})


def test_calls_draw_on_the_endpoints_own_sixty_a_minute(make_ctx):
    scopes = _build(make_ctx, {**ROW, "escalation_path": "01EDATA"}).rate_scopes
    windows = [s for s in scopes if s.kind == "window"]
    assert [(s.per_minute, s.name.startswith("escalations:")) for s in windows] == [(60.0, True)]
    assert any(s.kind == "key" for s in scopes)
