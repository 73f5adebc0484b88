"""Strategies: how a stream's built calls reach incident.io.

The default sends each call as it is built. An operation may choose another per stream
(see `Operation.strategy`): catalog sync lists the type first and sends only what changed,
and alert snapshots resolve what disappeared. A strategy belongs to its stream, not to a
sink, so a schema change mid-stream (a new sink) keeps the same snapshot.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from target_incidentio.core.errors import RecordError
    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.payloads.base import ApiRequest, BuildContext
    from target_incidentio.settings import StreamSettings


class Lookups(t.Protocol):
    """What a strategy may read of the run's look-ups: the catalog types, listed once."""

    def catalog_types(self) -> tuple[t.Any, ...]:
        """The account's catalog types (`catalog.types.CatalogType`, a layer above)."""
        ...

    def update_catalog_types(
        self, change: Callable[[tuple[t.Any, ...]], tuple[t.Any, ...]]
    ) -> tuple[t.Any, ...]:
        """Replace the listing with `change(listing)`."""
        ...

    def refresh_catalog_types(self) -> tuple[t.Any, ...]:
        """List them again."""
        ...


class Outlet(t.Protocol):
    """What a strategy may use of the run."""

    @property
    def dry_run(self) -> bool:
        """Build and log every request, send nothing (look-ups excepted), emit no state."""
        ...

    @property
    def directory(self) -> Lookups:
        """The run's one look-up object (`run/directory.py`)."""
        ...

    def submit(
        self, request: ApiRequest, then: Callable[[DeliveryResult], None] | None = None
    ) -> None:
        """Queue a call; its outcome reaches the ledger, then `then` (on a delivery thread)."""
        ...

    def call(self, request: ApiRequest) -> tuple[DeliveryResult, t.Any]:
        """Send a look-up now, paced and retried; its response record is written."""
        ...

    def send_now(self, request: ApiRequest) -> DeliveryResult:
        """Send a call of records now, paced and retried; the caller `report`s the result."""
        ...

    def report(self, result: DeliveryResult, *, split: bool = False) -> None:
        """The outcome of a `send_now` call; `split`: refused whole, its halves will follow."""
        ...

    def fail(self, request: ApiRequest, error: RecordError) -> None:
        """The records of `request` cannot be sent: reported failed; raise if that stops the run."""
        ...

    def skip(self, request: ApiRequest, reason: str) -> None:
        """The records of `request` need no call (already so in incident.io): settled."""
        ...

    def wait(self) -> None:
        """Block until every call submitted so far has ended."""
        ...

    def failed(self, stream: str) -> int:
        """Records of `stream` reported failed so far (under `on_error: continue`)."""
        ...

    def snapshot_whole(self, stream: str, step: str) -> bool:
        """May the step that removes what `stream` lacks run (`step`: what it would do)?

        The one gate of every such step: the tap signalled the stream finished, or the user
        trusts the end of input (`snapshot_complete`); refused, it warns once per stream.
        """
        ...

    def uninterrupted(self) -> t.ContextManager[None]:
        """A section a SIGTERM must not cut in two (a call and the report of its outcome)."""
        ...


class Strategy:
    """Send each call as it is built; nothing to flush, nothing to do at the end."""

    # Whether an ACTIVATE_VERSION is a snapshot boundary for this strategy.
    uses_versions: t.ClassVar[bool] = False

    def __init__(self, outlet: Outlet, ctx: BuildContext) -> None:
        self.outlet = outlet
        self.ctx = ctx

    def prepared(self, ctx: BuildContext) -> None:
        """The stream's settings once its operation prepared them (ids for names), before a row."""
        self.ctx = ctx

    def send(self, request: ApiRequest) -> None:
        """A built call for one or more records."""
        self.outlet.submit(request)

    def rejected(self, records: int) -> None:
        """Records of the stream that failed before becoming a call (reported already)."""

    def flush(self) -> None:
        """Send what is held (a run that stops, a state that waits on held records)."""

    def boundary(self) -> None:
        """ACTIVATE_VERSION: the snapshot so far is complete (only if `uses_versions`)."""

    def end(self) -> None:
        """End of input, every call of the stream confirmed: the snapshot is complete."""


@dataclass(frozen=True)
class Prepared:
    """A stream's settings once what they name is looked up (a catalog type's ids).

    `reported`: fields a warning already named, so the unplaced-field warning does not repeat.
    """

    settings: StreamSettings
    reported: frozenset[str] = frozenset()


# The settling step an operation declares: context, the stream's SCHEMA, the run's outlet.
Prepare = t.Callable[["BuildContext", "Mapping[str, t.Any]", "Outlet"], Prepared]


def as_given(ctx: BuildContext, _schema: Mapping[str, t.Any], _outlet: Outlet) -> Prepared:
    """Operations with nothing to prepare use their settings as given."""
    return Prepared(ctx.settings)
