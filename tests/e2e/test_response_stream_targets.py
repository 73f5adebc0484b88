"""`response_log_format: singer` loaded by real Singer targets from PyPI.

target-jsonl reads our response stream as any tap's; target-duckdb (a SQL target) makes a
table of it, which it can only do whole if every column is typed (an untyped one is
dropped) and the stream has a key (`call_id`, so a reload upserts instead of duplicating).
"""

from __future__ import annotations

import json
import subprocess
import typing as t

import pytest
from support import read_jsonl, record, run_cli, schema
from werkzeug import Response

if t.TYPE_CHECKING:
    from pathlib import Path

    from plugins import Plugin

pytestmark = pytest.mark.slow

API_KEY = "ik-e2e-responses-Hs30"
STREAM = "incidentio_responses"


@pytest.fixture
def response_log(httpserver, tmp_path) -> Path:
    """A singer response log with each kind of outcome: one call per record, one invalid."""
    httpserver.expect_request("/v2/items/1").respond_with_json(
        {"incident": {"id": "01HINC1", "reference": "INC-1"}}
    )
    httpserver.expect_request("/v2/items/2").respond_with_json(
        {
            "type": "validation_error",
            "status": 422,
            "request_id": "req-2",
            "errors": [{"code": "invalid", "message": "bad", "source": {"field": "title"}}],
        },
        status=422,
    )
    httpserver.expect_request("/v2/items/3").respond_with_response(
        Response("<html>bad gateway</html>", status=502, content_type="text/html")
    )
    httpserver.expect_request("/v2/items/4").respond_with_json(["a", "list"])
    path = tmp_path / "responses.singer"
    config = {
        "api_key": API_KEY,
        "base_url": httpserver.url_for("/").rstrip("/"),
        "operation": "http",
        "api_url": "/v2/items/{id}",
        "on_error": "continue",
        "max_retries": 0,
        "max_concurrency": 1,
        "progress_interval": 60,
        "response_log_path": str(path),
        "response_log_format": "singer",
    }
    messages = [
        schema("items", {"id": {}, "title": {"type": "string"}}, []),
        *(record("items", {"id": i, "title": f"item {i}"}) for i in range(1, 5)),
        record("items", {"title": "no id, so no URL"}),
    ]
    run = run_cli(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    return path


def our_records(path: Path) -> dict[str, dict[str, t.Any]]:
    """The response records we wrote, by call id."""
    messages = read_jsonl(path)
    assert messages[0]["type"] == "SCHEMA"
    assert messages[0]["key_properties"] == ["call_id"]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len(records) == 5
    return {r["call_id"]: r for r in records}


def test_target_jsonl_reads_our_response_stream(target_jsonl, response_log, tmp_path):
    out = tmp_path / "jsonl-out"
    out.mkdir()
    target_jsonl.run(
        {"destination_path": str(out), "do_timestamp_file": False},
        tmp_path,
        stdin=response_log.read_text(),
    )
    loaded = read_jsonl(out / f"{STREAM}.jsonl")
    assert {r["call_id"]: r for r in loaded} == our_records(response_log)
    assert API_KEY not in (out / f"{STREAM}.jsonl").read_text()


DUCKDB_QUERY = """
import json, sys, duckdb
db = duckdb.connect(sys.argv[1], read_only=True)
columns = {name: kind for name, kind, *_ in db.execute("DESCRIBE main.%s").fetchall()}
cursor = db.execute("SELECT * FROM main.%s")
names = [d[0] for d in cursor.description]
rows = [dict(zip(names, row)) for row in cursor.fetchall()]
print(json.dumps({"columns": columns, "rows": rows}, default=str))
"""


def load_into_duckdb(target: Plugin, log_text: str, tmp_path: Path) -> dict[str, t.Any]:
    """Pipe `log_text` into target-duckdb; the table it made: column types and rows."""
    database = tmp_path / "responses.duckdb"
    target.run({"path": str(database), "default_target_schema": "main"}, tmp_path, stdin=log_text)
    query = subprocess.run(
        [str(target.python), "-c", DUCKDB_QUERY % (STREAM, STREAM), str(database)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return t.cast("dict[str, t.Any]", json.loads(query.stdout))


def test_target_duckdb_loads_every_call_with_typed_columns(target_duckdb, response_log, tmp_path):
    ours = our_records(response_log)
    table = load_into_duckdb(target_duckdb, response_log.read_text(), tmp_path)

    columns = table["columns"]
    assert set(columns) == set(next(iter(ours.values())))  # no column dropped
    assert columns["response"] == "JSON"
    assert columns["response_text"] == "VARCHAR"
    assert columns["status_code"] in {"BIGINT", "HUGEINT", "INTEGER"}
    assert columns["sent_at"] == "TIMESTAMP"

    rows = {row["call_id"]: row for row in table["rows"]}
    assert set(rows) == set(ours)  # every call, and the invalid record, present once
    by_status = {row["status"]: row for row in rows.values()}
    assert set(by_status) == {"delivered", "rejected", "failed", "invalid"}
    delivered = next(r for r in rows.values() if r["resource_id"] == "01HINC1")
    assert json.loads(delivered["response"]) == {
        "incident": {"id": "01HINC1", "reference": "INC-1"}
    }
    assert json.loads(by_status["rejected"]["error"])["request_id"] == "req-2"
    assert by_status["failed"]["response_text"] == "<html>bad gateway</html>"
    assert by_status["invalid"]["url"] is None
    assert any(r["response_text"] == '["a", "list"]' for r in rows.values())

    # A reload of the same log upserts by call_id: still one row per call.
    again = load_into_duckdb(target_duckdb, response_log.read_text(), tmp_path)
    assert len(again["rows"]) == len(ours)


def test_target_duckdb_drops_an_untyped_response_column(target_duckdb, response_log, tmp_path):
    """Why `response` is typed: with the schema it had before, the column never arrives."""
    lines = response_log.read_text().splitlines()
    old = json.loads(lines[0])
    old["schema"]["properties"]["response"] = {}
    old["schema"]["properties"].pop("response_text")
    text = "\n".join([json.dumps(old), *lines[1:]]) + "\n"
    table = load_into_duckdb(target_duckdb, text, tmp_path)
    assert "response" not in table["columns"]
    assert "status" in table["columns"]
