"""The heartbeat ping: one call after a run that delivered everything.

An incident.io heartbeat alert source expects a ping on a schedule and alerts when pings stop,
so a pipeline that stops running, or keeps failing, is noticed.
"""

from __future__ import annotations

import typing as t

from target_incidentio.core.urls import endpoint_url, segment
from target_incidentio.payloads.base import ApiRequest

if t.TYPE_CHECKING:
    from target_incidentio.core.secrets import Secret

# The `operation` of the ping's response record.
HEARTBEAT = "heartbeat"


def build_heartbeat_ping(base_url: str, config_id: str, token: Secret) -> ApiRequest:
    """`POST /v2/heartbeat/{id}/ping` with the source's token as Bearer; no body, no records.

    incident.io documents no rate limit for pings, so the call draws from no bucket.
    """
    return ApiRequest(
        method="POST",
        url=endpoint_url(base_url, f"/v2/heartbeat/{segment(config_id)}/ping"),
        body=None,
        credential=token,
        order_key=f"heartbeat:{config_id}",
        rate_scopes=(),
        records=(),
        record_keys=(),
        operation=HEARTBEAT,
    )
