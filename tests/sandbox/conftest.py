"""Fixtures for the sandbox's own tests: a running sandbox and a session to talk to it."""

from __future__ import annotations

import typing as t

import pytest
import requests
from sandbox_helpers import API_KEY, SOURCE, SOURCE_TOKEN

from incidentio_sandbox import Sandbox


@pytest.fixture
def sandbox() -> t.Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY, alert_sources={SOURCE: SOURCE_TOKEN}) as sb:
        yield sb


@pytest.fixture
def http() -> t.Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
