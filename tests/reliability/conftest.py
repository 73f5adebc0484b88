"""Reliability fixtures: a sandbox knowing every test secret, and a secret scan after each test."""

from __future__ import annotations

import pytest
from reliability_helpers import ALERT_TOKEN, API_KEY, SECRETS, SOURCE, Outputs

from incidentio_sandbox import Sandbox

# Files a test writes itself that hold the secrets on purpose.
CONFIG_FILES = ("config.json", "config-*.json")


@pytest.fixture
def sandbox():
    with Sandbox(api_key=API_KEY, alert_sources={SOURCE: ALERT_TOKEN}) as sb:
        yield sb


@pytest.fixture
def outputs() -> Outputs:
    """Texts a test's runs produced (stdout, stderr, exception texts), scanned at teardown."""
    return Outputs()


@pytest.fixture(autouse=True)
def no_secret_anywhere(request, tmp_path, capfd, caplog, outputs):
    """After each test: no secret in its captured output, logs, recorded texts or files."""
    yield
    captured = capfd.readouterr()
    texts = {"captured stdout": captured.out, "captured stderr": captured.err}
    texts["log records"] = caplog.text
    texts["run outputs"] = "\n".join(outputs.texts)
    for path in tmp_path.rglob("*"):
        if path.is_file() and not any(path.match(p) for p in CONFIG_FILES):
            texts[str(path.relative_to(tmp_path))] = path.read_text(errors="replace")
    leaks = [
        f"{secret[:12]}… in {where}"
        for where, text in texts.items()
        for secret in SECRETS
        if secret in text
    ]
    assert not leaks, f"secrets leaked: {leaks}"
    # Pass the captured output through, so failures still show it.
    print(captured.out, end="")  # noqa: T201
