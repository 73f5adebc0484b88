"""Hostile and careless input: every record is accounted for, named, and STATE goes on."""

from __future__ import annotations

import io
import json
import logging
import stat
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from hostile_server import HostileServer, answer
from reliability_helpers import (
    API_KEY,
    HOOK_TOKEN,
    STREAM,
    TICKET_SCHEMA,
    base_config,
    reported,
    run_inline,
    tap,
    ticket,
)
from support import read_jsonl, record, schema, singer_lines, state

from target_incidentio.core.secrets import Redactor
from target_incidentio.target import TargetIncidentIO

FRAGMENTS = (API_KEY[:12], API_KEY[-12:], HOOK_TOKEN[:12])


def _http(url, tmp_path, **extra):
    settings = {"max_retries": 0, **extra}
    return base_config(url, tmp_path, operation="http", api_url="/v2/things", **settings)


def _nested(depth):
    value: object = "bottom"
    for _ in range(depth):
        value = {"in": value}
    return value


# -- masking comes before any cut ---------------------------------------------------------------


def test_an_error_echoing_the_key_late_in_its_body_leaks_no_fragment(tmp_path, outputs, caplog):
    # The key starts at character 477: a cut at 500 before masking would keep 23 of its 27.
    echoed = b"x" * 470 + b"Bearer " + API_KEY.encode() + b" " + b"y" * 5000
    with (
        HostileServer(answer(400, echoed, {"Content-Type": "text/plain"})) as api,
        HostileServer(answer(200)) as hook,
    ):
        config = _http(api.url, tmp_path, response_webhook_url=f"{hook.url}/hook")
        run_inline(config, tap([1]), outputs)
    texts = [
        caplog.text,
        (tmp_path / "dead.jsonl").read_text(),
        (tmp_path / "responses.jsonl").read_text(),
        *(seen.body.decode() for seen in hook.seen),
    ]
    assert len(hook.seen) == 1
    for text in texts:
        assert "***" in text
        for fragment in FRAGMENTS:
            assert fragment not in text


def test_a_secret_is_masked_in_its_json_escaped_forms_too():
    secret = 'pa"ss\\wörd/1'
    redact = Redactor([secret])
    for form in (json.dumps(secret), json.dumps(secret, ensure_ascii=False), secret):
        assert redact(f"before {form} after") in ('before "***" after', "before *** after")


# -- files holding records are private -------------------------------------------------------------


def test_files_holding_records_are_created_private(tmp_path, outputs):
    folder = tmp_path / "new" / "out"
    existing = tmp_path / "existing.jsonl"
    existing.write_text("")
    existing.chmod(0o644)
    with HostileServer(answer(422)) as api:
        config = _http(
            api.url,
            tmp_path,
            dead_letter_path=str(folder / "dead.jsonl"),
            response_log_path=str(existing),
        )
        run_inline(config, tap([1]), outputs)
    assert read_jsonl(folder / "dead.jsonl")
    assert stat.S_IMODE((folder / "dead.jsonl").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644  # the user's own choice stays
    assert read_jsonl(existing)


# -- bad records: each is that record's failure, and the run goes on -------------------------


def _bad_records_tap(extra_bad=()):
    yield schema(STREAM, TICKET_SCHEMA, ["ticket_id"])
    yield record(STREAM, ticket(1))
    yield {"type": "RECORD", "stream": STREAM, "record": None}
    yield record(STREAM, ticket(3, summary="a\ud800b"))
    yield record(STREAM, ticket(4, deep=_nested(500)))
    yield record(STREAM, ticket(5, score=float("nan")))
    yield record(STREAM, ticket(6, score=float("inf")))
    yield from extra_bad
    yield record(STREAM, ticket(9))
    yield state({"bookmarks": {STREAM: {"ticket_id": 9}}})


def test_bad_records_are_each_their_own_failure_and_state_goes_on(tmp_path, outputs, caplog):
    caplog.set_level(logging.INFO)
    with HostileServer(answer(200)) as api:
        config = _http(api.url, tmp_path)
        states, error = run_inline(config, _bad_records_tap(), outputs)
        sent = sorted(json.loads(seen.body)["ticket_id"] for seen in api.seen)
    assert error is None
    assert sent == [1, 9]
    assert states[-1] == {"bookmarks": {STREAM: {"ticket_id": 9}}}
    dead = read_jsonl(tmp_path / "dead.jsonl")
    assert [d["key"] for d in dead] == [
        "(no data)",
        "ticket_id=3",
        "ticket_id=4",
        "ticket_id=5",
        "ticket_id=6",
    ]
    messages = [d["error"]["message"] for d in dead]
    assert "not an object" in messages[0]
    assert "field 'summary'" in messages[1]
    assert "not valid Unicode" in messages[1]
    assert "nested more than" in messages[2]
    assert "NaN" in messages[3]
    assert "Infinity" in messages[4]
    assert all(f"stream '{STREAM}'" in m for m in messages)
    assert "2 records delivered, 5 failed" in caplog.text
    assert "Traceback" not in caplog.text


def test_a_stream_map_failing_for_one_record_is_that_records_failure(tmp_path, outputs, caplog):
    maps = {STREAM: {"title": "'check ' + summary"}}
    with HostileServer(answer(200)) as api:
        config = _http(api.url, tmp_path, stream_maps=maps)
        rows = [ticket(1, summary="a"), ticket(2, summary=None), ticket(3, summary="c")]
        messages = [
            schema(STREAM, TICKET_SCHEMA, ["ticket_id"]),
            *(record(STREAM, row) for row in rows),
            state({"at": 3}),
        ]
        states, error = run_inline(config, messages, outputs)
        sent = sorted(json.loads(seen.body)["title"] for seen in api.seen)
    assert error is None
    assert sent == ["check a", "check c"]
    assert states[-1] == {"at": 3}
    (dead,) = read_jsonl(tmp_path / "dead.jsonl")
    assert dead["key"] == "ticket_id=2"
    assert "stream map expression failed" in dead["error"]["message"]

    # Under `on_error: fail` the run stops there, naming stream and record.
    with HostileServer(answer(200)) as api:
        failing = _http(api.url, tmp_path, stream_maps=maps, on_error="fail")
        states, error = run_inline(failing, messages, outputs)
    assert error is not None
    assert f"stream '{STREAM}', record ticket_id=2" in str(error)
    assert states == []


def test_blank_lines_are_skipped(tmp_path, outputs):
    lines = singer_lines(tap([1, 2])).replace("\n", "\n\n   \n") + "\n \t\n"
    out = io.StringIO()
    with HostileServer(answer(200)) as api:
        config = _http(api.url, tmp_path)
        with (
            redirect_stdout(out),
            TargetIncidentIO(config=config, parse_env_config=False) as target,
        ):
            target.listen(io.StringIO(lines))
    outputs.add(out.getvalue())
    assert json.loads(out.getvalue().splitlines()[-1]) == {"bookmarks": {STREAM: {"ticket_id": 2}}}
    assert reported(tmp_path).delivered == {"ticket_id=1", "ticket_id=2"}


@pytest.mark.slow
def test_a_raw_byte_that_is_not_utf8_fails_only_its_record(tmp_path, outputs):
    lines = singer_lines(tap([1, 2, 3])).replace('"ticket-2"', '"ticket-2 \udcff"')
    data = lines.encode("utf-8", errors="surrogateescape")  # a raw 0xFF byte on the wire
    assert b"\xff" in data
    with HostileServer(answer(200)) as api:
        config = _http(api.url, tmp_path)
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        proc = subprocess.run(
            [sys.executable, "-m", "target_incidentio", "--config", str(path)],
            input=data,
            capture_output=True,
            timeout=60,
            check=False,
        )
    stderr = proc.stderr.decode(errors="replace")
    outputs.add(stderr)
    assert proc.returncode == 0, stderr[-2000:]
    assert json.loads(proc.stdout.decode().splitlines()[-1])["bookmarks"][STREAM]["ticket_id"] == 3
    (dead,) = read_jsonl(tmp_path / "dead.jsonl")
    assert dead["key"] == "ticket_id=2"
    assert "not valid Unicode" in dead["error"]["message"]


# -- bad input that stops the run: one line naming what and where ----------------------------------


def test_a_batch_manifest_of_the_wrong_type_is_named(tmp_path, outputs):
    with HostileServer(answer(200)) as api:
        config = _http(api.url, tmp_path)
        messages = [
            schema(STREAM, TICKET_SCHEMA, ["ticket_id"]),
            {"type": "BATCH", "stream": STREAM, "encoding": {"format": "jsonl"}, "manifest": "x"},
        ]
        _, error = run_inline(config, messages, outputs)
    assert error is not None
    assert f"stream '{STREAM}'" in str(error)
    assert "`manifest` must be a list of file URLs, got str" in str(error)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_stops_the_run_naming_the_setting(tmp_path, outputs):
    with HostileServer(answer(200)) as api:
        config = _http(api.url, tmp_path, response_log_path="/dev/full")
        states, error = run_inline(config, tap([1, 2]), outputs)
    assert error is not None
    assert "Setting `response_log_path`: cannot write /dev/full: No space left" in str(error)
    assert states == []  # nothing confirmed that could not be recorded


def test_an_unwritable_dead_letter_path_is_named_at_start(tmp_path, outputs):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with HostileServer(answer(200)) as api:
        config = _http(api.url, tmp_path, dead_letter_path=str(blocker / "dead.jsonl"))
        _, error = run_inline(config, tap([1]), outputs)
        assert api.seen == []
    assert error is not None
    assert f"Setting `dead_letter_path`: cannot write {blocker / 'dead.jsonl'}" in str(error)


def test_bad_records_of_a_batch_file_take_the_same_gate(tmp_path, outputs):
    rows = [ticket(1), None, ticket(3, score=float("nan")), ticket(4)]
    path = tmp_path / "batch.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    manifest = {"format": "jsonl", "compression": None}
    messages = [
        schema(STREAM, TICKET_SCHEMA, ["ticket_id"]),
        {"type": "BATCH", "stream": STREAM, "encoding": manifest, "manifest": [path.as_uri()]},
        state({"at": 4}),
    ]
    with HostileServer(answer(200)) as api:
        states, error = run_inline(_http(api.url, tmp_path), messages, outputs)
        sent = sorted(json.loads(seen.body)["ticket_id"] for seen in api.seen)
    assert error is None
    assert sent == [1, 4]
    assert states[-1] == {"at": 4}
    assert [d["key"] for d in read_jsonl(tmp_path / "dead.jsonl")] == ["(no data)", "ticket_id=3"]
