"""Alerts folded from alert events by deduplication key, and heartbeat pings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incidentio_sandbox.store.common import NotFoundError, new_id, now_rfc3339, page

if TYPE_CHECKING:
    from collections.abc import Callable


class AlertStore:
    """Alerts by (alert source config id, deduplication key), the events, the pings."""

    def __init__(self) -> None:
        self.alerts: dict[tuple[str, str], dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.heartbeat_pings: list[dict[str, Any]] = []

    def record_event(self, config_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Fold an event into its alert: same dedup key, same alert; ``resolved`` resolves it."""
        key = payload.get("deduplication_key") or new_id()
        stamp = now_rfc3339()
        self.events.append(
            {"alert_source_config_id": config_id, "received_at": stamp, "payload": payload},
        )
        alert = self.alerts.get((config_id, key))
        if alert is None:
            alert = {
                "id": new_id(),
                "alert_source_config_id": config_id,
                "deduplication_key": key,
                "created_at": stamp,
                "event_count": 0,
                "resolved_at": None,
            }
            self.alerts[(config_id, key)] = alert
        alert["event_count"] += 1
        alert["updated_at"] = stamp
        for name in ("title", "description", "source_url", "metadata"):
            if name in payload:
                alert[name] = payload[name]
        alert["status"] = payload["status"]
        if payload["status"] == "resolved":
            alert["resolved_at"] = alert["resolved_at"] or stamp
        else:
            alert["resolved_at"] = None
        return alert

    def list(
        self, wanted: Callable[[dict[str, Any]], bool], after: str | None, page_size: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the matching alerts in creation (id) order, and the next cursor."""
        matched = sorted((a for a in self.alerts.values() if wanted(a)), key=lambda a: a["id"])
        return page(matched, after, page_size)

    def get(self, alert_id: str) -> dict[str, Any]:
        """The alert, or ``NotFoundError`` naming ``id``."""
        found = next((a for a in self.alerts.values() if a["id"] == alert_id), None)
        if found is None:
            msg = f"No alert found with id {alert_id!r}"
            raise NotFoundError(msg, "id")
        return found

    def record_ping(self, source_id: str, method: str) -> dict[str, Any]:
        """Note a ping; the sandbox has no monitor, so pings are only counted."""
        ping = {"heartbeat_source_id": source_id, "method": method, "received_at": now_rfc3339()}
        self.heartbeat_pings.append(ping)
        return ping

    def state(self) -> dict[str, Any]:
        """What ``GET /_sandbox/state`` shows of alerts and pings."""
        return {
            "alerts": list(self.alerts.values()),
            "alert_events": self.events,
            "heartbeat_pings": self.heartbeat_pings,
        }

    def counts(self) -> dict[str, int]:
        """The alert counts of ``GET /_sandbox/state``."""
        alerts = list(self.alerts.values())
        return {
            "alerts": len(alerts),
            "alerts_firing": sum(1 for a in alerts if a["status"] == "firing"),
            "alerts_resolved": sum(1 for a in alerts if a["status"] == "resolved"),
            "alert_events": len(self.events),
            "heartbeat_pings": len(self.heartbeat_pings),
        }
