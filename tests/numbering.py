"""Records numbered as a run numbers them (`Run.admit`), to call a payload builder directly."""

from __future__ import annotations

import typing as t

from target_incidentio.payloads.base import Numbered


def numbered(*records: dict[str, t.Any], first: int = 1) -> tuple[Numbered, ...]:
    """`records` as a builder receives them, numbered from `first` in order."""
    return tuple(Numbered(first + offset, record) for offset, record in enumerate(records))
