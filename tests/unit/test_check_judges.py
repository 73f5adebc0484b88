"""The pure parts of `--check`: judges read incident.io's answers as the spec shapes them, the
look-ups are GETs on the key's own rate bucket, and docs/production.md's roles table is the
operations'."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from target_incidentio.check.alert_source_judges import judge_heartbeat_source
from target_incidentio.check.findings import Answer
from target_incidentio.check.judges import (
    UNANSWERED_FIXES,
    judge_base_url,
    judge_catalog_type,
    judge_custom_field,
    judge_identity,
    judge_named_catalog_type,
)
from target_incidentio.check.runner import RUN_LEVEL_CHECKS
from target_incidentio.core.custom_fields import KINDS, kind_of
from target_incidentio.core.secrets import Secret
from target_incidentio.docs import roles_table
from target_incidentio.operation_entry import RUN_CHECKS
from target_incidentio.operations import OPERATIONS, parse_settings
from target_incidentio.payloads.base import BuildContext
from target_incidentio.run.directory import lookup_request
from target_incidentio.settings import CUSTOM_FIELD_KINDS, CustomFieldMap, DeliverySettings

ROOT = Path(__file__).parents[2]
SPEC = ROOT / "spec" / "incidentio-openapi.json"


def _spec() -> dict:
    return json.loads(SPEC.read_text(encoding="utf-8"))


def _example(path: str) -> dict:
    """The spec's own example answer of `GET path`."""
    return _spec()["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
        "example"
    ]


def _ok(body: dict) -> Answer:
    return Answer(200, ok=True, body=body, reason="GET: delivered (HTTP 200 OK)")


def test_every_field_type_of_the_spec_has_a_kind_and_every_kind_a_field_type():
    field_types = set(
        _spec()["components"]["schemas"]["CustomFieldV2"]["properties"]["field_type"]["enum"]
    )
    assert set().union(*(kind.field_types for kind in KINDS.values())) == field_types
    assert set(KINDS) == set(CUSTOM_FIELD_KINDS)
    # Each kind's value goes under a key the spec's custom field value payload has.
    payload = _spec()["components"]["schemas"]["CustomFieldValuePayloadV2"]["properties"]
    assert {kind.value_key for kind in KINDS.values()} <= set(payload)


@pytest.mark.parametrize(
    ("field_type", "catalog_type_id", "kind"),
    [
        ("text", None, "text"),
        ("numeric", None, "numeric"),
        ("link", None, "link"),
        ("single_select", None, "option"),
        ("multi_select", None, "option"),
        ("single_select", "01TYPE", "catalog_entry"),
        ("multi_select", "01TYPE", "catalog_entry"),
        ("timestamp", None, None),  # a type added later: not judged
    ],
)
def test_kind_of_a_custom_field(field_type, catalog_type_id, kind):
    field = {"field_type": field_type}
    if catalog_type_id:
        field["catalog_type_id"] = catalog_type_id
    assert kind_of(field) == kind


def test_the_spec_example_custom_field_is_a_catalog_field():
    # The spec's example is a single select naming a catalog type: an entry, not an option.
    answer = _ok(_example("/v2/custom_fields/{id}"))
    field_id = answer.body["custom_field"]["id"]
    as_option = list(judge_custom_field(answer, "", 0, CustomFieldMap("team", field_id, "option")))
    assert [f.status for f in as_option] == ["failed"]
    assert 'set "kind": "catalog_entry"' in as_option[0].text
    fits = CustomFieldMap("team", field_id, "catalog_entry")
    assert [f.status for f in judge_custom_field(answer, "", 0, fits)] == ["passed"]


def test_the_spec_example_identity_holds_catalog_editor_only_for_its_teams():
    answer = _ok(_example("/v1/identity"))
    needs = {"catalog_editor": ["`catalog_entry` at stream `services`"]}
    found = list(judge_identity(answer, needs))
    assert [f.status for f in found] == ["note", "passed"]
    assert "`catalog_editor` only as a team role (teams: Platform)" in found[0].text

    needs["incident_creator"] = ["`incident` at the top level"]
    found = list(judge_identity(answer, needs))
    assert found[-1].status == "failed"
    assert "lacks `incident_creator` (needed by `incident` at the top level)" in found[-1].text


def test_an_identity_answer_that_is_not_incident_ios_fails():
    found = list(judge_identity(_ok({"hello": "world"}), {}))
    assert [f.status for f in found] == ["failed"]
    assert "no identity in the answer" in found[0].text


def test_the_spec_example_catalog_type_lists_its_attributes():
    answer = _ok(_example("/v3/catalog_types/{id}"))
    settings = parse_settings(
        {
            "api_key": "k" * 12,
            "operation": "catalog_entry",
            "catalog_type_id": "01FCNDV6P870EA6S7TK1DSYDG0",
            "catalog_attributes": {"tier": "01GW2G3V0S59R238FAHPDS1R66", "team": "01OTHER"},
        }
    )
    found = list(judge_catalog_type(answer, "", settings.defaults))
    assert [f.status for f in found] == ["passed", "failed"]
    assert "`team` → `01OTHER` is not an attribute" in found[1].text
    assert "tier = 01GW2G3V0S59R238FAHPDS1R66" in found[1].text


def test_a_look_up_is_a_get_on_the_keys_own_rate_bucket():
    settings = parse_settings(
        {
            "api_key": "k" * 12,
            "operation": "incident",
            "rate_limit_per_minute": 600,
            "request_headers": "X-Team:payments",
            "streams": {"s": {"operation": "catalog_entry", "rate_limit_per_minute": 60}},
        }
    )
    level = settings.for_stream("s")
    request = lookup_request(settings, level, "/v3/catalog_types/a%2Fb", stream="s")
    sink_ctx = BuildContext("s", (), level, key_rate_per_minute=600)
    assert request.method == "GET"
    assert request.body is None
    assert request.url == "https://api.incident.io/v3/catalog_types/a%2Fb"
    assert request.rate_scopes == sink_ctx.api_key_scopes()
    assert [scope.per_minute for scope in request.rate_scopes] == [600, 60]
    assert request.headers == {"X-Team": "payments"}
    assert request.credential == settings.defaults.api_key


def _roles_table(text: str) -> str:
    match = re.search(
        r"^\| Operation \| Credential \|.*?(?=\n\n|\Z)", text, flags=re.MULTILINE | re.DOTALL
    )
    assert match, "no roles table found"
    return match.group(0)


def test_the_production_page_roles_table_is_the_operation_tables():
    page = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    assert _roles_table(page) == roles_table(), (
        "docs/production.md's roles table is stale: python scripts/sync_settings_docs.py"
    )
    assert "| `catalog_entry` | `api_key` | `catalog_editor` |" in roles_table()
    assert "| `http` | `api_key` | those of the endpoint called |" in roles_table()
    rows = roles_table().splitlines()[2:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == [
        f"`{name}`" for name in OPERATIONS
    ]


def _named(**settings: object) -> list[str]:
    """`--check`'s lines for a stream `services` whose type is named, against the spec's example."""
    config = {"api_key": "k", "operation": "catalog_entry", **settings}
    level = parse_settings(config).defaults
    answer = _ok(_example("/v3/catalog_types"))  # one type: Kubernetes Cluster, attribute tier
    return [f.line() for f in judge_named_catalog_type(answer, "streams.services.", level)]


def test_a_named_type_of_the_spec_example_is_found_by_name_or_type_name():
    by_name = _named(catalog_type="Kubernetes Cluster", catalog_attributes={"tier": "tier"})
    assert "exists (`01FCNDV6P870EA6S7TK1DSYDG0`), not created by target-incidentio" in by_name[0]
    assert by_name[1].startswith("check passed: streams.services.catalog_attributes: every")
    # A type_name's brackets are not a stream glob's.
    by_type_name = _named(catalog_type='Custom["BackstageGroup"]')
    assert by_type_name[0].startswith("check passed: streams.services.catalog_type: catalog type")


def test_a_named_type_that_is_missing_passes_only_when_the_stream_manages_it():
    (missing,) = _named(catalog_type="Service")
    assert missing.startswith("check FAILED: streams.services.catalog_type: catalog type Service")
    managed = _named(catalog_type="Service", catalog_manage_type=True)
    assert managed[0].startswith("check passed")
    assert "the first run creates it" in managed[0]


def test_a_mapped_field_a_type_made_elsewhere_lacks_fails_with_its_attributes():
    lines = _named(catalog_type="Kubernetes Cluster", catalog_attributes={"zone": "Zone"})
    assert (
        "check FAILED: streams.services.catalog_attributes: fields zone have no attribute"
        in (lines[1])
    )
    assert "tier = 01GW2G3V0S59R238FAHPDS1R66" in lines[1]


@pytest.mark.parametrize("cause", sorted(UNANSWERED_FIXES))
def test_a_base_url_with_no_answer_names_what_to_look_at(cause):
    answer = Answer(None, ok=False, body=None, reason="GET /v1/identity: failed: …", cause=cause)
    finding = judge_base_url(answer, "https://api.incident.io")
    assert finding.status == "failed"
    assert finding.text.endswith(f"Fix: {UNANSWERED_FIXES[cause]}")
    said = "base_url" if cause != "proxy" else "HTTPS_PROXY"
    assert said in UNANSWERED_FIXES[cause]


def test_the_spec_example_alert_source_is_no_heartbeat_source():
    example = _example("/v2/alert_sources/{id}")
    assert example["alert_source"]["source_type"] != "heartbeat"
    [finding] = judge_heartbeat_source(_ok(example), "01X", None)
    assert finding.status == "failed"
    assert "not a heartbeat source" in finding.text
    heartbeat = example["alert_source"] | {"source_type": "heartbeat", "secret_token": "tok"}
    found = list(judge_heartbeat_source(_ok({"alert_source": heartbeat}), "01X", Secret("tok")))
    assert [(f.status, f.subject) for f in found] == [
        ("passed", "heartbeat_alert_source_config_id"),
        ("passed", "heartbeat_token"),
    ]
    missing = Answer(404, ok=False, body={}, reason="GET: rejected (HTTP 404 Not Found)")
    [finding] = judge_heartbeat_source(missing, "01X", Secret("tok"))
    assert "heartbeat alert source `01X` does not exist" in finding.text


def test_each_run_level_check_reads_run_settings_and_has_its_look_up():
    declared = {item.name for item in fields(DeliverySettings)}
    assert set(RUN_LEVEL_CHECKS) == set(RUN_CHECKS)
    for names in RUN_CHECKS.values():
        assert set(names) <= declared, names
