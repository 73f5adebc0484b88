"""Who may call the sandbox, and how often: credentials, roles and incident.io's rate limits."""

from __future__ import annotations

import email.utils
import math
import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from incidentio_sandbox.exchange import Answer, JSONObject, bearer, error_item, error_response
from incidentio_sandbox.ratelimit import Decision, TokenBucket
from incidentio_sandbox.seed.alerting import AlertSource, HeartbeatSource

if TYPE_CHECKING:
    from collections.abc import Mapping

    from werkzeug.wrappers import Request, Response

    from incidentio_sandbox.config import SandboxConfig
    from incidentio_sandbox.endpoints import Endpoint
    from incidentio_sandbox.store import Store

TOO_MANY_MESSAGE = (
    "Too many requests hit the API too quickly. We recommend an exponential backoff of your "
    "requests."
)


class Gate:
    """Authenticates each call, paces it per key or alert source, and checks the key's role."""

    def __init__(self, config: SandboxConfig, store: Store) -> None:
        self._config = config
        self._store = store
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self._key_ids = {key: f"01SANDBOXAPIKEY{i:011d}" for i, key in enumerate(config.api_keys)}

    def reset(self) -> None:
        """Every bucket full again."""
        with self._lock:
            self._buckets.clear()

    def too_many(  # noqa: PLR0913 - every part of the 429 is a parameter
        self,
        request_id: str,
        name: str,
        limit: int,
        remaining: int,
        retry_after: float,
        *,
        retry_after_header: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """incident.io's 429: `Retry-After` (unless turned off) and the `rate_limit` body."""
        wait = max(1, math.ceil(retry_after))
        when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=wait)
        if self._config.retry_after_format == "http-date":
            stamp = email.utils.format_datetime(when, usegmt=True)
        else:
            stamp = when.isoformat().replace("+00:00", "Z")
        out = dict(headers or {})
        if retry_after_header and self._config.retry_after_header:
            out["Retry-After"] = str(wait)
        rate_limit = {"name": name, "limit": limit, "remaining": remaining, "retry_after": stamp}
        return error_response(
            429,
            request_id,
            [error_item("too_many_requests", TOO_MANY_MESSAGE)],
            headers=out,
            extra={"rate_limit": rate_limit},
        )

    def _bucket(self, name: str, capacity: float, refill: float) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = self._buckets[name] = TokenBucket(capacity, refill)
            return bucket

    def _source(
        self, request_id: str, config_id: str, kind: type[AlertSource | HeartbeatSource]
    ) -> AlertSource | HeartbeatSource:
        """The source an event or ping names; 404 if there is none of that kind."""
        with self._store.lock:
            source = self._store.seed.source(config_id)
        usable = isinstance(source, kind) and (
            not isinstance(source, AlertSource) or source.accepts_http_events
        )
        if source is None or not usable:
            what = "heartbeat source" if kind is HeartbeatSource else "HTTP alert source config"
            message = f"No {what} with id {config_id!r}"
            raise Answer(
                error_response(
                    404,
                    request_id,
                    [error_item("not_found", message, "alert_source_config_id")],
                ),
            )
        return source

    def admit(
        self, request: Request, request_id: str, endpoint: Endpoint, args: Mapping[str, str]
    ) -> tuple[JSONObject, dict[str, str]]:
        """Who is calling, and the rate-limit headers their answer must carry."""
        token = bearer(request)
        if endpoint.credential != "api_key":
            config_id = args["alert_source_config_id"]
            pinged = endpoint.credential == "heartbeat_source"
            source = self._source(request_id, config_id, HeartbeatSource if pinged else AlertSource)
            token = token or request.args.get("token")
            self._check_token(request_id, token, valid=token == source.token)
            actor: JSONObject = {"alert": {"id": config_id, "title": "alert source"}}
            if pinged:
                # incident.io documents no rate limit for pings.
                return actor, {}
            bucket_name = f"alert_source:{config_id}"
            capacity = self._config.alert_bucket_capacity
            refill = self._config.alert_refill_per_second
            limit_name = f"alert_source_{config_id}"
        else:
            self._check_token(request_id, token, valid=token in self._config.api_keys)
            assert token is not None  # noqa: S101 - _check_token guarantees it
            name = self._config.api_keys[token]
            actor = {"api_key": {"id": self._key_ids[token], "name": name}}
            bucket_name = f"api_key:{token}"
            capacity = self._config.bucket_capacity
            refill = self._config.refill_per_second
            limit_name = name
        headers: dict[str, str] = {}
        if self._config.rate_limit:
            decision = self._take(
                request_id, bucket_name, capacity=capacity, refill=refill, limit_name=limit_name
            )
            headers = decision.headers()
            if endpoint.per_minute is not None:
                # The endpoint's own limit, per key; the answer keeps the key's headers.
                self._take(
                    request_id,
                    f"{bucket_name}:{endpoint.method} {endpoint.path}",
                    capacity=endpoint.per_minute,
                    refill=endpoint.per_minute / 60,
                    limit_name=endpoint.name,
                    headers=headers,
                )
        if token is not None and endpoint.role is not None:
            self._check_role(request_id, endpoint.role, token, headers, endpoint.scopes)
        return actor, headers

    def _take(  # noqa: PLR0913 - a bucket's every part, and what a 429 says
        self,
        request_id: str,
        bucket_name: str,
        *,
        capacity: float,
        refill: float,
        limit_name: str,
        headers: Mapping[str, str] | None = None,
    ) -> Decision:
        """One token from the bucket, or a 429 (with ``headers``, else the bucket's own)."""
        decision = self._bucket(bucket_name, capacity, refill).take()
        if not decision.allowed:
            raise Answer(
                self.too_many(
                    request_id,
                    limit_name,
                    decision.limit,
                    decision.remaining,
                    decision.retry_after,
                    headers=decision.headers() if headers is None else headers,
                ),
            )
        return decision

    def _check_role(
        self,
        request_id: str,
        role: str,
        token: str,
        headers: Mapping[str, str],
        scopes: tuple[str, ...] = (),
    ) -> None:
        """403 when the key lacks the role the endpoint needs (``Endpoint.role``)."""
        with self._store.lock:
            roles = self._store.seed.roles(token)
        if role in roles:
            return
        message = f"This API key does not have the {role!r} role needed here"
        if scopes:
            message += f" (the spec's scopes: {', '.join(scopes)})"
        raise Answer(
            error_response(403, request_id, [error_item("missing_role", message)], headers)
        )

    @staticmethod
    def _check_token(request_id: str, token: str | None, *, valid: bool) -> None:
        if token is None:
            item = error_item(
                "missing_authorization_material",
                "No authorization material provided in request",
            )
        elif not valid:
            item = error_item("invalid_authorization_material", "The API key provided is not valid")
        else:
            return
        raise Answer(error_response(401, request_id, [item]))
