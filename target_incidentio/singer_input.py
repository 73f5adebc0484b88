"""Reading Singer input as a careless tap writes it, through the SDK reader's public hooks.

Blank lines are skipped. A line that is not JSON stops the run with its line number, never its
text (it may hold a secret). A RECORD the target cannot use (not an object, nested too deep,
NaN or Infinity, text that is not Unicode, a stream map that fails on it) is handed to
`on_bad_record`: that record's failure, reported like any other, and the run goes on.
"""

from __future__ import annotations

import io
import json
import math
import sys
import typing as t
from decimal import Decimal

from singer_sdk.singerlib import SingerMessageType
from singer_sdk.singerlib.encoding.simple import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json
from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from singer_sdk.mapper import StreamMap

# Deeper than any incident.io payload; far below Python's recursion limit, which a deeper
# record would hit in copying, validating or encoding it.
MAX_NESTING = 100
_SURROGATES = frozenset(range(0xD800, 0xE000))


class StreamMapFailedError(Exception):
    """A stream map expression failed for one record."""


class SingerInput(SimpleSingerReader):
    """The SDK's reader, with bad records made the record's failure instead of the run's."""

    def __init__(
        self,
        on_bad_record: Callable[[dict[str, t.Any], str], None],
        stream_maps: Callable[[str], list[StreamMap] | None],
    ) -> None:
        super().__init__()
        self._on_bad_record = on_bad_record
        self._stream_maps = stream_maps
        self._line = 0

    @property
    @override
    def default_input(self) -> t.IO[str]:  # type: ignore[override]
        # A raw 0xFF byte becomes a lone surrogate, refused with its record, not a crash.
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape")

    @override
    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, Callable[[dict[str, t.Any]], None]],
    ) -> t.Counter[str]:
        lines = _non_blank(file_input or self.default_input)
        record = callbacks[SingerMessageType.RECORD]
        guarded = {**callbacks, SingerMessageType.RECORD: lambda m: self.record(m, record)}
        return super().process_lines(lines, guarded)  # type: ignore[arg-type]

    @override
    def deserialize_json(self, line: str) -> dict[str, t.Any]:
        self._line += 1
        try:
            message = deserialize_json(line)
        except (ValueError, RecursionError) as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
            msg = (
                f"input line {self._line} is not a Singer message: {detail}. The tap wrote "
                "something that is not JSON; fix the tap, or the step between tap and target."
            )
            raise InvalidInputLine(msg) from None
        if not isinstance(message, dict):
            msg = f"input line {self._line} is JSON but not an object, so not a Singer message."
            raise InvalidInputLine(msg)
        return message

    def record(
        self, message: dict[str, t.Any], process: Callable[[dict[str, t.Any]], None]
    ) -> None:
        """Hand a RECORD message to `process`, or its problem to `on_bad_record`."""
        maps = self._stream_maps(str(message.get("stream")))
        if maps is None or "record" not in message:
            process(message)  # the SDK's own errors: no SCHEMA yet, no record at all
            return
        problem = record_problem(message["record"])
        if problem is not None:
            self._on_bad_record(message, problem)
            return
        for stream_map in maps:
            _guard(stream_map)
        try:
            process(message)
        except StreamMapFailedError as failed:
            self._on_bad_record(message, str(failed))


def _non_blank(lines: t.Iterable[str]) -> Iterator[str]:
    """A file that ends with an empty line is common: such lines say nothing."""
    return (line for line in lines if line.strip())


def _guard(stream_map: StreamMap) -> None:
    """Make a failing map expression a `StreamMapFailedError`, told apart from the sink's."""
    if getattr(stream_map, "_incidentio_guarded", False):
        return
    transform = stream_map.transform

    def guarded(record: dict[str, t.Any]) -> dict[str, t.Any] | None:
        try:
            return transform(record)
        except Exception as exc:
            msg = f"a stream map expression failed for it: {type(exc).__name__}: {exc}."
            raise StreamMapFailedError(msg) from exc

    setattr(stream_map, "transform", guarded)  # noqa: B010 - an instance's own attribute
    setattr(stream_map, "_incidentio_guarded", True)  # noqa: B010


def record_problem(record: object) -> str | None:
    """Why the target cannot use a record at all, or None; one walk, no recursion."""
    if not isinstance(record, dict):
        kind = "null" if record is None else type(record).__name__
        return f"the record is {kind}, not an object; the tap wrote a RECORD without data."
    stack: list[tuple[object, str, int]] = [(record, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_NESTING:
                return f"it is nested more than {MAX_NESTING} levels deep."
            stack.extend((item, where, depth + 1) for item, where in _children(value, path))
        else:
            problem = _leaf_problem(value, path)
            if problem is not None:
                return problem
    return None


def _children(value: dict[t.Any, t.Any] | list[t.Any], path: str) -> Iterator[tuple[object, str]]:
    """What a container holds, with where; an object's keys are checked as text too."""
    if isinstance(value, list):
        for n, item in enumerate(value):
            yield item, f"{path}[{n}]"
        return
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        yield key, where
        yield item, where


def _leaf_problem(value: object, path: str) -> str | None:
    if isinstance(value, str) and not value.isascii() and any(ord(c) in _SURROGATES for c in value):
        return (
            f"field '{path}' holds text that is not valid Unicode (a lone surrogate such as "
            "\\ud800, or a byte that is not UTF-8)."
        )
    if isinstance(value, (float, Decimal)) and not math.isfinite(value):
        name = "NaN" if math.isnan(value) else f"{'-' if value < 0 else ''}Infinity"
        return f"field '{path}' is {name}, which JSON cannot carry."
    return None
