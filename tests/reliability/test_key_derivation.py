"""Property tests of key derivation: same record, same key; different record, different key."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numbering import numbered

from target_incidentio.core.secrets import Secret
from target_incidentio.payloads.alerts import build_alert_event
from target_incidentio.payloads.base import BuildContext
from target_incidentio.payloads.fields import derive_key, key_value, without_nulls
from target_incidentio.payloads.incidents import build_incident
from target_incidentio.settings import StreamSettings

SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
# Field names no builder reads, so every record builds.
NAMES = st.text("abcdefgh", min_size=1, max_size=6).map(lambda s: f"f_{s}")
RECORDS = st.dictionaries(NAMES, VALUES, max_size=5)
SDC = st.dictionaries(
    st.sampled_from(
        ["_sdc_extracted_at", "_sdc_batched_at", "_sdc_sequence", "_sdc_table_version"]
    ),
    SCALARS,
)
KEY_VALUES = st.integers() | st.text(min_size=1, max_size=10)
STREAMS = st.sampled_from(["tickets", "checks", "alerts_eu"])


def _shuffled(record, seed):
    items = list(record.items())
    random.Random(seed).shuffle(items)
    return dict(items)


def _ctx(stream="tickets", key_properties=("id",), **settings):
    base = StreamSettings(
        api_key=Secret("k" * 8),
        alert_source_token=Secret("t" * 8),
        alert_source_config_id="01HSOURCE",
        **settings,
    )
    return BuildContext(stream, tuple(key_properties), base)


def _key(
    record, stream="tickets", key_properties=("id",), purpose="incident", ignore=(), fields=None
):
    return derive_key(
        purpose=purpose,
        stream=stream,
        key_properties=key_properties,
        record=record,
        ignore=ignore,
        fields=fields,
    )


@pytest.mark.slow
@given(record=RECORDS, sdc=SDC, other_sdc=SDC, seed=st.integers(), stream=STREAMS)
def test_content_key_ignores_order_and_metadata(record, sdc, other_sdc, seed, stream):
    """Without key properties: key order and `_sdc_*` metadata never change the key."""
    first = _key({**record, **sdc}, stream=stream, key_properties=())
    again = _key(_shuffled({**record, **other_sdc}, seed), stream=stream, key_properties=())
    assert first == again
    assert first == _key(record, stream=stream, key_properties=())
    assert first.startswith("target-incidentio-")


@pytest.mark.slow
@given(ident=KEY_VALUES, one=RECORDS, two=RECORDS, sdc=SDC, seed=st.integers())
def test_key_properties_decide_alone(ident, one, two, sdc, seed):
    """With key properties: the rest of the record (and its metadata) never change the key."""
    assert _key({"id": ident, **one}) == _key(_shuffled({**two, **sdc, "id": ident}, seed))


@pytest.mark.slow
@given(a=KEY_VALUES, b=KEY_VALUES, rest=RECORDS, stream=STREAMS)
def test_different_key_properties_give_different_keys(a, b, rest, stream):
    # Different in their canonical form: 1, "1" and 1.0 are one key (issue 28 item 6).
    assume(key_value(a) != key_value(b))
    assert _key({**rest, "id": a}, stream=stream) != _key({**rest, "id": b}, stream=stream)


@pytest.mark.slow
@given(one=RECORDS, two=RECORDS)
def test_different_content_gives_different_keys(one, two):
    # A null member says what an absent one says, so only content apart from
    # nulls tells two rows apart.
    assume(without_nulls(one) != without_nulls(two))
    assert _key(one, key_properties=()) != _key(two, key_properties=())


@given(record=RECORDS, added=st.lists(NAMES, min_size=1, max_size=3), stream=STREAMS)
def test_a_column_added_to_the_schema_keeps_the_key(record, added, stream):
    """The same row after the tap's schema gained columns, null or absent in this row."""
    before = set(record)
    after = before | set(added)
    as_null = {**dict.fromkeys(added), **record}
    first = _key(record, stream=stream, key_properties=(), fields=before)
    assert first == _key(as_null, stream=stream, key_properties=(), fields=after)
    assert first == _key(record, stream=stream, key_properties=(), fields=after)


@pytest.mark.slow
@given(record=RECORDS, nested=NAMES)
def test_null_and_absent_are_the_same_at_any_depth(record, nested):
    with_null = {**record, "f_obj": {"kept": 1, nested: None}, "f_list": [{nested: None}]}
    without = {**record, "f_obj": {"kept": 1}, "f_list": [{}]}
    assert _key(with_null, key_properties=()) == _key(without, key_properties=())
    # An object holding nothing but nulls says nothing either.
    assert _key({**without, "f_new": {nested: None}}, key_properties=()) == _key(
        without, key_properties=()
    )
    # A null array item holds a place: it is not dropped.
    assert _key({**without, "f_list": [None, 1]}, key_properties=()) != _key(
        {**without, "f_list": [1]}, key_properties=()
    )


@pytest.mark.slow
@given(record=RECORDS, outside=RECORDS)
def test_fields_outside_the_schema_do_not_count(record, outside):
    """Fields a tap sends beyond its schema (or a stream map adds unannounced) keep the key."""
    fields = set(record) | {"f_declared"}
    extra = {f"x{name}": value for name, value in outside.items()}
    assert _key({**record, **extra}, key_properties=(), fields=fields) == _key(
        record, key_properties=(), fields=fields
    )
    # Inside the schema they do count: the guard is live.
    changed = {**record, "f_declared": "now set"}
    assert _key(changed, key_properties=(), fields=fields) != _key(
        record, key_properties=(), fields=fields
    )


@given(record=RECORDS, added=st.lists(NAMES, min_size=1, max_size=3), keyed=st.booleans())
def test_builders_keep_their_keys_when_the_schema_grows(record, added, keyed):
    """What incident.io sees: the same idempotency and deduplication keys before and after."""
    key_properties = ("id",) if keyed else ()
    row = {**record, "id": "row-1", "name": "db down", "title": "db down"}
    before = replace(_ctx(key_properties=key_properties), schema_fields=frozenset(row))
    after = replace(before, schema_fields=frozenset({*row, *added}))
    grown = {**dict.fromkeys(added), **row}
    assert (
        build_incident(numbered(row), before).body["idempotency_key"]
        == build_incident(numbered(grown), after).body["idempotency_key"]
    )
    assert (
        build_alert_event(numbered(row), before).body["deduplication_key"]
        == build_alert_event(numbered(grown), after).body["deduplication_key"]
    )


@given(record=RECORDS, ident=KEY_VALUES)
def test_streams_and_purposes_do_not_share_keys(record, ident):
    data = {**record, "id": ident}
    keys = {
        _key(data, stream="tickets"),
        _key(data, stream="checks"),
        _key(data, stream="tickets", purpose="incident_update"),
    }
    assert len(keys) == 3


@given(record=RECORDS, ident=KEY_VALUES, sdc=SDC, seed=st.integers())
def test_incident_idempotency_key_is_stable(record, ident, sdc, seed):
    """The builder's idempotency key: same record and settings, same key, across reruns."""
    ctx = _ctx()
    data = {**record, "id": ident}
    first = build_incident(numbered(data), ctx).body["idempotency_key"]
    rerun = build_incident(numbered(_shuffled({**data, **sdc}, seed)), ctx).body["idempotency_key"]
    assert first == rerun
    other = build_incident(numbered({**data, "id": [ident]}), ctx).body["idempotency_key"]
    assert other != first


@given(record=RECORDS, title=st.text(min_size=1, max_size=10), keyed=st.booleans())
def test_firing_and_resolved_share_a_deduplication_key(record, title, keyed):
    """An alert's status never changes its deduplication key, with or without key properties."""
    ctx = _ctx(stream="checks", key_properties=("id",) if keyed else ())
    data = {**record, "id": "check-1", "title": title}
    firing = build_alert_event(numbered({**data, "status": "firing"}), ctx)
    resolved = build_alert_event(numbered({**data, "status": "resolved"}), ctx)
    assert firing.body["deduplication_key"] == resolved.body["deduplication_key"]
    assert firing.order_key == resolved.order_key
    changed = build_alert_event(numbered({**data, "id": "check-2", "title": title + "!"}), ctx)
    assert changed.body["deduplication_key"] != firing.body["deduplication_key"]


@given(detail_one=st.text(max_size=5), detail_two=st.text(max_size=5))
def test_explicit_key_field_wins(detail_one, detail_two):
    ctx = _ctx(stream="checks")
    one = build_alert_event(
        numbered({"id": 1, "title": "t", "deduplication_key": "mine", "d": detail_one}), ctx
    )
    two = build_alert_event(
        numbered({"id": 2, "title": "u", "deduplication_key": "mine", "d": detail_two}), ctx
    )
    assert one.body["deduplication_key"] == two.body["deduplication_key"] == "mine"


@settings(max_examples=25)
@given(detail_one=st.text(max_size=5), detail_two=st.text(max_size=5))
def test_excluding_the_key_property_from_the_payload_keeps_the_key(detail_one, detail_two):
    """Dropping `check_id` from what is sent must not change which alert a record reaches."""
    assume(detail_one != detail_two)
    ctx = _ctx(stream="checks", key_properties=("check_id",), exclude_attributes=("check_id",))
    firing = {"check_id": "c1", "title": "db down", "detail": detail_one, "status": "firing"}
    resolved = {**firing, "detail": detail_two, "status": "resolved"}
    keys = {
        build_alert_event(numbered(r), ctx).body["deduplication_key"] for r in (firing, resolved)
    }
    assert len(keys) == 1
