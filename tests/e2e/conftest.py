"""Third-party Singer plugins from PyPI for the end-to-end tests (see tests/plugins.py)."""

from __future__ import annotations

import typing as t

import pytest
from plugins import TAP_JSONL, TARGET_DUCKDB, TARGET_JSONL, Plugin, require
from test_meltano_pipeline import install_project

if t.TYPE_CHECKING:
    from pathlib import Path


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the `meltano` fixture share one worker under `pytest -n`: they all run
    meltano.yml's project in the checkout, whose `.meltano/` a `meltano install` rewrites."""
    for item in items:
        if "meltano" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("meltano-project"))


@pytest.fixture(scope="session")
def tap_jsonl() -> Plugin:
    return require(TAP_JSONL, "tap-jsonl")


@pytest.fixture(scope="session")
def target_jsonl() -> Plugin:
    return require(TARGET_JSONL, "target-jsonl")


@pytest.fixture(scope="session")
def target_duckdb() -> Plugin:
    return require(TARGET_DUCKDB, "target-duckdb")


@pytest.fixture(scope="session")
def meltano(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Meltano, with meltano.yml's plugins installed into `.meltano/`: once a session."""
    return install_project(tmp_path_factory.mktemp("meltano-install"))
