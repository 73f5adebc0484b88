"""BATCH messages written here (gzip or plain JSON lines, as an SDK tap's `batch_config` does).

Every record of a batch file takes the path of a RECORD message. tests/e2e/test_tap_jsonl.py
does the same with the real tap-jsonl from PyPI; these need no plugin and run fast.
"""

from __future__ import annotations

import gzip
import json
import typing as t

import pytest
from support import SandboxAccount, read_jsonl, run_cli, run_in_process, schema, state

if t.TYPE_CHECKING:
    from pathlib import Path

API_KEY = "ik-batch-msg-T6w1"
TOKEN = "as-batch-msg-P0z8"
SOURCE = "01HBATCHSOURCE00000000000"
ACCOUNT = SandboxAccount(API_KEY, TOKEN, SOURCE)


def batch(
    stream: str, tmp_path: Path, rows: list[dict[str, t.Any]], *, gz: bool = True, files: int = 1
) -> dict[str, t.Any]:
    """A BATCH message whose manifest holds `rows`, split over `files` files."""
    manifest = []
    for n in range(files):
        part = rows[n::files]
        path = tmp_path / f"{stream}-{n}.json{'.gz' if gz else ''}"
        text = "".join(json.dumps(row) + "\n" for row in part).encode()
        path.write_bytes(gzip.compress(text) if gz else text)
        manifest.append(path.as_uri())
    encoding = {"format": "jsonl", "compression": "gzip" if gz else None}
    return {"type": "BATCH", "stream": stream, "encoding": encoding, "manifest": manifest}


@pytest.fixture
def sandbox():
    with ACCOUNT.sandbox() as sb:
        yield sb


def _config(url: str, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    return ACCOUNT.config(
        url.rstrip("/"),
        tmp_path,
        dead_letter_path=str(tmp_path / "dead.jsonl"),
        alert_source_rate_limit_per_minute=10**6,
        **extra,
    )


ROWS = [
    {"id": i, "title": f"row {i}", "name": f"row {i}", "_sdc_filename": "/home/me/export.jsonl"}
    for i in range(1, 6)
]
PROPS = {
    "id": {"type": "integer"},
    "title": {"type": "string"},
    "name": {"type": "string"},
    "_sdc_filename": {"type": "string"},
}


@pytest.mark.parametrize(
    ("operation", "extra", "sent_name"),
    [
        ("alert_event", {}, lambda b: b["title"]),
        ("incident", {}, lambda b: b["name"]),
        ("catalog_entry", {"catalog_type_id": "01HTYPE"}, lambda b: b["name"]),
    ],
    ids=["alert_event", "incident", "catalog_entry"],
)
@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_every_batch_record_is_one_call(
    sandbox, tmp_path, openapi_validator, operation, extra, sent_name, gz
):
    maps = {"rows": {"title": "title.upper()", "name": "name.upper()"}}
    messages = [
        schema("rows", PROPS, ["id"]),
        batch("rows", tmp_path, ROWS, gz=gz, files=2),
        state({"rows": 5}),
    ]
    config = _config(sandbox.url, tmp_path, operation=operation, stream_maps=maps, **extra)
    assert run_in_process(config, messages) == [{"rows": 5}]
    journal = sandbox.journal()
    for entry in journal:
        openapi_validator(entry["method"], sandbox.url + entry["path"], entry["body"])
        assert "_sdc_" not in json.dumps(entry["body"])
    assert sorted(sent_name(e["body"]) for e in journal) == [f"ROW {i}" for i in range(1, 6)]
    responses = read_jsonl(tmp_path / "responses.jsonl")
    assert sorted(k for r in responses for k in r["record_keys"]) == [
        f"id={i}" for i in range(1, 6)
    ]


def test_http_batch_size_rows_applies_to_batch_records(httpserver, tmp_path):
    httpserver.expect_request("/v2/bulk").respond_with_json({})
    messages = [schema("rows", PROPS, ["id"]), batch("rows", tmp_path, ROWS), state({"rows": 5})]
    config = _config(
        httpserver.url_for("/"),
        tmp_path,
        operation="http",
        api_url="/v2/bulk",
        batch_size_rows=2,
        max_concurrency=1,
    )
    assert run_in_process(config, messages) == [{"rows": 5}]
    bodies = [request.get_json() for request, _ in httpserver.log]
    assert bodies == [
        [
            {"id": 1, "title": "row 1", "name": "row 1"},
            {"id": 2, "title": "row 2", "name": "row 2"},
        ],
        [
            {"id": 3, "title": "row 3", "name": "row 3"},
            {"id": 4, "title": "row 4", "name": "row 4"},
        ],
        [{"id": 5, "title": "row 5", "name": "row 5"}],
    ]


@pytest.mark.slow
def test_an_invalid_batch_record_goes_to_dead_letters_and_the_rest_is_sent(sandbox, tmp_path):
    rows = [*ROWS[:2], {"id": "three", "name": "row 3"}, *ROWS[3:]]
    messages = [schema("rows", PROPS, ["id"]), batch("rows", tmp_path, rows), state({"rows": 5})]
    config = _config(sandbox.url, tmp_path, operation="incident", on_error="continue")
    run = run_cli(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.states == [{"rows": 5}]
    assert sorted(i["name"] for i in sandbox.state()["incidents"]) == [
        "row 1",
        "row 2",
        "row 4",
        "row 5",
    ]
    (letter,) = read_jsonl(tmp_path / "dead.jsonl")
    assert letter["key"] == "id='three'"
    assert letter["error"]["errors"][0]["field"] == "id"
    assert "Summary 'rows': 4 records delivered, 1 failed" in run.stderr


@pytest.mark.slow
def test_a_batch_record_that_fails_stops_the_state_with_on_error_fail(httpserver, tmp_path):
    """The state after a batch is held until every record of it is confirmed."""
    httpserver.expect_request("/v2/items/1").respond_with_json({})
    httpserver.expect_request("/v2/items/2").respond_with_json({"error": "no"}, status=422)
    for i in range(3, 6):
        httpserver.expect_request(f"/v2/items/{i}").respond_with_json({})
    messages = [schema("rows", PROPS, ["id"]), batch("rows", tmp_path, ROWS), state({"rows": 5})]
    config = _config(
        httpserver.url_for("/"),
        tmp_path,
        operation="http",
        api_url="/v2/items/{id}",
        max_concurrency=1,
        max_retries=0,
    )
    run = run_cli(config, messages, tmp_path)
    assert run.returncode != 0
    assert run.states == []
    assert "stream 'rows', record id=2" in run.stderr
    assert [request.path for request, _ in httpserver.log] == ["/v2/items/1", "/v2/items/2"]


@pytest.mark.slow
def test_a_batch_in_another_format_is_refused_naming_the_stream(sandbox, tmp_path):
    message = batch("rows", tmp_path, ROWS)
    message["encoding"] = {"format": "parquet"}
    run = run_cli(
        _config(sandbox.url, tmp_path, operation="incident"),
        [schema("rows", PROPS, ["id"]), message],
        tmp_path,
    )
    assert run.returncode != 0
    assert "stream 'rows'" in run.stderr
    assert "parquet" in run.stderr
    assert '{"format": "jsonl"}' in run.stderr
    assert sandbox.journal() == []


def test_batch_config_storage_says_where_the_files_are(httpserver, tmp_path):
    # The SDK's `batch_config.storage` (a capability --about lists) overrides each file's
    # directory, as the SDK's own sinks read it: the manifest names a place that does not exist.
    httpserver.expect_request("/v2/items").respond_with_json({})
    message = batch("rows", tmp_path, ROWS[:2], gz=False)
    message["manifest"] = [
        f"file:///nowhere/{url.rsplit('/', 1)[1]}" for url in message["manifest"]
    ]
    storage = {"root": tmp_path.as_uri(), "prefix": ""}
    config = _config(
        httpserver.url_for("/"),
        tmp_path,
        operation="http",
        api_url="/v2/items",
        batch_config={"encoding": {"format": "jsonl"}, "storage": storage},
    )
    assert run_in_process(config, [schema("rows", PROPS, ["id"]), message, state({"r": 1})]) == [
        {"r": 1}
    ]
    assert sorted(request.get_json()["id"] for request, _ in httpserver.log) == [1, 2]
