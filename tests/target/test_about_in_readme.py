"""The README's settings table is what `--about --format markdown` prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import about

README = Path(__file__).parents[2] / "README.md"


def _settings_table(text: str) -> str:
    match = re.search(r"^\| Setting \|.*?(?=\n\n|\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "no settings table found"
    return match.group(0).strip()


@pytest.mark.slow
def test_readme_table_matches_about():
    assert _settings_table(README.read_text()) == _settings_table(about("markdown")), (
        "README settings table is stale: paste `target-incidentio --about --format markdown`"
    )


@pytest.mark.slow
def test_about_lists_secrets_as_secret():
    properties = json.loads(about("json"))["settings"]["properties"]
    for name in ("api_key", "alert_source_token", "response_webhook_headers"):
        assert properties[name].get("secret") is True, name
