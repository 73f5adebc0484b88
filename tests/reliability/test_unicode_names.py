"""Issue 28 item 3: names compare under Unicode NFC, surrounding whitespace ignored, both sides.

'Café' typed in NFD (as macOS file names and some exports give it) is the option 'Café'; an
option stored as 'Ops ' is 'Ops'; `create_missing_options` never creates a look-alike.
"""

from __future__ import annotations

import typing as t
import unicodedata

import pytest
from reliability_helpers import API_KEY
from support import read_jsonl, record, run_cli, schema, state

from incidentio_sandbox import Sandbox, Seed

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow

CAFE = "Caf\u00e9"  # NFC
CAFE_NFD = unicodedata.normalize("NFD", CAFE)
SEED = Seed.from_json(
    {
        "custom_fields": [
            {
                "id": "01FTEAM",
                "name": "Team",
                "field_type": "single_select",
                "options": [
                    {"id": "01OCAFE", "value": CAFE},
                    {"id": "01OOPS", "value": "Ops "},
                ],
            }
        ]
    }
)
TICKETS = schema(
    "tickets", {"ticket_id": {"type": "integer"}, "team": {"type": "string"}}, ["ticket_id"]
)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(api_key=API_KEY, seed=SEED) as sb:
        yield sb


def config(sb: Sandbox, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "api_key": API_KEY,
        "base_url": sb.url,
        "operation": "incident",
        "custom_fields": [{"field": "team", "custom_field": "Team"}],
        "stream_maps": {"tickets": {"name": "'Ticket ' + str(ticket_id)"}},
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "dead_letter_path": str(tmp_path / "dead.jsonl"),
        "on_error": "continue",
        "progress_interval": 60,
        "max_retry_wait": 0.05,
        **extra,
    }


@pytest.mark.parametrize("create", [False, True], ids=["match", "create_missing_options"])
def test_look_alike_names_are_the_same_option(sandbox, tmp_path, create):
    assert CAFE_NFD != CAFE
    teams = [CAFE_NFD, f" {CAFE} ", "Ops", " Ops  ", unicodedata.normalize("NFD", "Ops ")]
    messages = [
        TICKETS,
        *(record("tickets", {"ticket_id": n, "team": team}) for n, team in enumerate(teams)),
        state({"tickets": len(teams)}),
    ]
    run = run_cli(config(sandbox, tmp_path, create_missing_options=create), messages, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert not read_jsonl(tmp_path / "dead.jsonl")
    assert sandbox.state()["created_options"] == []
    posts = [e["body"] for e in sandbox.journal() if e["endpoint"] == "create_incident"]
    sent = {p["name"]: p["custom_field_entries"][0]["values"] for p in posts}
    assert sent == {
        "Ticket 0": [{"value_option_id": "01OCAFE"}],
        "Ticket 1": [{"value_option_id": "01OCAFE"}],
        "Ticket 2": [{"value_option_id": "01OOPS"}],
        "Ticket 3": [{"value_option_id": "01OOPS"}],
        "Ticket 4": [{"value_option_id": "01OOPS"}],
    }
