"""What a `--check` finds, and what a look-up got back: the model the judges and runner share."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from target_incidentio.delivery.results import describe

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.delivery.transport import Cause
    from target_incidentio.payloads.base import ApiRequest

Status = t.Literal["passed", "failed", "note"]
LABELS: Mapping[Status, str] = {"passed": "passed", "failed": "FAILED", "note": "note"}


@dataclass(frozen=True)
class Finding:
    """One check's outcome: what was checked (a setting's path) and what was found."""

    status: Status
    subject: str
    text: str

    def line(self) -> str:
        """The line logged for it."""
        return f"check {LABELS[self.status]}: {self.subject}: {self.text}"


def passed(subject: str, text: str) -> Finding:
    """A check that passed."""
    return Finding("passed", subject, text)


def failed(subject: str, text: str, fix: str) -> Finding:
    """A check that failed, with what to do about it."""
    return Finding("failed", subject, f"{text} Fix: {fix}")


def note(subject: str, text: str) -> Finding:
    """Something that could not be checked, or is worth knowing; not a failure."""
    return Finding("note", subject, text)


@dataclass(frozen=True)
class Answer:
    """What a look-up got back; `status_code` is None when no HTTP answer came at all."""

    status_code: int | None
    ok: bool
    body: t.Any
    reason: str  # `GET /v1/identity: rejected (HTTP 401 Unauthorized): message`, redacted
    # Without an answer: what kept it from coming (`delivery.transport.Cause`).
    cause: Cause | None = None

    @classmethod
    def of(cls, result: DeliveryResult, body: t.Any) -> Answer:  # noqa: ANN401 - any JSON
        """From what `Delivery.call` returned."""
        cause = result.error.cause if result.error is not None else None
        return cls(result.status_code, result.status == "delivered", body, describe(result), cause)

    def item(self, name: str) -> dict[str, t.Any] | None:
        """The body's `name` object (`{"alert_source": {...}}`), when it is one."""
        value = self.body.get(name) if isinstance(self.body, dict) else None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Lookup:
    """A GET a check needs, and how to judge its answer."""

    request: ApiRequest
    judge: Callable[[Answer], Iterable[Finding]]
    subject: str  # named if the look-up cannot be made
    # A listing judged whole: its items' key and the request of the page after a cursor.
    # The judge then sees one answer holding every page's items (or the first that failed).
    pages: tuple[str, Callable[[str], ApiRequest]] | None = None
