"""Issue 28 item 1: a stream the tap did not finish deletes nothing and resolves nothing.

The inputs are the bytes singer-sdk taps send (see docs/tap-signals.md): a tap that
raises mid-stream stops after a RECORD; an INCREMENTAL stream ends with a STATE whose bookmark
holds no in-progress markers; a SIGTERMed tap writes a STATE with its markers and exits 0.
"""

from __future__ import annotations

import typing as t

import pytest
import requests
from reliability_helpers import ALERT_TOKEN, API_KEY, SOURCE
from support import record, run_cli, schema, state

from incidentio_sandbox import Sandbox

if t.TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow

TYPE = "01HCUTSERVICETYPE000000000"
STREAM = "services"
ENTRIES = 10
CUT = 6
MARKERS = {"starting_replication_value": None, "replication_key_signpost": "2026-12-07"}


def finished(stream: str) -> dict[str, t.Any]:
    """An SDK INCREMENTAL stream's last STATE: the bookmark without in-progress markers."""
    return state({"bookmarks": {stream: {"replication_key": "at", "replication_key_value": "9"}}})


def in_progress(stream: str) -> dict[str, t.Any]:
    """A mid-stream SDK STATE (every 10,000 rows, or the SIGTERM handler's)."""
    bookmark = {**MARKERS, "progress_markers": {"replication_key_value": "5"}}
    return state({"bookmarks": {stream: bookmark}})


def services(ids: t.Iterable[int]) -> list[dict[str, t.Any]]:
    rows = [{"id": f"svc-{i}", "name": f"Service {i}"} for i in ids]
    return [
        schema(STREAM, {"id": {"type": "string"}, "name": {"type": "string"}}, ["id"]),
        *(record(STREAM, r) for r in rows),
    ]


def catalog_config(sb: Sandbox, tmp_path: Path, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "api_key": API_KEY,
        "base_url": sb.url,
        "operation": "catalog_entry",
        "catalog_type_id": TYPE,
        "catalog_mode": "sync",
        "rate_limit_per_minute": 10**7,
        "progress_interval": 60,
        **extra,
    }


@pytest.fixture
def catalog(tmp_path: Path) -> t.Iterator[Sandbox]:
    """A type holding the stream's 10 entries, made by a whole sync run."""
    seed = {"catalog_types": [{"id": TYPE, "name": "Service", "attributes": []}]}
    with Sandbox(api_key=API_KEY, seed=seed) as sandbox:
        yield _filled(sandbox, tmp_path)


def _filled(sandbox: Sandbox, tmp_path: Path) -> Sandbox:
    run = run_cli(
        catalog_config(sandbox, tmp_path), [*services(range(ENTRIES)), finished(STREAM)], tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(entries(sandbox)) == ENTRIES
    return sandbox


def entries(sb: Sandbox) -> set[str]:
    return {e["external_id"] for e in sb.state()["catalog_entries"] if e["catalog_type_id"] == TYPE}


def deletions(sb: Sandbox) -> list[dict[str, t.Any]]:
    return [e for e in sb.journal() if e["method"] == "DELETE"]


def test_a_finished_sdk_stream_still_deletes_what_left_it(catalog, tmp_path):
    """The control: the signal present, sync deletes as it always did."""
    run = run_cli(
        catalog_config(catalog, tmp_path), [*services(range(CUT)), finished(STREAM)], tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert entries(catalog) == {f"svc-{i}" for i in range(CUT)}


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param([], id="tap-raised-no-state"),
        pytest.param([in_progress(STREAM)], id="tap-sigtermed-state-with-markers"),
        pytest.param([state({"bookmarks": {STREAM: {}}})], id="full-table-state"),
        pytest.param(
            [{"type": "ACTIVATE_VERSION", "stream": STREAM, "version": 7}], id="version-first"
        ),
    ],
)
def test_a_cut_catalog_stream_deletes_nothing(catalog, tmp_path, tail):
    messages = services(range(CUT))
    if tail and tail[0]["type"] == "ACTIVATE_VERSION":
        messages = [messages[0], *tail, *messages[1:]]  # an SDK tap's, before the rows
    else:
        messages += tail
    run = run_cli(catalog_config(catalog, tmp_path), messages, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert not deletions(catalog)
    assert len(entries(catalog)) == ENTRIES
    assert "snapshot_complete" in run.stderr  # the warning names the setting


def test_end_of_input_is_trusted_only_when_the_user_says_so(catalog, tmp_path):
    config = catalog_config(catalog, tmp_path, snapshot_complete="end_of_input")
    run = run_cli(config, services(range(CUT)), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert entries(catalog) == {f"svc-{i}" for i in range(CUT)}


def test_a_cut_alert_snapshot_resolves_nothing(sandbox, tmp_path):
    keys = [f"chk-{i}" for i in range(10)]
    with requests.Session() as http:
        for key in keys:
            reply = http.post(
                f"{sandbox.url}/v2/alert_events/http/{SOURCE}",
                json={"title": key, "status": "firing", "deduplication_key": key},
                headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
                timeout=10,
            )
            assert reply.status_code == 202
    config = {
        "api_key": API_KEY,
        "alert_source_token": ALERT_TOKEN,
        "alert_source_config_id": SOURCE,
        "base_url": sandbox.url,
        "resolve_missing_alerts": True,
        "alert_source_rate_limit_per_minute": 60_000,
        "stream_maps": {"checks": {"title": "check_id", "deduplication_key": "check_id"}},
        "progress_interval": 60,
    }
    messages = [
        schema("checks", {"check_id": {"type": "string"}}, ["check_id"]),
        *(record("checks", {"check_id": key}) for key in keys[:6]),
    ]
    run = run_cli(config, messages, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    statuses = {a["deduplication_key"]: a["status"] for a in sandbox.state()["alerts"]}
    assert set(statuses.values()) == {"firing"}, statuses
