"""The shipped spec subset is exactly what trim_spec makes of incident.io's spec."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from incidentio_sandbox import trim_spec
from incidentio_sandbox.endpoints import ENDPOINTS, URL_MAP, served
from incidentio_sandbox.validation import load_spec

REPO = Path(__file__).resolve().parents[2]
# incident.io's full spec, in the repository (spec/README.md says where it came from).
REFERENCE = REPO / "spec" / "incidentio-openapi.json"
SHIPPED = REPO / "sandbox" / "incidentio_sandbox" / "openapi-subset.json"


@pytest.mark.slow
def test_shipped_subset_is_reproducible(tmp_path: Path) -> None:
    out = tmp_path / "subset.json"
    subprocess.run(
        [sys.executable, "-m", "incidentio_sandbox.trim_spec", str(REFERENCE), str(out)],
        check=True,
        timeout=60,
    )
    assert out.read_text(encoding="utf-8") == SHIPPED.read_text(encoding="utf-8")


def test_subset_keeps_served_paths_and_every_referenced_schema() -> None:
    spec = load_spec()
    assert spec["info"]["title"]
    assert spec["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    assert set(spec["paths"]) == set(served())
    for path, methods in served().items():
        assert set(spec["paths"][path]) == set(methods)
    dangling = trim_spec._refs(spec) - set(spec["components"]["schemas"])
    assert not dangling
    for name in (
        "AlertEventsCreateHTTPPayloadV2",
        "IncidentsCreatePayloadV2",
        "IncidentsEditPayloadV2",
        "IncidentUpdatesCreatePayloadV2",
        "CatalogCreateEntryPayloadV3",
        "ErrorResponse",
    ):
        assert name in spec["components"]["schemas"]


def test_subset_has_the_lookup_and_sync_schemas() -> None:
    schemas = load_spec()["components"]["schemas"]
    for name in (
        "CatalogListEntriesResultV3",
        "CatalogBulkUpdateEntriesPayloadV3",
        "CatalogListTypesResultV3",
        "CatalogShowTypeResultV3",
        "AlertsListResultV2",
        "AlertSourcesShowResultV2",
        "UtilitiesIdentityResultV1",
        "CustomFieldsShowResultV2",
        "PaginationMetaResultWithTotalV3",
    ):
        assert name in schemas
    heartbeat = load_spec()["paths"]["/v2/heartbeat/{alert_source_config_id}/ping"]
    assert set(heartbeat) == {"get", "post"}


def test_trim_drops_unserved_paths_and_schemas() -> None:
    tiny = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            path: {m: {"x": {"$ref": "#/components/schemas/A"}} for m in ("get", "post", "put")}
            for path in served()
        }
        | {"/v1/other": {"get": {"x": {"$ref": "#/components/schemas/C"}}}},
        "components": {
            "schemas": {
                "A": {"items": {"$ref": "#/components/schemas/B"}},
                "B": {"type": "string"},
                "C": {"type": "string"},
            },
        },
    }
    out = trim_spec.trim(tiny)
    assert set(out["components"]["schemas"]) == {"A", "B"}
    assert "/v1/other" not in out["paths"]
    assert json.loads(trim_spec.dumps(out)) == out


def test_every_endpoint_is_declared_once_and_routes_to_its_handler() -> None:
    assert len({(e.method, e.path) for e in ENDPOINTS}) == len(ENDPOINTS)
    adapter = URL_MAP.bind("sandbox.test")
    for endpoint in ENDPOINTS:
        concrete = endpoint.path.replace("{id}", "01X").replace("{alert_source_config_id}", "01S")
        found, args = adapter.match(concrete, method=endpoint.method)
        assert found is endpoint
        assert set(args) == {part[1:-1] for part in endpoint.path.split("/") if "{" in part}


def test_the_shipped_subset_is_a_valid_openapi_document() -> None:
    """The sandbox builds its validators without checking the document (seconds per path)."""
    validate(load_spec())
    broken = copy.deepcopy(load_spec())
    broken["paths"]["/v2/incidents"]["get"]["responses"] = "none"
    with pytest.raises(OpenAPIValidationError):
        validate(broken)
