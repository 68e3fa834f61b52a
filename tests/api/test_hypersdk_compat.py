"""Compatibility suite: a live hyperweb driven exactly as HyperSDK's three clients drive a daemon.

- the Python client (sdk/python/hypersdk): a requests.Session, `urljoin(base, path)`, the API key in
  `X-API-Key`, a login token as `Authorization: Bearer`, bodies from its dataclasses' `to_dict()`,
  naive `datetime.isoformat()` times, answers read back through its `from_dict()` habits;
- the TypeScript client (sdk/typescript/src): `fetch` on `baseURL + path`, `X-API-Key` from its
  `apiKey` option (or any header given in `headers`, e.g. `Authorization: Bearer <key>`),
  `Content-Type` only when there is a body, `JSON.stringify` bodies, `toISOString()` times;
- the Go CLI (`hyperctl carbon ...`, cmd/hyperctl/carbon_commands.go): no credentials at all,
  compact `json.Marshal` of a map (sorted keys), RFC 3339 times, answers decoded into Go structs.

Every field the clients declare is checked against the type they declare for it (TypeScript
interfaces, Python dataclasses, Go structs): a number is a JSON number (never null), a string a
string (never an object), an optional field may be absent but not null, a time parses the way each
client parses it. The request shapes are written here from the clients' published source; no client
code is copied. docs/API.md's compatibility table lists every call and how hyperweb answers it.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import pytest
import requests
from django.core.cache import cache

from scheduler.models import BackupJob
from tests.scheduler.factories import BackupJobFactory, add_readings, zone

pytestmark = pytest.mark.django_db(transaction=True)

# -- the types the clients declare ------------------------------------------------------------------


@dataclass(frozen=True)
class Optional_:
    """A field the client declares optional (TypeScript `?:`, Go `omitempty`, Python `.get()`)."""

    spec: Any
    nullable: bool = False


def opt(spec: Any) -> Optional_:
    return Optional_(spec)


def opt_or_null(spec: Any) -> Optional_:
    """Optional, and hyperweb sends null rather than leaving it out (listed as "partly" in
    docs/API.md: the Python client never reads these, the TypeScript client passes them through)."""
    return Optional_(spec, nullable=True)


STR, NUM, INT, BOOL, TIME, ANY = "string", "number", "integer", "boolean", "time", "any"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")


def conformance_errors(value: Any, spec: Any, where: str = "$") -> list[str]:
    """Where `value` breaks the declared `spec` (empty when it conforms)."""
    if isinstance(spec, Optional_):
        if value is None and spec.nullable:
            return []
        return conformance_errors(value, spec.spec, where)
    if spec == ANY:
        return []
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r:.60}"]
        errors = []
        for key, sub in spec.items():
            if key not in value:
                if not isinstance(sub, Optional_):
                    errors.append(f"{where}.{key}: missing")
                continue
            errors += conformance_errors(value[key], sub, f"{where}.{key}")
        return errors
    if isinstance(spec, list):
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {value!r:.60}"]
        return [e for i, item in enumerate(value) for e in conformance_errors(item, spec[0], f"{where}[{i}]")]
    if isinstance(spec, tuple):  # an enum of strings
        return [] if value in spec else [f"{where}: {value!r} is not one of {spec}"]
    ok = {
        STR: isinstance(value, str),
        NUM: isinstance(value, int | float) and not isinstance(value, bool),
        INT: isinstance(value, int) and not isinstance(value, bool),  # Go `int` refuses 3.0
        BOOL: isinstance(value, bool),
        TIME: isinstance(value, str) and bool(RFC3339.match(value)),
    }[spec]
    return [] if ok else [f"{where}: expected {spec}, got {value!r:.60}"]


def assert_conforms(value: Any, spec: Any) -> None:
    errors = conformance_errors(value, spec)
    assert not errors, "\n".join(errors)


# Carbon (TypeScript models.ts CarbonStatus/CarbonForecast/CarbonReport/CarbonZone/CarbonEstimate,
# Go hyperctl CarbonStatusResponse/CarbonReportResponse/CarbonZonesResponse/CarbonEstimateResponse).
FORECAST = {"time": TIME, "intensity_gco2_kwh": NUM, "quality": STR}
CARBON_STATUS = {
    "zone": STR,
    "current_intensity": NUM,
    "renewable_percent": NUM,
    "optimal_for_backup": BOOL,
    "next_optimal_time": opt(TIME),
    "forecast_next_4h": [FORECAST],
    "reasoning": STR,
    "quality": ("excellent", "good", "moderate", "poor", "very poor"),
    "timestamp": TIME,
}
CARBON_REPORT = {
    "operation_id": STR,
    "start_time": TIME,
    "end_time": TIME,
    "duration_hours": NUM,
    "data_size_gb": NUM,
    "energy_kwh": NUM,
    "carbon_intensity_gco2_kwh": NUM,
    "carbon_emissions_kg_co2": NUM,
    "savings_vs_worst_kg_co2": NUM,
    "renewable_percent": NUM,
    "equivalent": STR,
}
CARBON_ZONE = {"id": STR, "name": STR, "region": STR, "description": STR, "typical_intensity": NUM}
CARBON_ZONES = {"zones": [CARBON_ZONE], "total": INT}
CARBON_ESTIMATE = {
    "current_intensity_gco2_kwh": NUM,
    "current_emissions_kg_co2": NUM,
    "best_intensity_gco2_kwh": NUM,
    "best_emissions_kg_co2": NUM,
    "best_time": opt(TIME),
    "savings_kg_co2": NUM,
    "savings_percent": NUM,
    "recommendation": STR,
    "delay_minutes": opt(NUM),
    "forecast": [FORECAST],
}

# Service, jobs, schedules (TypeScript models.ts, Python models.py).
HEALTH = {"status": STR, "timestamp": STR}
DAEMON_STATUS = {
    "version": STR,
    "uptime": STR,
    "total_jobs": INT,
    "running_jobs": INT,
    "completed_jobs": INT,
    "failed_jobs": INT,
    "cancelled_jobs": INT,
    "timestamp": TIME,
}
CAPABILITIES = {"capabilities": ANY, "default_method": STR, "timestamp": STR}
EXPORT_FORMATS = ("qcow2", "raw", "vmdk", "ova", "ovf")
EXPORT_METHODS = ("ctl", "govc", "ovftool", "web", "")
JOB_DEFINITION = {
    "vm_path": STR,
    "name": opt(STR),
    "id": opt(STR),
    "output_path": opt(STR),
    "output_dir": opt(STR),
    "format": opt(EXPORT_FORMATS),
    "export_method": opt(EXPORT_METHODS),
    "compress": opt(BOOL),
    "thin": opt(BOOL),
    "insecure": opt(BOOL),
    "created_at": opt(STR),
}
JOB_PROGRESS = {
    "phase": STR,
    "current_file": opt(STR),
    "current_step": opt(STR),
    "files_downloaded": NUM,
    "total_files": NUM,
    "bytes_downloaded": NUM,
    "bytes_transferred": NUM,
    "total_bytes": NUM,
    "percent_complete": NUM,
    "estimated_remaining": opt(STR),
    "export_method": opt(STR),
}
JOB = {
    "definition": JOB_DEFINITION,
    "status": ("pending", "running", "completed", "failed", "cancelled"),
    "progress": opt(JOB_PROGRESS),
    "error": opt(STR),
    "started_at": opt(TIME),
    "completed_at": opt(TIME),
    "updated_at": TIME,
}
SUBMIT = {"job_ids": [STR], "accepted": INT, "rejected": INT, "errors": opt([STR]), "timestamp": STR}
QUERY = {"jobs": [JOB], "total": INT, "timestamp": STR}
CANCEL = {"cancelled": [STR], "failed": [STR], "errors": opt({}), "timestamp": STR}
ETA = {"eta": opt(ANY), "estimated_remaining": opt(STR)}
SCHEDULED_JOB = {
    "id": opt(STR),
    "name": STR,
    "description": opt(STR),
    "schedule": STR,
    "job_template": JOB_DEFINITION,
    "enabled": opt(BOOL),
    "created_at": opt(TIME),
    "updated_at": opt(TIME),
    "next_run": opt_or_null(TIME),
    "last_run": opt_or_null(TIME),
    "run_count": opt(INT),
    "tags": opt([STR]),
}
# Advanced scheduling (TypeScript client.ts return types, Go advanced_scheduling_handlers.go).
QUEUE = {"queue_size": INT, "running_jobs": INT, "max_slots": INT, "queued_jobs": [ANY]}
QUEUED_JOB = {"job_id": STR, "job_name": STR, "priority": INT, "added_at": STR, "attempts": INT}
RETRY = {
    "job_id": STR,
    "job_name": STR,
    "attempt": INT,
    "max_attempts": INT,
    "last_error": opt(STR),
    "next_retry": opt(STR),
    "history": opt([ANY]),
}
TIME_WINDOW = {
    "job_id": STR,
    "job_name": STR,
    "in_window": BOOL,
    "message": STR,
    "next_window_start": opt(STR),
    "windows": opt([ANY]),
}
VALIDATE = {"valid": BOOL, "errors": opt([STR]), "message": opt(STR)}
ERROR = {"error": STR}


# -- the three clients' request habits --------------------------------------------------------------


class APIError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class PythonClient:
    """sdk/python/hypersdk/client.py's `_request`: Session, urljoin, X-API-Key, Bearer after login."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.token: str | None = None
        if api_key:
            self.session.headers["X-API-Key"] = api_key

    def request(self, method: str, path: str, json: Any = None, params: dict | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.session.request(
            method, urljoin(self.base_url, path), json=json, params=params, headers=headers, timeout=30
        )
        if not response.ok:
            raise APIError(response.status_code, response.json())
        return response.json() if response.text else None

    def text(self, path: str) -> str:  # get_job_logs reads the body as text
        response = self.session.get(urljoin(self.base_url, path), timeout=30)
        assert response.ok, response.text
        return response.text

    def close(self) -> None:
        self.session.close()


class TypeScriptClient:
    """sdk/typescript/src/client.ts's `request`: fetch(baseURL + path), JSON body, JSON or text back."""

    def __init__(self, base_url: str, api_key: str | None = None, headers: dict | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.token: str | None = None
        if api_key:
            self.headers["X-API-Key"] = api_key

    def request(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        headers = dict(self.headers)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, separators=(",", ":")).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw, ctype = response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            raise APIError(exc.code, json.loads(exc.read() or b"null")) from None
        if "application/json" in ctype:
            return json.loads(raw)
        return raw.decode() if "text/" in ctype else None


class GoCLI:
    """cmd/hyperctl's apiRequest: no credentials, json.Marshal of a map (sorted, compact), Go's UA."""

    def __init__(self, daemon_url: str) -> None:
        self.daemon_url = daemon_url.rstrip("/")

    def request(self, path: str, method: str = "GET", body: dict | None = None) -> tuple[int, Any]:
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode() if body is not None else None
        headers = {"User-Agent": "Go-http-client/1.1"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.daemon_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def go_time(value: datetime) -> str:
    """time.Time's JSON form (RFC 3339, `Z` for UTC, fractional seconds only when non-zero)."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def ts_iso(value: datetime) -> str:
    """JavaScript's Date.prototype.toISOString(): milliseconds and `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def py_parse(value: str) -> datetime:
    """How the Python client reads times: fromisoformat after replacing Z."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _backups(settings) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    # HyperSDK's own example paths, taken as given (the file executor checks paths are inside a root).
    settings.BACKUP_SOURCE_ROOTS = [Path("/datacenter")]
    settings.BACKUP_TARGET_ROOT = Path("/backups")


@pytest.fixture
def grid(db) -> datetime:
    """Stored readings for US-CAL-CISO (the clients' default zone) around now, with a renewable
    share, so status, estimate and report have real numbers."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    ca = zone("US-CAL-CISO")
    add_readings(ca, hour - timedelta(hours=6), [250, 240, 230, 220, 210, 200, 190], source="csv")
    ca.readings.filter(source="csv").update(renewable_percent=35.0)
    add_readings(
        ca, hour + timedelta(hours=1), [180, 90, 120, 200, 260, 300], kind="forecast",
        source="csv", issued_at=now - timedelta(minutes=5),
    )
    cache.clear()  # bulk inserts do not bump the zone's data version that status answers are cached by
    return hour


@pytest.fixture
def python_sdk(live_server, operator_user, api_key_for) -> Iterator[PythonClient]:
    client = PythonClient(live_server.url, api_key_for(operator_user))
    yield client
    client.close()


@pytest.fixture
def ts_sdk(live_server, operator_user, api_key_for) -> TypeScriptClient:
    return TypeScriptClient(live_server.url, api_key=api_key_for(operator_user))


# -- the Python client ----------------------------------------------------------------------------


def test_the_python_clients_carbon_calls_and_example_program_run_unchanged(python_sdk, grid):
    # get_carbon_status(zone="US-CAL-CISO", threshold=200)
    status = python_sdk.request("POST", "/carbon/status", json={"zone": "US-CAL-CISO", "threshold": 200.0})
    assert_conforms(status, CARBON_STATUS)
    # carbon_quick_start.py / carbon_aware_backup.py format these; none may be None or a dict.
    lines = [
        f"Grid Status: {status['quality'].upper()}",
        f"Carbon Intensity: {status['current_intensity']:.0f} gCO2/kWh",
        f"Renewable: {status['renewable_percent']:.1f}%",
    ]
    assert status["renewable_percent"] == 35.0 and lines[2] == "Renewable: 35.0%"
    for point in status["forecast_next_4h"]:
        py_parse(point["time"])

    zones = python_sdk.request("GET", "/carbon/zones")
    assert_conforms(zones, CARBON_ZONES)
    assert {z["id"] for z in zones["zones"]} >= {"US-CAL-CISO", "DE", "JP", "AU", "IN"}

    estimate = python_sdk.request(
        "POST", "/carbon/estimate", json={"zone": "US-CAL-CISO", "data_size_gb": 500.0, "duration_hours": 2.0}
    )
    assert_conforms(estimate, CARBON_ESTIMATE)
    assert f"{estimate['savings_percent']:.1f}%" and estimate["recommendation"]

    # get_carbon_report(job_id, start_time=datetime(...), end_time=datetime(...)): naive isoformat().
    start = (grid - timedelta(hours=3)).replace(tzinfo=None)
    report = python_sdk.request(
        "POST",
        "/carbon/report",
        json={
            "job_id": "job-123",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=2)).isoformat(),
            "data_size_gb": 500.0,
            "zone": "US-CAL-CISO",
        },
    )
    assert_conforms(report, CARBON_REPORT)
    assert report["renewable_percent"] == 35.0 and report["equivalent"].endswith("of driving")
    assert py_parse(report["start_time"]) == start.replace(tzinfo=UTC)
    assert f"Emissions: {report['carbon_emissions_kg_co2']} kg CO2"


def test_the_python_clients_job_calls_run_unchanged(python_sdk, grid):
    # submit_carbon_aware_job(JobDefinition(vm_path=..., output_dir=...), max_intensity=200,
    # max_delay_hours=4): to_dict() plus the carbon metadata, carbon_max_delay in nanoseconds.
    definition = {
        "vm_path": "/datacenter/vm/prod-db",
        "output_dir": "/backups",
        "format": "ovf",
        "export_method": "",
        "compress": False,
        "thin": False,
        "insecure": False,
        "metadata": {
            "carbon_aware": True,
            "carbon_zone": "US-CAL-CISO",
            "carbon_max_intensity": 200.0,
            "carbon_max_delay": int(4.0 * 3600 * 1_000_000_000),
        },
    }
    submitted = python_sdk.request("POST", "/jobs/submit", json=definition)
    assert_conforms(submitted, SUBMIT)
    assert submitted["accepted"] == 1, submitted
    job_id = submitted["job_ids"][0]

    job = python_sdk.request("GET", f"/jobs/{job_id}")
    assert_conforms(job, JOB)
    # Job.from_dict: the enums and times it converts.
    assert job["definition"].get("format", "ovf") in EXPORT_FORMATS
    assert job["definition"].get("export_method", "") in EXPORT_METHODS
    py_parse(job["updated_at"])

    queried = python_sdk.request("POST", "/jobs/query", json={"job_ids": [job_id], "status": ["pending"]})
    assert_conforms(queried, QUERY)
    assert [j["definition"]["id"] for j in queried["jobs"]] == [job_id]
    listed = python_sdk.request("GET", "/jobs/query", params={"all": "true"})
    assert_conforms(listed, QUERY)

    progress = python_sdk.request("GET", f"/jobs/progress/{job_id}")
    assert_conforms(progress, JOB_PROGRESS)
    eta = python_sdk.request("GET", f"/jobs/eta/{job_id}")
    assert_conforms(eta, ETA)
    assert isinstance(eta.get("estimated_remaining", "Unknown"), str)
    assert python_sdk.text(f"/jobs/logs/{job_id}")  # the client returns the body text as is

    cancelled = python_sdk.request("POST", "/jobs/cancel", json={"job_ids": [job_id]})
    assert_conforms(cancelled, CANCEL)
    assert job_id in cancelled["cancelled"]

    with pytest.raises(APIError) as missing:
        python_sdk.request("GET", "/jobs/no-such-job")
    assert missing.value.status == 404 and missing.value.body["error"]  # JobNotFoundError


def test_the_python_clients_schedule_calls_run_unchanged(python_sdk):
    # ScheduledJob(name, schedule, job_template=JobDefinition(...)).to_dict()
    schedule = {
        "name": "nightly prod-db",
        "schedule": "0 2 * * *",
        "job_template": {
            "vm_path": "/datacenter/vm/prod-db",
            "format": "ovf",
            "export_method": "",
            "compress": False,
            "thin": False,
            "insecure": False,
        },
        "enabled": True,
        "run_count": 0,
        "description": "every night",
        "tags": ["prod"],
    }
    created = python_sdk.request("POST", "/schedules", json=schedule)
    assert_conforms(created, SCHEDULED_JOB)
    schedule_id = created["id"]
    assert_conforms(python_sdk.request("GET", "/schedules"), [SCHEDULED_JOB])
    assert_conforms(python_sdk.request("GET", f"/schedules/{schedule_id}"), SCHEDULED_JOB)
    updated = python_sdk.request("PUT", f"/schedules/{schedule_id}", json={**schedule, "schedule": "0 3 * * *"})
    assert_conforms(updated, SCHEDULED_JOB)
    assert updated["schedule"] == "0 3 * * *"
    python_sdk.request("POST", f"/schedules/{schedule_id}/disable")
    python_sdk.request("POST", f"/schedules/{schedule_id}/enable")
    python_sdk.request("POST", f"/schedules/{schedule_id}/trigger")
    assert BackupJob.objects.filter(policy_id=schedule_id).count() == 1

    # Advanced scheduling: what maps answers in the declared shapes, the rest a JSON 501.
    job = BackupJob.objects.get(policy_id=schedule_id)
    queue = python_sdk.request("GET", "/schedules/queue")
    assert_conforms(queue, QUEUE)
    for entry in queue["queued_jobs"]:
        assert_conforms(entry, QUEUED_JOB)
    assert job.id in {entry["job_id"] for entry in queue["queued_jobs"]}
    assert_conforms(python_sdk.request("GET", "/schedules/retry", params={"job_id": job.id}), RETRY)
    assert_conforms(python_sdk.request("GET", "/schedules/timewindow", params={"job_id": job.id}), TIME_WINDOW)
    validated = python_sdk.request(
        "POST",
        "/schedules/validate",
        json={"name": "x", "schedule": "0 2 * * *", "job_template": schedule["job_template"], "advanced_config": None},
    )
    assert_conforms(validated, VALIDATE)
    assert validated["valid"] is True
    for method, path, kwargs in (
        ("GET", "/schedules/dependencies", {"params": {"job_id": job.id}}),
        ("POST", "/schedules/advanced/create", {"json": {**schedule, "advanced_config": {"priority": 50}}}),
    ):
        with pytest.raises(APIError) as refused:
            python_sdk.request(method, path, **kwargs)
        assert refused.value.status == 501
        assert_conforms(refused.value.body, ERROR)  # the client shows error_data["error"]

    python_sdk.request("DELETE", f"/schedules/{schedule_id}")
    with pytest.raises(APIError) as gone:
        python_sdk.request("GET", f"/schedules/{schedule_id}")
    assert gone.value.status == 404


def test_the_python_client_logs_in_and_sends_its_token_as_bearer(live_server, django_user_model):
    from accounts.roles import set_role

    user = django_user_model.objects.create_user("pat", password="pat-s3cret-pass")
    set_role(user, "viewer")
    client = PythonClient(live_server.url)
    try:
        login = client.request("POST", "/api/login", json={"username": "pat", "password": "pat-s3cret-pass"})
        client.token = login["token"]
        assert_conforms(client.request("GET", "/status"), DAEMON_STATUS)
        assert_conforms(client.request("GET", "/health"), HEALTH)
        assert_conforms(client.request("GET", "/capabilities"), CAPABILITIES)
        client.request("POST", "/api/logout")
        client.token = None
    finally:
        client.close()


# -- the TypeScript client ------------------------------------------------------------------------


def test_the_typescript_clients_carbon_calls_and_example_run_unchanged(ts_sdk, grid):
    status = ts_sdk.request("POST", "/carbon/status", body={"zone": "US-CAL-CISO", "threshold": 200})
    assert_conforms(status, CARBON_STATUS)
    # carbon-quick-start.ts: status.renewable_percent.toFixed(1) needs a number.
    assert f"{status['renewable_percent']:.1f}" == "35.0"
    assert_conforms(ts_sdk.request("GET", "/carbon/zones"), CARBON_ZONES)
    estimate = ts_sdk.request(
        "POST", "/carbon/estimate", body={"zone": "US-CAL-CISO", "data_size_gb": 500, "duration_hours": 2}
    )
    assert_conforms(estimate, CARBON_ESTIMATE)
    # getCarbonReport(jobId, startTime, endTime, ...): ISO strings from Date.toISOString().
    start = grid - timedelta(hours=3)
    report = ts_sdk.request(
        "POST",
        "/carbon/report",
        body={
            "job_id": "job-ts",
            "start_time": ts_iso(start),
            "end_time": ts_iso(start + timedelta(hours=2)),
            "data_size_gb": 500,
            "zone": "US-CAL-CISO",
        },
    )
    assert_conforms(report, CARBON_REPORT)
    assert isinstance(report["equivalent"], str)


def test_the_typescript_client_works_with_its_key_as_x_api_key_or_bearer(live_server, viewer_user, api_key_for):
    key = api_key_for(viewer_user)
    for client in (
        TypeScriptClient(live_server.url, api_key=key),  # new HyperSDK({baseURL, apiKey})
        TypeScriptClient(live_server.url, headers={"Authorization": f"Bearer {key}"}),  # {headers: {...}}
    ):
        assert_conforms(client.request("GET", "/status"), DAEMON_STATUS)
        assert_conforms(client.request("POST", "/carbon/status", body={"zone": "DE"}), CARBON_STATUS)
    with pytest.raises(APIError) as wrong:
        TypeScriptClient(live_server.url, headers={"Authorization": f"Bearer {key}x"}).request("GET", "/status")
    assert wrong.value.status == 401  # AuthenticationError


def test_the_typescript_clients_job_and_schedule_calls_run_unchanged(ts_sdk):
    submitted = ts_sdk.request("POST", "/jobs/submit", body={"vm_path": "/datacenter/vm/web", "output_dir": "/backups/web"})
    assert_conforms(submitted, SUBMIT)
    job_id = submitted["job_ids"][0]
    assert_conforms(ts_sdk.request("GET", f"/jobs/{job_id}"), JOB)
    assert_conforms(ts_sdk.request("POST", "/jobs/query", body={"job_ids": [job_id]}), QUERY)
    assert_conforms(ts_sdk.request("GET", "/jobs/query", params={"all": "true"}), QUERY)
    assert_conforms(ts_sdk.request("GET", f"/jobs/progress/{job_id}"), JOB_PROGRESS)
    eta = ts_sdk.request("GET", f"/jobs/eta/{job_id}")
    assert isinstance(eta.get("estimated_remaining") or eta.get("eta") or "Unknown", str | dict)
    assert_conforms(ts_sdk.request("POST", "/jobs/cancel", body={"job_ids": [job_id]}), CANCEL)

    created = ts_sdk.request(
        "POST", "/schedules", body={"name": "ts", "schedule": "0 4 * * *", "job_template": {"vm_path": "/datacenter/x"}}
    )
    assert_conforms(created, SCHEDULED_JOB)
    queue = ts_sdk.request("GET", "/schedules/queue")
    assert_conforms(queue, QUEUE)
    old = BackupJobFactory(status=BackupJob.Status.SCHEDULED, attempts=1, next_attempt_at=datetime.now(UTC))
    assert_conforms(ts_sdk.request("GET", "/schedules/retry", params={"job_id": old.id}), RETRY)
    assert_conforms(ts_sdk.request("GET", "/schedules/timewindow", params={"job_id": old.id}), TIME_WINDOW)
    # validateSchedule({name, schedule, jobTemplate}): advanced_config undefined is left out by JSON.stringify.
    invalid = ts_sdk.request(
        "POST", "/schedules/validate", body={"name": "ts", "schedule": "nope", "job_template": {"vm_path": "/x"}}
    )
    assert_conforms(invalid, VALIDATE)
    assert invalid["valid"] is False and invalid["errors"]
    with pytest.raises(APIError) as refused:
        ts_sdk.request("GET", "/schedules/dependencies", params={"job_id": old.id})
    assert refused.value.status == 501 and isinstance(refused.value.body["error"], str)
    ts_sdk.request("DELETE", f"/schedules/{created['id']}")


# -- the Go CLI (hyperctl carbon ...) --------------------------------------------------------------


def test_the_cli_works_without_credentials_when_carbon_reads_are_public(live_server, settings, grid):
    settings.CARBON_PUBLIC_READ = True
    cli = GoCLI(live_server.url)
    code, status = cli.request("/carbon/status", "POST", {"threshold": 200.0, "zone": "US-CAL-CISO"})
    assert code == 200
    assert_conforms(status, CARBON_STATUS)
    code, zones = cli.request("/carbon/zones")
    assert code == 200
    assert_conforms(zones, CARBON_ZONES)
    code, estimate = cli.request(
        "/carbon/estimate", "POST", {"data_size_gb": 500.0, "duration_hours": 2.0, "zone": "US-CAL-CISO"}
    )
    assert code == 200
    assert_conforms(estimate, CARBON_ESTIMATE)
    # hyperctl carbon report: time.Time fields marshalled as RFC 3339.
    start = grid - timedelta(hours=3)
    code, report = cli.request(
        "/carbon/report",
        "POST",
        {
            "data_size_gb": 500.0,
            "end_time": go_time(start + timedelta(hours=2)),
            "job_id": "job-cli",
            "start_time": go_time(start),
            "zone": "US-CAL-CISO",
        },
    )
    assert code == 200, report
    assert_conforms(report, CARBON_REPORT)  # Go: Equivalent string, RenewablePercent float64

    # HyperSDK's Go daemon names of the same grids are answered with hyperweb's ids.
    code, tokyo = cli.request("/carbon/status", "POST", {"threshold": 200.0, "zone": "JP-TK"})
    assert code == 200 and tokyo["zone"] == "JP"


def test_the_cli_is_refused_with_a_json_401_while_carbon_reads_are_closed(live_server, settings):
    settings.CARBON_PUBLIC_READ = False
    code, body = GoCLI(live_server.url).request("/carbon/zones")
    assert code == 401
    assert_conforms(body, ERROR)


# -- the checker itself can fail -------------------------------------------------------------------


def test_the_type_checker_catches_what_crashed_the_clients():
    old_status = {**dict.fromkeys(CARBON_STATUS, None), "forecast_next_4h": []}
    assert any("renewable_percent" in e for e in conformance_errors(old_status, CARBON_STATUS))
    old_report = {"equivalent": {"km_driving": 1.0}, "renewable_percent": None}
    errors = conformance_errors(old_report, {"equivalent": STR, "renewable_percent": NUM})
    assert len(errors) == 2
    assert conformance_errors({"total": 3.0}, {"total": INT}) and not conformance_errors({}, {"x": opt(STR)})
    assert conformance_errors({"t": "2026-01-01 00:00:00"}, {"t": TIME})
