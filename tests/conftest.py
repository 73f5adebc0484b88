"""Fixtures shared by every test folder."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import threading
import typing as t
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from jsonschema_path import SchemaPath
from openapi_core import V30RequestValidator
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest

if t.TYPE_CHECKING:
    from collections.abc import Mapping

# incident.io's full official spec, in the repository (spec/README.md); INCIDENTIO_OPENAPI_SPEC
# points elsewhere (a newer spec to try the builders against).
FULL_SPEC = Path(__file__).parents[1] / "spec" / "incidentio-openapi.json"
# Builders leave auth to the delivery layer; a placeholder satisfies the spec's BearerAuth.
PLACEHOLDER_AUTH = {"Authorization": "Bearer test-api-key"}


class OpenAPIMismatchError(AssertionError):
    """A request the incident.io API would refuse, by its own spec."""


class OpenAPIValidator(t.Protocol):
    """`(method, url, body, headers=None, *, strict=True) -> None`, raising on a bad request."""

    def __call__(
        self,
        method: str,
        url: str,
        body: t.Any,
        headers: Mapping[str, str] | None = None,
        *,
        strict: bool = True,
    ) -> None: ...


def _spec_file() -> Path:
    configured = os.environ.get("INCIDENTIO_OPENAPI_SPEC")
    if configured:
        return Path(configured)
    return FULL_SPEC


def _load_spec(path: Path) -> dict[str, t.Any]:
    spec: dict[str, t.Any] = json.loads(path.read_text(encoding="utf-8"))
    # The spec declares `style: deepObject` query parameters without `explode`, which
    # openapi-core cannot read even when absent; incident.io means `name[key]=value`.
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                for parameter in operation.get("parameters") or ():
                    if parameter.get("style") == "deepObject":
                        parameter.setdefault("explode", True)
                        _one_value_per_pair(parameter["schema"])
    # Judge the path only, so requests to a sandbox or a custom base_url validate too.
    spec["servers"] = [{"url": "/"}]
    return spec


def _one_value_per_pair(schema: dict[str, t.Any]) -> None:
    """`status[one_of]=a&status[one_of]=b` is the array `{"one_of": ["a", "b"]}`.

    openapi-core reads each pair as a plain string and then refuses it as "not an array", so
    each value is judged as one item of the array the spec declares.
    """
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and values.get("type") == "array" and "items" in values:
        schema["additionalProperties"] = values["items"]


def _describe(error: Exception) -> str:
    details = [str(error)]
    cause = error.__cause__
    details.extend(
        f"  - {'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
        for e in getattr(cause, "schema_errors", ())
    )
    return "\n".join(details)


@pytest.fixture(scope="session")
def openapi_validator() -> OpenAPIValidator:
    """Check a request (method, absolute URL, JSON body, headers) against incident.io's spec.

    Path, path parameters, query, body and security are checked. With `strict` (the
    default) a body property the schema does not name is refused too, since the API
    silently ignores a misspelt field. Headers default to a placeholder bearer token.
    """
    path = _spec_file()
    spec = SchemaPath.from_dict(_load_spec(path))
    validators = {
        strict: V30RequestValidator(spec, forbid_unspecified_additional_properties=strict)
        for strict in (True, False)
    }

    def validate(
        method: str,
        url: str,
        body: t.Any,
        headers: Mapping[str, str] | None = None,
        *,
        strict: bool = True,
    ) -> None:
        parts = urlsplit(url)
        request = MockRequest(
            f"{parts.scheme}://{parts.netloc}",
            method.lower(),
            parts.path,
            args=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=dict(PLACEHOLDER_AUTH if headers is None else headers),
            data=None if body is None else json.dumps(body).encode(),
        )
        try:
            with warnings.catch_warnings():
                # openapi-core frowns on the spec's `allowEmptyValue`; not our request's fault.
                warnings.simplefilter("ignore", DeprecationWarning)
                validators[strict].validate(request)
        except OpenAPIError as error:
            msg = f"{method} {url} does not match {path.name}: {_describe(error)}"
            raise OpenAPIMismatchError(msg) from error

    return validate


@pytest.fixture
def self_signed_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate nobody trusts; records request paths."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def answer(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_POST(self):
            self.answer()

        def do_GET(self):
            self.answer()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
