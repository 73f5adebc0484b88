from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from delivery_helpers import FakeTime
from pytest_httpserver import HTTPServer

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def _serve() -> Iterator[HTTPServer]:
    # Threaded, so a slow handler does not hold up the others. Started once: stopping takes 0.5 s.
    srv = HTTPServer(host="127.0.0.1", threaded=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def _main_server() -> Iterator[HTTPServer]:
    yield from _serve()


@pytest.fixture(scope="session")
def _other_server() -> Iterator[HTTPServer]:
    yield from _serve()


@pytest.fixture
def server(_main_server: HTTPServer) -> Iterator[HTTPServer]:
    """A loopback server on 127.0.0.1, empty at the start of each test."""
    _main_server.clear()
    yield _main_server
    _main_server.clear()


@pytest.fixture
def other_server(_other_server: HTTPServer) -> Iterator[HTTPServer]:
    """A second one, on another port."""
    _other_server.clear()
    yield _other_server
    _other_server.clear()
