"""One request as a handler sees it, and the answers the sandbox gives in incident.io's shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from incidentio_sandbox.validation import error_item

if TYPE_CHECKING:
    from collections.abc import Mapping

    from werkzeug.wrappers import Request

    from incidentio_sandbox.store import Store

JSONObject = dict[str, Any]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "resource_forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    422: "validation_error",
    429: "too_many_requests",
}
DEFAULT_PAGE_SIZE = 25  # the spec's default for every list the sandbox pages


@dataclass(frozen=True)
class Call:
    """What an endpoint handler gets: the store (its lock held), the parsed body and who calls.

    ``args`` are the path parameters under the spec's names (``id``,
    ``alert_source_config_id``). A handler answers ``(status, body)`` or raises the store's
    ``NotFoundError`` (404) or ``InvalidError`` (422).
    """

    store: Store
    payload: JSONObject
    args: Mapping[str, str]
    actor: JSONObject
    request: Request

    def page_size(self) -> int:
        """The requested page size; validation has already held it to the spec's bounds."""
        text = self.request.args.get("page_size", "")
        return int(text) if text.isdigit() else DEFAULT_PAGE_SIZE


class Answer(Exception):  # noqa: N818 - control flow, not a failure
    """Raised inside the pipeline to answer early (auth, 404, 422, 429)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def bearer(request: Request) -> str | None:
    """The ``Authorization: Bearer`` credential, if one was sent."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def json_response(status: int, body: object, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer; 204 carries no body."""
    data = b"" if status == 204 else json.dumps(body).encode()  # noqa: PLR2004
    response = Response(data, status=status, headers=dict(headers or {}))
    if status != 204:  # noqa: PLR2004
        response.content_type = "application/json; charset=utf-8"
    return response


def error_response(
    status: int,
    request_id: str,
    errors: list[JSONObject],
    headers: Mapping[str, str] | None = None,
    extra: JSONObject | None = None,
) -> Response:
    """incident.io's error body: ``{type, status, request_id, errors: [...]}``."""
    body: JSONObject = {
        "type": ERROR_TYPES.get(status, "api_error"),
        "status": status,
        "request_id": request_id,
        **(extra or {}),
        "errors": errors,
    }
    return json_response(status, body, headers)


__all__ = [
    "Answer",
    "Call",
    "JSONObject",
    "bearer",
    "error_item",
    "error_response",
    "json_response",
]
