"""Fixtures for the sandbox's own tests: a running sandbox and a session to talk to it."""

from __future__ import annotations

import typing as t

import pytest
import requests

from incidentio_sandbox import Sandbox

API_KEY = "test-key"
SOURCE = "01GW2G3V0S59R238FAHPDS1R66"
SOURCE_TOKEN = "source-token"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SOURCE_AUTH = {"Authorization": f"Bearer {SOURCE_TOKEN}"}


@pytest.fixture
def sandbox() -> t.Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY, alert_sources={SOURCE: SOURCE_TOKEN}) as sb:
        yield sb


@pytest.fixture
def http() -> t.Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
