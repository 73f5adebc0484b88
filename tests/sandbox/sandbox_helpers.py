"""Credentials the sandbox tests configure; a module of its own, as ``conftest`` is ambiguous.

Also the response check: a sandbox answer judged against incident.io's response schema.
"""

from __future__ import annotations

import copy
import functools
import typing as t
import warnings
from urllib.parse import parse_qsl, urlsplit

from jsonschema_path import SchemaPath
from openapi_core import V30ResponseValidator
from openapi_core.testing import MockRequest, MockResponse

from incidentio_sandbox.validation import load_spec

if t.TYPE_CHECKING:
    import requests

API_KEY = "test-key"
SOURCE = "01GW2G3V0S59R238FAHPDS1R66"
SOURCE_TOKEN = "source-token"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SOURCE_AUTH = {"Authorization": f"Bearer {SOURCE_TOKEN}"}


@functools.cache
def _response_validator() -> V30ResponseValidator:
    spec = copy.deepcopy(load_spec())
    spec["servers"] = [{"url": "/"}]
    for item in spec["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", ()):
                parameter.pop("allowEmptyValue", None)
                if parameter.get("style") == "deepObject":
                    parameter.setdefault("explode", True)
    # Strict: a field the schema does not name is a mismatch too.
    return V30ResponseValidator(
        SchemaPath.from_dict(spec), forbid_unspecified_additional_properties=True
    )


def check_response(reply: requests.Response) -> None:
    """Raise unless ``reply`` matches the spec's response schema for its operation and status."""
    sent = reply.request
    parts = urlsplit(sent.url or "")
    request = MockRequest(
        f"{parts.scheme}://{parts.netloc}",
        (sent.method or "GET").lower(),
        parts.path,
        args=dict(parse_qsl(parts.query, keep_blank_values=True)),
    )
    check_body(request, reply.status_code, reply.content, reply.headers.get("Content-Type"))


def check_body(request: MockRequest, status: int, content: bytes, content_type: str | None) -> None:
    """The same check for a body made by hand (to show the check refuses a wrong one)."""
    response = MockResponse(
        content,
        status_code=status,
        content_type=(content_type or "application/json").split(";")[0],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _response_validator().validate(request, response)
