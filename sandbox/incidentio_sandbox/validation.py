"""Check requests against incident.io's own OpenAPI spec, answering in its 422 shape."""

from __future__ import annotations

import ast
import copy
import functools
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.validation.request.exceptions import (
    InvalidRequestBody,
    MissingParameterError,
    MissingRequestBodyError,
    ParameterValidationError,
)
from openapi_core.validation.request.validators import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
)
from openapi_schema_validator import OAS30Validator

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
def _prepared() -> dict[str, Any]:
    spec = copy.deepcopy(load_spec())
    # The spec names https://api.incident.io; a relative server lets any sandbox host match.
    spec["servers"] = [{"url": "/"}]
    # openapi-core warns on every request about the deprecated allowEmptyValue, and cannot
    # read incident.io's deepObject filters (`status[one_of]=firing`): those are judged by
    # _deep_object_errors instead, so openapi-core never sees them.
    for item in spec["paths"].values():
        for operation in item.values():
            kept = []
            for parameter in operation.get("parameters", ()):
                parameter.pop("allowEmptyValue", None)
                if parameter.get("style") != "deepObject":
                    kept.append(parameter)
            if "parameters" in operation:
                operation["parameters"] = kept
    return spec


@functools.cache
def _openapi(template: str) -> OpenAPI:
    """The spec with one path: openapi-core finds a request's path by trying every one.

    Not checked as an OpenAPI document here (that costs seconds per path): the shipped subset
    is checked whole once, by the sandbox's tests.
    """
    spec = _prepared()
    one_path = {**spec, "paths": {template: spec["paths"][template]}}
    # None skips the check (OpenAPI.check_spec), though the annotation leaves it out.
    unchecked = Config(spec_validator_cls=None)  # type: ignore[arg-type]
    return OpenAPI.from_dict(one_path, config=unchecked)


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """Spec path templates as patterns, literal paths first (``actions/bulk_update``)."""
    out = []
    for path in load_spec()["paths"]:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
        out.append((re.compile(f"^{pattern}$"), path))
    return sorted(out, key=lambda item: item[1].count("{"))


def template_of(path: str) -> str | None:
    """The spec's path template a request's path matches, if the subset has one."""
    return next((template for pattern, template in _templates() if pattern.match(path)), None)


def operation(method: str, path: str) -> dict[str, Any] | None:
    """The spec's operation object for a request, if the subset has one."""
    template = template_of(path)
    if template is None:
        return None
    found: dict[str, Any] | None = load_spec()["paths"][template].get(method.lower())
    return found


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
            errors.append(error_item("is_required", f"{field} is required", field))
        else:
            field = _field(path) or "body"
            errors.append(error_item("invalid_value", f"{field}: {error.message}", field))
    return errors


def request_errors(request: Request) -> list[dict[str, Any]]:
    """Body, path and query errors for ``request``, in incident.io's error-item shape.

    Header parameters are left alone (authentication judges them). Query parameters
    with a default (``page_size``) take it when absent, as the API does.
    """
    template = template_of(request.path)
    if template is None:  # routing answers 404 before validation for any path not served
        return []
    spec = _openapi(template).spec
    wrapped = _JSONRequest(request)
    errors: list[dict[str, Any]] = []
    for error in V30RequestBodyValidator(spec).iter_errors(wrapped):
        if isinstance(error, InvalidRequestBody):
            errors.extend(_schema_errors(error.__cause__))
        elif isinstance(error, MissingRequestBodyError):
            errors.append(error_item("is_required", "A JSON request body is required", "body"))
    for error in V30RequestParametersValidator(spec).iter_errors(wrapped):
        for item in _parameter_errors(error):
            if item.location not in {"path", "query"}:
                continue
            if isinstance(item, MissingParameterError):
                message = f"{item.name} is required"
                errors.append(error_item("is_required", message, item.name))
            else:
                errors.append(error_item("invalid_value", _why(item), item.name))
    found = operation(request.method, request.path)
    if found is not None:
        errors.extend(_deep_object_errors(found, request))
    return errors


def error_item(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """One ``ErrorSingle``; its ``source`` has both ``field`` and ``pointer``, as the spec says."""
    item: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        steps = re.findall(r"[^.\[\]]+", field) if field != "body" else []
        item["source"] = {"field": field, "pointer": "".join(f"/{step}" for step in steps)}
    return item


def _why(error: ParameterValidationError) -> str:
    """The schema's complaint (``251 is greater than the maximum of 250``), else openapi-core's."""
    cause: BaseException | None = error.__cause__
    reasons = [e.message for e in getattr(cause, "schema_errors", ())]
    if not reasons and cause is not None:
        reasons = [str(cause)]
    return f"{error.name}: {'; '.join(reasons)}" if reasons else str(error)


_BRACKETS = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")


def deep_objects(args: Any) -> dict[str, Any]:  # noqa: ANN401 - a werkzeug MultiDict
    """``status[one_of]=a&status[one_of]=b`` as ``{"status": {"one_of": ["a", "b"]}}``."""
    out: dict[str, Any] = {}
    for key in args:
        match = _BRACKETS.match(key)
        if match is None:
            continue
        node = out.setdefault(match[1], {})
        parts = re.findall(r"\[([^\[\]]*)\]", match[2])
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = list(args.getlist(key))
    return out


def _deep_object_errors(found: dict[str, Any], request: Request) -> list[dict[str, Any]]:
    """Judge deepObject filters against their schemas (arrays of strings per operator)."""
    parsed = deep_objects(request.args)
    errors: list[dict[str, Any]] = []
    for parameter in found.get("parameters", ()):
        if parameter.get("style") != "deepObject" or parameter["in"] != "query":
            continue
        name = parameter["name"]
        if name in request.args:
            message = f"{name} is a deep object: send {name}[operator]=value"
            errors.append(error_item("invalid_value", message, name))
        if name not in parsed:
            continue
        for error in OAS30Validator(parameter["schema"]).iter_errors(parsed[name]):
            field = name + "".join(f"[{part}]" for part in list(error.absolute_path)[:2])
            errors.append(error_item("invalid_value", f"{field}: {error.message}", field))
    return errors


def _parameter_errors(error: Exception) -> list[ParameterValidationError]:
    """Flatten openapi-core's grouped parameter errors."""
    if isinstance(error, ParameterValidationError):
        return [error]
    nested = getattr(error, "errors", None) or getattr(error.__cause__, "errors", None) or ()
    return [item for item in nested if isinstance(item, ParameterValidationError)]
