"""Derived keys read key values in one canonical form, in property-name order (issue 28 item 6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from target_incidentio.payloads.fields import derive_key, key_value


def key(record: dict[str, object], keys: tuple[str, ...] = ("id",)) -> str:
    return derive_key(purpose="incident", stream="s", key_properties=keys, record=record)


@pytest.mark.parametrize("same", [1, "1", 1.0, Decimal(1), Decimal("1.0")])
def test_a_whole_number_is_one_key_whatever_its_json_type(same: object) -> None:
    assert key({"id": same}) == key({"id": 1})


@pytest.mark.parametrize("other", ["01", "+1", " 1", "1 ", "1.0", 1.5, True, "one", "1e0"])
def test_other_values_stay_what_they_are(other: object) -> None:
    assert key({"id": other}) != key({"id": 1})
    assert key_value(other) == other


def test_key_property_order_is_irrelevant() -> None:
    record = {"site": "eu", "ticket_id": 7}
    assert key(record, ("site", "ticket_id")) == key(record, ("ticket_id", "site"))


def test_integer_ids_keep_the_key_0_1_0_derived() -> None:
    """0.1.0 hashed the JSON text of the values in key_properties order; sorted, integer ids
    and text ids that are not integers hash as they did."""
    assert key({"id": 42}) == "target-incidentio-" + _v010("incident", "s", [["id", 42]])
    assert key({"id": "INC-7"}) == "target-incidentio-" + _v010("incident", "s", [["id", "INC-7"]])
    both = {"a": 1, "b": "x"}
    assert key(both, ("a", "b")) == "target-incidentio-" + _v010(
        "incident", "s", [["a", 1], ["b", "x"]]
    )


def _v010(purpose: str, stream: str, pairs: list[list[object]]) -> str:
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415

    basis = json.dumps([stream, pairs], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{purpose}\n{basis}".encode()).hexdigest()[:40]
