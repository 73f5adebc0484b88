"""Check requests against incident.io's own OpenAPI spec, answering in its 422 shape."""

from __future__ import annotations

import ast
import copy
import functools
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.validation.request.exceptions import (
    InvalidRequestBody,
    MissingRequestBodyError,
    ParameterValidationError,
)
from openapi_core.validation.request.validators import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
)

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

SPEC_RESOURCE = "openapi-subset.json"


@functools.cache
def load_spec() -> dict[str, Any]:
    """The shipped spec subset, parsed once per process."""
    text = resources.files(__package__).joinpath(SPEC_RESOURCE).read_text(encoding="utf-8")
    spec: dict[str, Any] = json.loads(text)
    return spec


@functools.cache
def _openapi() -> OpenAPI:
    spec = copy.deepcopy(load_spec())
    # The spec names https://api.incident.io; a relative server lets any sandbox host match.
    spec["servers"] = [{"url": "/"}]
    # openapi-core warns on every request about the deprecated allowEmptyValue; it only
    # concerns query parameters, which the sandbox does not judge.
    for item in spec["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", ()):
                parameter.pop("allowEmptyValue", None)
    return OpenAPI.from_dict(spec)


class _JSONRequest(WerkzeugOpenAPIRequest):
    """Judge the body as JSON even when a client forgets the Content-Type, as the API does."""

    @property
    def content_type(self) -> str:
        return "application/json"


def _field(path: list[str | int]) -> str:
    """Render a JSON path the way incident.io names fields: ``incident.name``, ``a[0].b``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _schema_errors(cause: BaseException | None) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for error in getattr(cause, "schema_errors", ()):
        path: list[str | int] = list(error.absolute_path)
        if error.validator == "required":
            missing = ast.literal_eval(error.message.removesuffix(" is a required property"))
            field = _field([*path, str(missing)])
            errors.append(
                {
                    "code": "is_required",
                    "message": f"{field} is required",
                    "source": {"field": field},
                },
            )
        else:
            field = _field(path) or "body"
            errors.append(
                {
                    "code": "invalid_value",
                    "message": f"{field}: {error.message}",
                    "source": {"field": field},
                },
            )
    return errors


def request_errors(request: Request) -> list[dict[str, Any]]:
    """Body and path-parameter errors for ``request``, in incident.io's error-item shape.

    Query and header parameters are left alone: incident.io's spec declares a
    deepObject query parameter that openapi-core cannot parse next to ``?token=``.
    """
    spec = _openapi().spec
    wrapped = _JSONRequest(request)
    errors: list[dict[str, Any]] = []
    for error in V30RequestBodyValidator(spec).iter_errors(wrapped):
        if isinstance(error, InvalidRequestBody):
            errors.extend(_schema_errors(error.__cause__))
        elif isinstance(error, MissingRequestBodyError):
            errors.append(
                {
                    "code": "is_required",
                    "message": "A JSON request body is required",
                    "source": {"field": "body"},
                },
            )
    for error in V30RequestParametersValidator(spec).iter_errors(wrapped):
        errors.extend(
            {"code": "invalid_value", "message": str(item), "source": {"field": item.name}}
            for item in _parameter_errors(error)
            if item.location == "path"
        )
    return errors


def _parameter_errors(error: Exception) -> list[ParameterValidationError]:
    """Flatten openapi-core's grouped parameter errors."""
    if isinstance(error, ParameterValidationError):
        return [error]
    nested = getattr(error, "errors", None) or getattr(error.__cause__, "errors", None) or ()
    return [item for item in nested if isinstance(item, ParameterValidationError)]
