"""The run's lists over real HTTP (a loopback server): paged reads, one read per list, hostile
answers turned into failed look-ups, configured names resolved or refused at start."""

from __future__ import annotations

import json
import typing as t

import pytest

from target_incidentio.core.errors import SettingError
from target_incidentio.core.secrets import Redactor
from target_incidentio.delivery.engine import Delivery
from target_incidentio.operations import parse_settings
from target_incidentio.payloads.names import LookupFailedError
from target_incidentio.run.directory import Directory, resolve_settings
from target_incidentio.run.lifecycle import Run

if t.TYPE_CHECKING:
    from pytest_httpserver import HTTPServer


def settings(httpserver: HTTPServer, **extra: t.Any) -> t.Any:
    return parse_settings(
        {
            "api_key": "k-directory-test",
            "base_url": httpserver.url_for("/").rstrip("/"),
            "operation": "incident",
            "max_retries": 0,
            **extra,
        }
    )


@pytest.fixture
def directory(httpserver: HTTPServer) -> t.Iterator[tuple[Directory, t.Any]]:
    parsed = settings(
        httpserver,
        custom_fields=[{"field": "team", "custom_field": "Team"}],
        role_assignments=[{"field": "lead", "role": "Lead"}],
    )
    with Delivery(parsed.delivery, on_result=lambda _result: None) as delivery:
        yield Directory.of(parsed, delivery.call), parsed


def test_pages_are_followed_and_each_list_is_read_once(
    httpserver: HTTPServer, directory: tuple[Directory, t.Any]
) -> None:
    lists, _ = directory
    path = "/v1/custom_field_options"
    httpserver.expect_ordered_request(
        path, query_string={"custom_field_id": "F", "page_size": "250"}
    ).respond_with_json(
        {
            "custom_field_options": [{"id": "O1", "value": "a"}, {"value": "no id"}],
            "pagination_meta": {"after": "O1", "page_size": 250},
        }
    )
    httpserver.expect_ordered_request(
        path, query_string={"custom_field_id": "F", "page_size": "250", "after": "O1"}
    ).respond_with_json(
        {
            "custom_field_options": [{"id": "O2", "value": "b"}],
            "pagination_meta": {"page_size": 250},
        }
    )
    first = lists.items("custom_field_options", "F")
    again = lists.items("custom_field_options", "F")
    assert [o["id"] for o in first] == ["O1", "O2"]  # the item without an id is left out
    assert again == first
    assert len(httpserver.log) == 2
    assert lists.reads == 1
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer k-directory-test"


def test_a_hostile_or_refused_answer_is_a_failed_look_up_kept_for_the_run(
    httpserver: HTTPServer, directory: tuple[Directory, t.Any]
) -> None:
    lists, _ = directory
    httpserver.expect_request("/v1/severities").respond_with_data("<html>oops</html>")
    httpserver.expect_request("/v2/incident_roles").respond_with_json(
        {"type": "forbidden", "status": 403, "errors": [{"message": "needs viewer"}]}, status=403
    )
    with pytest.raises(LookupFailedError, match="'severities' list"):
        lists.items("severities")
    with pytest.raises(LookupFailedError, match="403"):
        lists.items("incident_roles")
    with pytest.raises(LookupFailedError, match="403"):
        lists.items("incident_roles")
    assert len(httpserver.log) == 2


def test_configured_names_resolve_or_fail_the_run_naming_every_one(
    httpserver: HTTPServer, directory: tuple[Directory, t.Any]
) -> None:
    lists, parsed = directory
    httpserver.expect_request("/v2/custom_fields").respond_with_json(
        {"custom_fields": [{"id": "F1", "name": "Team", "field_type": "single_select"}]}
    )
    httpserver.expect_request("/v2/incident_roles").respond_with_json(
        {"incident_roles": [{"id": "R1", "name": "Incident Lead"}]}
    )
    with pytest.raises(SettingError) as caught:
        resolve_settings(parsed, lists)
    assert caught.value.errors == [
        (
            "Setting `role_assignments[0].role`: incident role 'Lead' is not an incident role; "
            "closest: Incident Lead; known: Incident Lead. Fix: use one of the known names (letter "
            "case is ignored), or the incident role's id."
        )
    ]
    fixed = settings(
        httpserver,
        custom_fields=[{"field": "team", "custom_field": "team"}],
        role_assignments=[{"field": "lead", "role": "incident lead"}],
    )
    assert resolve_settings(fixed, lists) == {
        "custom_fields[0].custom_field": "F1",
        "role_assignments[0].role": "R1",
    }


def test_a_field_by_id_without_kind_must_exist_at_start(httpserver: HTTPServer) -> None:
    parsed = settings(httpserver, custom_fields=[{"field": "t", "custom_field_id": "01FGONE"}])
    httpserver.expect_request("/v2/custom_fields").respond_with_json(
        {"custom_fields": [{"id": "01FTEAM", "name": "Team", "field_type": "text"}]}
    )
    with Delivery(parsed.delivery, on_result=lambda _result: None) as delivery:
        with pytest.raises(SettingError, match=r"custom_field_id`: custom field '01FGONE' is not"):
            resolve_settings(parsed, Directory.of(parsed, delivery.call))
        typed = settings(
            httpserver, custom_fields=[{"field": "t", "custom_field_id": "01FGONE", "kind": "text"}]
        )
        assert resolve_settings(typed, Directory.of(typed, delivery.call)) == {}  # nothing to read


def test_a_run_keeps_every_list_in_one_cache(httpserver: HTTPServer, tmp_path: t.Any) -> None:
    # Names (payloads/names.py) and catalog types by name (catalog/type_setup.py) read through
    # the run's one look-up object, `Run.directory`: each list once, counted in one place.
    httpserver.expect_request("/v1/severities").respond_with_json(
        {"severities": [{"id": "01SEV", "name": "Critical", "rank": 1}]}
    )
    httpserver.expect_request("/v3/catalog_types").respond_with_json({"catalog_types": []})
    log = tmp_path / "responses.jsonl"
    run = Run(settings(httpserver, response_log_path=str(log)), Redactor([]), lambda _line: None)
    run.start()
    try:
        assert [s["id"] for s in run.directory.items("severities")] == ["01SEV"]
        assert run.directory.catalog_types() == ()
        run.directory.items("severities")
        run.directory.catalog_types()
        assert run.directory.reads == 2
    finally:
        run.abort()
    assert [r.path for r, _ in httpserver.log] == ["/v1/severities", "/v3/catalog_types"]
    # Both reads are counted under the look-ups' own stream, whichever stream asked first.
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["stream"], r["url"].rsplit("/", 1)[-1]) for r in records] == [
        ("(look-ups)", "severities"),
        ("(look-ups)", "catalog_types"),
    ]
