"""Alert snapshots (`resolve_missing_alerts`): a stream that is the whole of what fires now.

Many alert sources are tables of what is wrong now: a row appears while a problem lasts and
disappears when it is fixed, and nobody writes a `resolved` row. Each event is sent as built
and its deduplication key remembered per alert source. Once every event of the snapshot is
confirmed (end of the stream, or an ACTIVATE_VERSION), the source's firing alerts are listed
and each one whose key is not in the snapshot gets a `resolved` event through the same
source, paced and recorded like any event. Alerts of other sources are never touched.

Two guards keep a broken source query from resolving everything: an empty snapshot resolves
nothing, and a snapshot that would resolve more than `alert_max_resolve_fraction` of a
source's firing alerts resolves nothing and fails the run.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass

from typing_extensions import override

from target_incidentio.delivery.results import describe
from target_incidentio.payloads.alerts import (
    build_alert_resolution,
    event_alert,
    firing_alerts_page,
)
from target_incidentio.strategies import Strategy

if t.TYPE_CHECKING:
    from target_incidentio.payloads.base import ApiRequest, BuildContext
    from target_incidentio.strategies import Outlet

LOG = logging.getLogger("target-incidentio")
# Deduplication keys named in one log line; the response records name every one.
KEYS_IN_MESSAGE = 20


class SnapshotError(RuntimeError):
    """The snapshot's missing alerts cannot be resolved safely; nothing was resolved."""


@dataclass(frozen=True)
class Resolution:
    """What one snapshot means for one alert source."""

    config_id: str
    firing: int  # the source's firing alerts, as listed
    missing: tuple[dict[str, t.Any], ...]  # those whose key the snapshot no longer holds

    def too_many(self, fraction: float) -> bool:
        """More than `fraction` of the source's firing alerts would be resolved."""
        return len(self.missing) > fraction * self.firing


class AlertSnapshot(Strategy):
    """Send each event as built; at the snapshot's end, resolve the alerts whose rows are gone."""

    uses_versions = True

    def __init__(self, outlet: Outlet, ctx: BuildContext) -> None:
        super().__init__(outlet, ctx)
        # Alert source config id -> deduplication keys of the snapshot so far.
        self._keys: dict[str, set[str]] = {}
        # Failed records of the stream already accounted for by an earlier snapshot.
        self._failures_seen = 0
        self._snapshots = 0

    @override
    def send(self, request: ApiRequest) -> None:
        config_id, key = event_alert(request)
        self._keys.setdefault(config_id, set()).add(key)
        self.outlet.submit(request)

    @override
    def boundary(self) -> None:
        self.outlet.wait()  # every event of the snapshot confirmed
        self._resolve_missing(at_end=False)
        self.outlet.wait()  # a failed resolution is not a failure of the next snapshot
        self._failures_seen = self.outlet.failed(self.ctx.stream)

    @override
    def end(self) -> None:
        self._resolve_missing(at_end=True)

    # -- one snapshot --------------------------------------------------------------------------

    def _resolve_missing(self, *, at_end: bool) -> None:
        keys, self._keys = self._keys, {}
        failed = self.outlet.failed(self.ctx.stream) - self._failures_seen
        stream = self.ctx.stream
        if not keys:
            # An ACTIVATE_VERSION before the first record (how SDK taps send it), or the
            # empty rest after a versioned snapshot, is no snapshot at all.
            if at_end and not self._snapshots:
                LOG.warning(
                    "Stream '%s': the snapshot is empty, so no alert is resolved "
                    "(resolve_missing_alerts); an empty table more likely means a broken "
                    "source query than nothing failing.",
                    stream,
                )
            return
        self._snapshots += 1
        if failed:
            LOG.warning(
                "Stream '%s': %d records of the snapshot failed, so it is incomplete and no "
                "alert is resolved (resolve_missing_alerts).",
                stream,
                failed,
            )
            return
        if not self.outlet.snapshot_whole(stream, "no alert is resolved (resolve_missing_alerts)"):
            return
        if self.ctx.settings.api_key is None:  # only a dry run gets this far without one
            LOG.warning(
                "Stream '%s': dry run without `api_key`: the firing alerts cannot be listed, "
                "so what would be resolved is not known.",
                stream,
            )
            return
        plans = [self._plan(config_id, present) for config_id, present in sorted(keys.items())]
        self._refuse_too_many(plans)
        for plan in plans:
            self._resolve(plan)

    def _plan(self, config_id: str, present: set[str]) -> Resolution:
        firing = self._firing(config_id)
        missing = tuple(a for a in firing if str(a.get("deduplication_key")) not in present)
        return Resolution(config_id, len(firing), missing)

    def _refuse_too_many(self, plans: list[Resolution]) -> None:
        fraction = self.ctx.settings.alert_max_resolve_fraction
        refused = [plan for plan in plans if plan.too_many(fraction)]
        if not refused:
            return
        stream = self.ctx.stream
        counts = "; ".join(
            f"alert source {plan.config_id}: {len(plan.missing)} of its {plan.firing} firing "
            f"alerts ({len(plan.missing) / plan.firing:.0%})"
            for plan in refused
        )
        msg = (
            f"Stream '{stream}': the snapshot would resolve more than "
            f"`alert_max_resolve_fraction` ({fraction:g}) of the firing alerts ({counts}); "
            "nothing was resolved. Fix: check the query that fills the stream; if that many "
            "problems really are fixed, raise `alert_max_resolve_fraction` for this stream "
            f"(`streams.{stream}.alert_max_resolve_fraction`, up to 1)."
        )
        raise SnapshotError(msg)

    def _resolve(self, plan: Resolution) -> None:
        if not plan.missing:
            return
        keys = [str(alert["deduplication_key"]) for alert in plan.missing]
        shown = ", ".join(keys[:KEYS_IN_MESSAGE])
        if len(keys) > KEYS_IN_MESSAGE:
            shown += f" and {len(keys) - KEYS_IN_MESSAGE} more"
        LOG.info(
            "Stream '%s': %s %d of %d firing alerts of alert source %s, whose rows are gone: %s.",
            self.ctx.stream,
            "dry run, would resolve" if self.outlet.dry_run else "resolving",
            len(keys),
            plan.firing,
            plan.config_id,
            shown,
        )
        for alert in plan.missing:
            self.outlet.submit(build_alert_resolution(alert, plan.config_id, self.ctx))

    def _firing(self, config_id: str) -> list[dict[str, t.Any]]:
        """Every firing alert of the source, page after page (`after`)."""
        found: dict[str, dict[str, t.Any]] = {}
        after: str | None = None
        pages: set[str] = set()
        while True:
            result, body = self.outlet.call(firing_alerts_page(config_id, after, self.ctx))
            if not result.ok:
                msg = (
                    f"Stream '{self.ctx.stream}': could not list the firing alerts of alert "
                    f"source {config_id} to resolve those whose rows are gone: "
                    f"{describe(result)}. Nothing was resolved. Fix: the API key needs the "
                    "`viewer` role (alerts are read with `GET /v2/alerts`)."
                )
                raise SnapshotError(msg)
            page = body.get("alerts") if isinstance(body, dict) else None
            if not isinstance(page, list):
                msg = (
                    f"Stream '{self.ctx.stream}': `GET /v2/alerts` answered without an "
                    "`alerts` list; nothing was resolved."
                )
                raise SnapshotError(msg)
            for alert in page:
                # The filter asked for these; anything else is never touched.
                if (
                    isinstance(alert, dict)
                    and alert.get("alert_source_id") == config_id
                    and alert.get("status") == "firing"
                    and alert.get("deduplication_key")
                ):
                    found[str(alert.get("id") or alert["deduplication_key"])] = alert
            meta = body.get("pagination_meta")
            after = meta.get("after") if isinstance(meta, dict) else None
            if not page or not after:
                return list(found.values())
            if after in pages:
                msg = (
                    f"Stream '{self.ctx.stream}': `GET /v2/alerts` returned the page cursor "
                    f"{after!r} twice; nothing was resolved."
                )
                raise SnapshotError(msg)
            pages.add(after)
