"""Whether the tap finished a stream: the gate of every step that removes what a stream lacks.

Under `meltano run` a tap that dies closes the target's input like one that finished, so the
end of input proves nothing (issue 28; docs/completeness in the README). Two messages do:

- a STATE after the stream's last record whose bookmark for the stream is a finished
  singer-sdk bookmark (`finished_bookmark`): every INCREMENTAL stream of an SDK tap ends so,
  never mid-stream, never from the SIGTERM handler, never after a crash;
- an ACTIVATE_VERSION after the records of its version (classic Singer taps end a full-table
  sync with one). It is judged at the stream's next record, or at the end of input: SDK taps
  send one *before* each version's records (and before each parent's child records), so one
  followed by a record of the same version started that version rather than ended it.

Pure: the target feeds it the messages, keyed by the stream's name after stream maps.
"""

from __future__ import annotations

from dataclasses import dataclass

# Bookmark keys an SDK stream holds only while it syncs (`finalize_state_progress_markers`).
IN_PROGRESS = ("progress_markers", "starting_replication_value", "replication_key_signpost")


def finished_bookmark(bookmark: object) -> bool:
    """An SDK stream's bookmark at the end of its sync: a replication key value, no markers."""
    if not isinstance(bookmark, dict) or any(k in bookmark for k in IN_PROGRESS):
        return False
    partitions = bookmark.get("partitions")
    if "replication_key_value" in bookmark and not partitions:
        return True
    if not isinstance(partitions, list) or not partitions:
        return False
    return all(
        isinstance(p, dict)
        and "replication_key_value" in p
        and not any(k in p for k in IN_PROGRESS)
        for p in partitions
    )


@dataclass
class _Stream:
    """What the tap has said about one stream so far."""

    # Records arrived since the last signal that the stream was finished.
    open: bool = False
    # The versions the open records carried (None: a record without `version`).
    versions: set[int | None] | None = None
    # An ACTIVATE_VERSION after the open records, not yet judged.
    pending: int | None = None
    # The tap's name of the stream (before stream maps), which its bookmarks are keyed by.
    source: str = ""


class Completion:
    """Per stream: did a completion signal come after its last record?"""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}

    def _of(self, stream: str) -> _Stream:
        return self._streams.setdefault(stream, _Stream())

    def ends_version(self, stream: str, version: object) -> bool:
        """A record of `stream` came: True if it confirms a pending ACTIVATE_VERSION.

        Then the records before it were a whole snapshot, to be ended before this record is
        taken (`record`). A record of the pending version itself voids it: that
        ACTIVATE_VERSION started the version (an SDK child stream's).
        """
        state = self._of(stream)
        if state.pending is None:
            return False
        pending, state.pending = state.pending, None
        if version == pending:
            return False
        state.open, state.versions = False, None
        return True

    def record(self, stream: str, version: object, source: str) -> None:
        """A record of `stream` (its `version`, if any; `source`: the tap's stream name)."""
        state = self._of(stream)
        state.open, state.source = True, source
        state.versions = state.versions or set()
        state.versions.add(version if isinstance(version, int) else None)

    def activate_version(self, stream: str, version: object) -> None:
        """ACTIVATE_VERSION: a candidate end of the open records, if they are of `version`."""
        state = self._of(stream)
        carried = state.versions or set()
        if state.open and isinstance(version, int) and carried <= {version, None}:
            state.pending = version

    def state(self, value: object) -> None:
        """A STATE: each open stream whose bookmark in it is finished is finished."""
        bookmarks = value.get("bookmarks") if isinstance(value, dict) else None
        if not isinstance(bookmarks, dict):
            return
        for state in self._streams.values():
            if state.open and finished_bookmark(bookmarks.get(state.source)):
                state.open, state.versions, state.pending = False, None, None

    def finished(self, stream: str) -> bool:
        """At the end of input: no record of `stream` came after a completion signal.

        A pending ACTIVATE_VERSION counts: nothing of its version came after it.
        """
        state = self._streams.get(stream)
        return state is None or not state.open or state.pending is not None
