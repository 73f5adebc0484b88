"""The settings reference's table (docs/settings.md) is what `--about --format markdown` prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import about

SETTINGS_PAGE = Path(__file__).parents[2] / "docs" / "settings.md"


def _settings_table(text: str) -> str:
    match = re.search(r"^\| Setting \|.*?(?=\n\n|\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "no settings table found"
    return match.group(0).strip()


@pytest.mark.slow
def test_the_settings_page_table_matches_about():
    assert _settings_table(SETTINGS_PAGE.read_text()) == _settings_table(about("markdown")), (
        "docs/settings.md's table is stale: python scripts/sync_settings_docs.py"
    )


@pytest.mark.slow
def test_about_lists_secrets_as_secret():
    properties = json.loads(about("json"))["settings"]["properties"]
    for name in ("api_key", "alert_source_token", "response_webhook_headers"):
        assert properties[name].get("secret") is True, name
