"""Third-party Singer plugins from PyPI for the end-to-end tests (see tests/plugins.py)."""

from __future__ import annotations

import pytest
from plugins import TAP_JSONL, TARGET_DUCKDB, TARGET_JSONL, Plugin, require


@pytest.fixture(scope="session")
def tap_jsonl() -> Plugin:
    return require(TAP_JSONL, "tap-jsonl")


@pytest.fixture(scope="session")
def target_jsonl() -> Plugin:
    return require(TARGET_JSONL, "target-jsonl")


@pytest.fixture(scope="session")
def target_duckdb() -> Plugin:
    return require(TARGET_DUCKDB, "target-duckdb")
