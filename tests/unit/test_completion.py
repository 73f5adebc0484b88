"""When a tap finished a stream (run/completion.py): the two signals, and what is not one."""

from __future__ import annotations

import pytest

from target_incidentio.run.completion import Completion, finished_bookmark

MARKERS = ("progress_markers", "starting_replication_value", "replication_key_signpost")


@pytest.mark.parametrize(
    ("bookmark", "finished"),
    [
        ({"replication_key": "at", "replication_key_value": "9"}, True),
        ({"partitions": [{"context": {"f": 1}, "replication_key_value": "9"}]}, True),
        (
            {
                "partitions": [
                    {"context": {"f": 1}, "replication_key_value": "9"},
                    {"context": {"f": 2}},
                ]
            },
            False,
        ),
        ({}, False),  # a FULL_TABLE stream's, first to last
        ({"partitions": []}, False),
        (None, False),
        ("9", False),
        *(({"replication_key_value": "9", m: None}, False) for m in MARKERS),
        (
            {"partitions": [{"replication_key_value": "9", "progress_markers": {}}]},
            False,
        ),
    ],
)
def test_finished_bookmark(bookmark: object, finished: bool) -> None:
    assert finished_bookmark(bookmark) is finished


def finished(stream: str) -> dict[str, object]:
    return {"bookmarks": {stream: {"replication_key_value": "9"}}}


def test_a_stream_never_heard_of_has_nothing_to_remove() -> None:
    assert Completion().finished("s")


def test_a_record_after_the_finished_state_opens_the_stream_again() -> None:
    c = Completion()
    c.record("s", None, "s")
    assert not c.finished("s")
    c.state(finished("s"))
    assert c.finished("s")
    c.record("s", None, "s")
    assert not c.finished("s")


def test_the_bookmark_is_read_under_the_taps_name_of_the_stream() -> None:
    c = Completion()
    c.record("renamed", None, "tap_name")
    c.state(finished("renamed"))
    assert not c.finished("renamed")
    c.state(finished("tap_name"))
    assert c.finished("renamed")


def test_another_streams_finished_state_says_nothing_of_this_one() -> None:
    c = Completion()
    c.record("s", None, "s")
    c.record("t", None, "t")
    c.state(finished("t"))
    assert c.finished("t")
    assert not c.finished("s")
    c.state({"bookmarks": {"s": {}}})  # a malformed or full-table state
    c.state({"not": "bookmarks"})
    c.state(["no", "object"])
    assert not c.finished("s")


def test_activate_version_first_proves_nothing() -> None:
    c = Completion()
    c.activate_version("s", 7)  # an SDK tap's, before the rows
    c.record("s", 7, "s")
    assert not c.finished("s")


def test_activate_version_after_the_records_of_its_version_ends_them() -> None:
    c = Completion()
    c.activate_version("s", 7)
    for _ in range(3):
        assert not c.ends_version("s", 7)
        c.record("s", 7, "s")
    c.activate_version("s", 7)
    assert c.finished("s")  # at the end of input


def test_a_record_of_the_same_version_voids_it() -> None:
    """An SDK child stream sends AV(V) before each parent's children, all with V."""
    c = Completion()
    c.record("s", 7, "s")
    c.activate_version("s", 7)
    assert not c.ends_version("s", 7)
    c.record("s", 7, "s")
    assert not c.finished("s")


def test_a_record_of_another_version_ends_the_snapshot_before_it() -> None:
    c = Completion()
    c.record("s", 1, "s")
    c.activate_version("s", 1)
    assert c.ends_version("s", 2)
    assert c.finished("s")  # what the boundary asks, before the new record is taken
    c.record("s", 2, "s")
    assert not c.finished("s")


def test_activate_version_naming_another_version_than_its_records_is_no_end() -> None:
    c = Completion()
    c.record("s", 1, "s")
    c.activate_version("s", 2)
    assert not c.finished("s")
    assert not c.ends_version("s", 3)


def test_records_without_version_are_ended_by_any_activate_version() -> None:
    c = Completion()
    c.record("s", None, "s")
    c.activate_version("s", 5)
    assert c.finished("s")
    c.activate_version("s", "five")  # not a version: no candidate
    c2 = Completion()
    c2.record("s", None, "s")
    c2.activate_version("s", "five")
    assert not c2.finished("s")
