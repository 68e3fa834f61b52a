"""One vocabulary: backup formats, export methods, job states and risk levels are defined once and
every place that lists them (validator, OpenAPI schema, /capabilities, serializers) says the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.test import Client

from scheduler.models import RISK_CHOICES, BackupJob
from scheduler.uncertainty import RISK_LEVELS
from scheduler.vocabulary import BACKUP_FORMATS, EXPORT_METHODS

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "alerts", "carbon", "hyperweb", "metrics", "reports", "scheduler", "dashboard")


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/openapi.yaml")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def enum(schema: dict, prop: dict) -> list:
    """The values of an enum property, through drf-spectacular's `$ref` / `allOf` indirection."""
    if "allOf" in prop:
        prop = prop["allOf"][0]
    if "$ref" in prop:
        prop = schema["components"]["schemas"][prop["$ref"].rsplit("/", 1)[1]]
    return prop["enum"]


def test_the_schema_lists_the_formats_methods_and_states_of_the_one_definition(schema):
    parts = schema["components"]["schemas"]
    definition = parts["JobDefinition"]["properties"]
    assert enum(schema, definition["format"]) == list(BACKUP_FORMATS)
    assert enum(schema, definition["export_method"]) == list(EXPORT_METHODS)
    job = parts["Job"]["properties"]
    states = list(BackupJob.Status.values)
    assert "scheduled" in states
    assert enum(schema, job["status"]) == [s for s in states if s != "scheduled"]  # pending to HyperSDK
    assert enum(schema, job["state"]) == states
    assert enum(schema, job["operation"]) == list(BackupJob.Operation.values)
    integrity = enum(schema, parts["Integrity"]["properties"]["state"])
    assert integrity == ["unverified", "verified", "damaged"]
    submit = schema["paths"]["/jobs/submit"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    accepted = submit["oneOf"][0]["properties"]
    assert accepted["format"]["enum"] == ["", *BACKUP_FORMATS, None]
    assert accepted["export_method"]["enum"] == ["", *EXPORT_METHODS, None]


def test_risk_choices_are_the_planners_risk_levels():
    assert [value for value, _ in RISK_CHOICES] == list(RISK_LEVELS)
    assert BackupJob._meta.get_field("risk").choices == RISK_CHOICES


@pytest.mark.django_db
def test_capabilities_and_status_speak_the_same_vocabulary(viewer_api):
    assert viewer_api.get("/capabilities").json()["formats"] == list(BACKUP_FORMATS)
    body = viewer_api.get("/status").json()
    assert {f"{state}_jobs" for state in BackupJob.Status.values} <= set(body)


def test_no_other_module_spells_the_formats_or_the_job_states_out():
    formats = re.compile(r'"qcow2",\s*"raw"')
    states = re.compile(r'"pending",\s*"scheduled"')  # a HyperSDK daemon's own states are another list
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or path.name == "vocabulary.py":
                continue
            text = path.read_text()
            if formats.search(text) or states.search(text):
                found.append(str(path.relative_to(ROOT)))
    assert not found
