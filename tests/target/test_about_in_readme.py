"""The README's settings table is what `--about --format markdown` prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"


def _settings_table(text: str) -> str:
    match = re.search(r"^\| Setting \|.*?(?=\n\n|\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "no settings table found"
    return match.group(0).strip()


def test_readme_table_matches_about():
    about = subprocess.run(
        [sys.executable, "-m", "target_incidentio", "--about", "--format", "markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert _settings_table(README.read_text()) == _settings_table(about), (
        "README settings table is stale: paste `target-incidentio --about --format markdown`"
    )


def test_about_lists_secrets_as_secret():
    about = subprocess.run(
        [sys.executable, "-m", "target_incidentio", "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    properties = json.loads(about)["settings"]["properties"]
    for name in ("api_key", "alert_source_token", "response_webhook_headers"):
        assert properties[name].get("secret") is True, name
