"""One definition validator: parse_definition's rules generate the OpenAPI request schema and the
JobDefinition serializer, so a value the schema allows is accepted and one it forbids is refused
with a message naming the key (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from scheduler.api import schemas
from scheduler.api.serializers import JobDefinitionSerializer
from scheduler.services.definitions import (
    DEFINITION_RULES,
    METADATA_RULES,
    MISPLACED_KEYS,
    InvalidDefinition,
    MalformedDefinition,
    Rule,
    parse_definition,
)

NOW = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
# Values of every JSON type, edge numbers, lengths past the columns, and each enum's members.
SAMPLES: list[Any] = [
    None,
    "",
    " ",
    "x",
    "true",
    "qcow2",
    "ctl",
    "hypersdk",
    "cautious",
    "2026-03-02T00:00:00Z",
    "not a time",
    "a/b",
    "a" * 300,
    "a" * 1100,
    0,
    1,
    -1,
    0.001,
    24,
    25,
    1.5e15,
    10**400,
    True,
    False,
    {},
    {"k": 1},
    [],
]


def lenient(rule: Rule, value: Any) -> bool:
    """On purpose: HyperSDK clients send booleans as strings; the schema promises JSON booleans."""
    return rule.kind == "bool" and value in ("true", "false")


def accepts(schema: dict[str, Any], value: Any) -> bool:
    """OpenAPI 3.0 validity: `nullable` allows null; otherwise JSON Schema draft 4."""
    if value is None:
        return bool(schema.get("nullable"))
    plain = {k: v for k, v in schema.items() if k != "nullable"}
    if "enum" in plain:
        plain["enum"] = [v for v in plain["enum"] if v is not None]
    try:
        jsonschema.Draft4Validator(plain).validate(value)
    except jsonschema.ValidationError:
        return False
    return True


def refused_naming(definition: dict[str, Any], field: str) -> bool:
    try:
        parse_definition(definition, now=NOW)
    except MalformedDefinition as exc:
        assert field in str(exc) and exc.field == field, (field, str(exc), exc.field)
        return True
    except InvalidDefinition:
        pass  # well-formed, refused for what the schema says in words (a zone, a path)
    return False  # accepted, or refused for something the schema cannot say (a zone, a path)


@pytest.fixture(autouse=True)
def _remote_executor(settings):
    # hypersdk paths are the daemon's: no source/target root check gets in the way of the shape.
    settings.BACKUP_DEFAULT_EXECUTOR = "hypersdk"
    settings.HYPERSDK_URL = "http://127.0.0.1:9"  # configured, so it is accepted


@pytest.mark.parametrize("rule", DEFINITION_RULES, ids=lambda r: r.key)
def test_a_key_is_accepted_exactly_when_the_schema_allows_it(rule: Rule) -> None:
    properties = schemas.job_definition_schema()["properties"]
    for value in SAMPLES:
        definition = {"vm_path": "vm1", rule.key: value}
        if rule.key == "metadata":
            expected = accepts(properties["metadata"], value)
        else:
            expected = accepts(properties[rule.key], value) or lenient(rule, value)
        assert refused_naming(definition, rule.key) is not expected, (rule.key, value)


@pytest.mark.parametrize("rule", METADATA_RULES, ids=lambda r: r.key)
def test_a_metadata_key_is_accepted_exactly_when_the_schema_allows_it(rule: Rule) -> None:
    properties = schemas.metadata_schema()["properties"]
    for value in SAMPLES:
        definition = {"vm_path": "vm1", "metadata": {rule.key: value}}
        expected = accepts(properties[rule.key], value) or lenient(rule, value)
        assert refused_naming(definition, f"metadata.{rule.key}") is not expected, (rule.key, value)


@pytest.mark.parametrize("key", MISPLACED_KEYS)
def test_a_scheduling_key_outside_metadata_is_refused_as_the_schema_says(key: str) -> None:
    properties = schemas.job_definition_schema()["properties"]
    for value in SAMPLES:
        if value is None:  # null means "not set" for every key: dropped before any check
            assert accepts(properties[key], value) and not refused_naming({"vm_path": "vm1", key: value}, key)
            continue
        assert not accepts(properties[key], value), (key, value)
        assert refused_naming({"vm_path": "vm1", key: value}, key), (key, value)


def test_the_schema_and_the_serializer_list_exactly_the_validators_keys() -> None:
    keys = [rule.key for rule in DEFINITION_RULES]
    assert list(schemas.job_definition_schema()["properties"]) == keys + list(MISPLACED_KEYS)
    assert list(schemas.metadata_schema()["properties"]) == [rule.key for rule in METADATA_RULES]
    assert list(JobDefinitionSerializer().fields) == keys
    assert schemas.job_definition_schema()["required"] == ["vm_path"]
