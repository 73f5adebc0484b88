"""Headers the user marks secret (`secret_headers`) are masked like Authorization (#28.2)."""

from __future__ import annotations

import pytest

from target_incidentio.settings.redaction import secret_values

MARKED = "opaque-value-4711"


@pytest.mark.parametrize("marks", ["X-Tenant", "x-tenant, X-Other", ["X-TENANT"]])
@pytest.mark.parametrize(
    "where",
    [
        lambda h: {"request_headers": h},
        lambda h: {"response_webhook_headers": h},
        lambda h: {"streams": {"tickets": {"request_headers": h}}},
    ],
    ids=["request", "webhook", "per-stream"],
)
@pytest.mark.parametrize("form", ["text", "object"])
def test_a_marked_header_value_is_a_secret(marks, where, form):
    headers = (
        f"X-Tenant:{MARKED},X-Debug:true"
        if form == "text"
        else {
            "X-Tenant": MARKED,
            "X-Debug": "true",
        }
    )
    found = secret_values({"secret_headers": marks, **where(headers)})
    assert MARKED in found
    assert "true" not in found


def test_without_the_mark_a_plain_header_is_not_a_secret():
    found = secret_values({"request_headers": {"X-Tenant": MARKED, "X-Api-Key": "k-1"}})
    assert MARKED not in found
    assert "k-1" in found  # its name says key
