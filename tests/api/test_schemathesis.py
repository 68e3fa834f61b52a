"""Schemathesis against /openapi.yaml on a live server, with every check schemathesis has: no 5xx;
status codes, content types, bodies and headers as documented; schema-valid requests accepted
(positive_data_acceptance) and schema-violating ones refused (negative_data_rejection); deleted
resources gone; unsupported methods 405 with Allow; auth not ignored.

Examples per operation: SCHEMATHESIS_EXAMPLES (5 in CI; the 100-example run of docs/API.md is
`SCHEMATHESIS_EXAMPLES=100 .venv/bin/pytest tests/api/test_schemathesis.py`).

Preconditions the OpenAPI document states in words because JSON Schema cannot (they depend on
other fields, on stored data or on configuration) are applied to the generated positive cases by
the hooks below, each one the documented rule:
- ranges: `end` after `start` (intensity, ESG reports, /carbon/report), within the longest
  range; ESG reports take `period` or both `start` and `end`, never both forms;
- a report covers stored readings: /carbon/report runs are moved to end an hour ago (their length
  and sizes stay as generated) where the server has readings;
- zones and policies must exist: an unknown zone id is replaced by a known one;
- a file-executor path lies inside the configured roots: absolute paths, `..` and paths too long
  once resolved there (the target column's length, names of 255 bytes) are replaced by a relative
  one; a carbon-aware template names its zone; not_before at most 366 days ahead.
Strings never contain NUL (PostgreSQL cannot store it; documented in docs/API.md).
"""

from __future__ import annotations

import os
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
import schemathesis.specs.openapi.checks  # noqa: F401  (registers the OpenAPI checks)
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS
from schemathesis.generation import GenerationMode

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))
ALL_CHECKS = CHECKS.get_all()

# Operations that answer 501 "not supported" on purpose (scheduler/api/compat.py).
NOT_SUPPORTED = {("GET", "/schedules/dependencies"), ("POST", "/schedules/advanced/create")}

pytestmark = pytest.mark.django_db(transaction=True)

ZONES: list[str] = []


@pytest.fixture
def schemathesis_key(operator_user, api_key_for) -> str:
    # An operator may also write (jobs, schedules), so valid writes are exercised, not just refused.
    return api_key_for(operator_user)


@pytest.fixture
def api_schema(live_server, settings, tmp_path):
    from carbon.models import Zone
    from carbon.services import load_demo_data

    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    settings.BACKUP_PLAN_REFRESH = False
    settings.HYPERSDK_URL = "http://127.0.0.1:9"  # the hypersdk executor is accepted only when configured
    load_demo_data(days=2, now=datetime.now(UTC))  # stored readings for reports and status
    ZONES[:] = sorted(Zone.objects.values_list("code", flat=True))
    schema = schemathesis.openapi.from_url(live_server.url + "/openapi.yaml")
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], allow_x00=False, max_examples=EXAMPLES
    )
    _register_preconditions(schema)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_it_conforms_to_its_own_openapi_schema(case, live_server, schemathesis_key):
    # HyperSDK's routes hyperweb does not support answer a documented JSON 501 by design; every
    # other check still applies to them (the 501 must be documented, JSON, and match its schema).
    checks = ALL_CHECKS
    if (case.method.upper(), case.path) in NOT_SUPPORTED:
        checks = [check for check in ALL_CHECKS if check.__name__ != "not_a_server_error"]
    case.call_and_validate(base_url=live_server.url, headers={"X-API-Key": schemathesis_key}, checks=checks)


# --- the documented preconditions -------------------------------------------------------------


def _moment(value: Any) -> datetime | None:
    from hyperweb.api.timestamps import parse_timestamp

    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return parse_timestamp(value)
    except ValueError:
        return None


def _known_zone(value: Any) -> Any:
    """A known zone for an unknown one (chosen from the value, so runs repeat)."""
    if not isinstance(value, str) or not value.strip() or value.upper() in ZONES or not ZONES:
        return value
    return ZONES[zlib.crc32(value.encode("utf-8", "replace")) % len(ZONES)]


def _relative(path: Any) -> Any:
    if not isinstance(path, str) or not path.strip():
        return path
    too_long = len(path) > 500 or any(
        len(name.encode("utf-8", "surrogatepass")) > 255 for name in path.split("/")
    )
    if path.startswith("/") or ".." in path or path.startswith("~") or too_long:
        return "vm-" + str(zlib.crc32(path.encode("utf-8", "replace")))
    return path


def _fix_template(template: Any) -> None:
    if not isinstance(template, dict):
        return
    for key in ("vm_path", "output_dir", "output_path"):
        if key in template:
            template[key] = _relative(template[key])
    metadata = template.get("metadata")
    if isinstance(metadata, dict):
        if isinstance(metadata.get("carbon_zone"), str):
            metadata["carbon_zone"] = _known_zone(metadata["carbon_zone"])
        if metadata.get("carbon_aware") is True and not metadata.get("carbon_zone"):
            metadata["carbon_zone"] = ZONES[0] if ZONES else "DE"
        moment = _moment(metadata.get("not_before"))
        if moment is not None and moment > datetime.now(UTC) + timedelta(days=300):
            metadata["not_before"] = None


def _ordered(start: datetime | None, end: datetime | None, longest: timedelta) -> bool:
    return start is None or end is None or (start < end and end - start <= longest)


def _register_preconditions(schema: Any) -> None:
    @schema.hook("map_case")
    def preconditions(context: Any, case: Any) -> Any:
        if case.meta is not None and not case.meta.generation.mode.is_positive:
            return case
        path, method = case.operation.path, case.method.upper()
        body = case.body if isinstance(case.body, dict) else None
        query = case.query if isinstance(case.query, dict) else None
        if body is not None and "zone" in body:
            body["zone"] = _known_zone(body["zone"])
        if path == "/carbon/report" and body is not None:
            start, end = _moment(body.get("start_time")), _moment(body.get("end_time"))
            if start is not None and end is not None:
                length = min(max(abs(end - start), timedelta(minutes=5)), timedelta(hours=20))
                finish = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
                body["start_time"] = (finish - length).isoformat()
                body["end_time"] = finish.isoformat()
        if path.startswith("/schedules") and body is not None and method in ("POST", "PUT"):
            _fix_template(body.get("job_template"))
        if path == "/jobs/submit":
            for item in (
                case.body if isinstance(case.body, list) else (body.get("jobs", [body]) if body else [])
            ):
                _fix_template(item)
        if query is not None and "zone" in query:
            query["zone"] = _known_zone(query["zone"])
        return case

    @schema.hook("filter_case")
    def documented_ranges(context: Any, case: Any) -> bool:
        if case.meta is not None and not case.meta.generation.mode.is_positive:
            return True
        path = case.operation.path
        query = case.query if isinstance(case.query, dict) else {}
        body = case.body if isinstance(case.body, dict) else {}
        if path == "/carbon/zones/{zone_id}/intensity":
            return _ordered(_moment(query.get("start")), _moment(query.get("end")), timedelta(days=31))
        if path.startswith("/reports/"):
            period, start, end = query.get("period"), query.get("start"), query.get("end")
            if query.get("policy") is not None:
                return False  # a policy must exist; the fuzzer cannot name one
            if period is not None:
                return start is None and end is None
            if start is None or end is None:
                return False
            first, last = _moment(start), _moment(end)
            if first is None or last is None:
                return False
            if len(end) == 10:
                last += timedelta(days=1)
            return _ordered(first, last, timedelta(days=366))
        if path == "/carbon/report":
            return _ordered(
                _moment(body.get("start_time")), _moment(body.get("end_time")), timedelta(days=31)
            )
        return True
