"""OpenAPI 3 schema, Swagger UI and Redoc, with their assets served locally (no CDN)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.test import Client

API_PATHS = {
    "/health": {"get"},
    "/status": {"get"},
    "/capabilities": {"get"},
    "/api/login": {"post"},
    "/api/logout": {"post"},
    "/carbon/status": {"post"},
    "/carbon/zones": {"get"},
    "/carbon/zones/{zone_id}": {"get"},
    "/carbon/zones/{zone_id}/intensity": {"get"},
    "/carbon/estimate": {"post"},
    "/carbon/report": {"post"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/openapi.yaml")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_it_serves_the_same_schema_as_yaml_and_json(schema, db):
    response = Client().get("/openapi.json")
    assert response.status_code == 200
    assert json.loads(response.content)["paths"].keys() == schema["paths"].keys()
    assert schema["openapi"].startswith("3.")


def test_it_documents_every_api_endpoint_at_the_root_without_trailing_slashes(schema):
    for path, methods in API_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path
    assert not [p for p in schema["paths"] if p.endswith("/")]


def test_it_declares_the_api_key_and_bearer_security_schemes(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["type"] == "http" and schemes["Bearer"]["scheme"] == "bearer"
    status = schema["paths"]["/carbon/status"]["post"]
    assert {"ApiKey": []} in status["security"] and {"Bearer": []} in status["security"]
    assert schema["paths"]["/health"]["get"]["security"] == [{}]


def test_it_documents_the_error_responses_with_the_error_body(schema):
    estimate = schema["paths"]["/carbon/estimate"]["post"]["responses"]
    assert {"200", "400", "401", "403", "413", "500", "503"} <= set(estimate)
    assert estimate["400"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"error", "timestamp"}
    assert "404" in schema["paths"]["/carbon/zones/{zone_id}"]["get"]["responses"]
    assert "429" in schema["paths"]["/api/login"]["post"]["responses"]
    assert "401" not in schema["paths"]["/health"]["get"]["responses"]


def test_it_documents_the_request_and_response_fields(schema):
    components = schema["components"]["schemas"]
    estimate_in = components["EstimateRequest"]
    assert estimate_in["required"] == ["data_size_gb"]
    status_out = components["CarbonStatus"]
    assert {
        "zone",
        "current_intensity",
        "optimal_for_backup",
        "forecast_next_4h",
        "source",
        "simulated",
    } <= set(status_out["required"])
    assert status_out["properties"]["renewable_percent"]["type"] == "number"
    assert "nullable" not in status_out["properties"]["renewable_percent"]
    intensity = schema["paths"]["/carbon/zones/{zone_id}/intensity"]["get"]["parameters"]
    assert {p["name"] for p in intensity} == {"zone_id", "start", "end", "kind"}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/docs", "/redoc"])
def test_it_serves_the_docs_with_local_assets_only(url):
    response = Client().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    script = re.search(r'<script src="(/docs\?[^"]+)"', html)  # Swagger UI's init script (no inline script: CSP)
    if script:
        html += Client().get(script.group(1).replace("&amp;", "&")).content.decode()
    assert "/openapi.yaml" in html
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert external == [], external
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", html)
    assert assets
    for asset in assets:
        assert Client().get(asset).status_code == 200, asset
