"""The SDK's standard target tests, against a catch-all local endpoint, plus a delivery check.

The standard tests run the target on the SDK's own `.singer` files (streams it knows
nothing about), so the config routes every stream through the `http` operation to a
server on 127.0.0.1. They do not look at what was delivered; the test at the end does.
"""

from __future__ import annotations

import importlib.resources
import json

import pytest
from pytest_httpserver import HTTPServer
from singer_sdk.testing import get_target_test_class, target_test_streams
from support import run_in_process

from target_incidentio.target import TargetIncidentIO

SERVER = HTTPServer(host="127.0.0.1", port=0, threaded=True)
SERVER.start()
SERVER.expect_request("/echo").respond_with_json({"ok": True})

CONFIG = {
    "api_key": "standard-suite-key",
    "base_url": f"http://127.0.0.1:{SERVER.port}",
    "operation": "http",
    "api_url": "/echo",
    "progress_interval": 60,
}

StandardTargetTests = get_target_test_class(
    target_class=TargetIncidentIO,
    config=CONFIG,
    # A real TARGET_INCIDENTIO_API_KEY in the environment must never reach a test.
    parse_env_config=False,
)


@pytest.fixture(scope="module", autouse=True)
def _server():
    yield SERVER
    SERVER.clear()
    SERVER.stop()


class TestStandardSuite(StandardTargetTests):  # type: ignore[misc, valid-type]
    """All 16 standard tests run; none is excluded."""


@pytest.mark.parametrize("name", ["camelcase", "special_chars_in_attributes", "array_data"])
def test_every_standard_record_reaches_the_server(name):
    SERVER.clear_log()
    path = importlib.resources.files(target_test_streams) / f"{name}.singer"
    messages = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    sent = [m["record"] for m in messages if m["type"] == "RECORD"]
    run_in_process(CONFIG, messages)
    received = [request.get_json() for request, _ in SERVER.log]
    assert sorted(map(json.dumps, received)) == sorted(map(json.dumps, sent))
