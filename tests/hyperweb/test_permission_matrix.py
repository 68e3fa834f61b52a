"""The permission matrix: every route x every persona x every method, with the status each gets.

The routes are walked from hyperweb/urls.py's resolver (the Django admin's own pages are left out,
except its login page and the two probes in ADMIN_PROBES; static files are not routes here), so a
route added without a row in MATRIX below fails `test_it_has_a_row_for_every_route` naming it.

Each cell is sent as every credential the route takes: pages by the session cookie (with a valid
CSRF token, as a browser sends it); API routes and downloads also by `X-API-Key`, by
`Authorization: Bearer <key>` and by a login token (`Bearer <token>`), on GET and every method the
route serves (methods it answers with 405 go by the session only, see credentials()); all must give
the cell's status unless the cell names an exception. Each request runs in a savepoint rolled back afterwards,
with an empty cache, so no case sees another's changes (a cancel, a delete, a logout).

Beside the table, rules that hold whatever a row says (so a wrong row cannot hide a hole):
- no request answers 5xx (501 "not supported" excepted, docs/API.md);
- an anonymous caller never changes state: an unsafe method is refused (4xx, or a redirect to the
  login page) and writes nothing; a GET writes nothing either;
- an outsider (no role) and a viewer write nothing, except on PERSONAL routes, where they may
  change only their own rows (their session, their alert preferences);
- an API route never redirects to the login page (scripts would save the login page);
- operators (and everyone below) are refused the admin-only routes.
Writes are caught at the database cursor (INSERT/UPDATE/DELETE), less BOOKKEEPING (sessions, an
API key's last_used_at, the carbon readings cache). Two more tests: an admin's session without the
CSRF token changes nothing anywhere, and CARBON_PUBLIC_READ opens the carbon reads and nothing else.

A new route: run the matrix test; its failure prints the observed rows in MATRIX's format. Check
them against docs/API.md and the README before pasting them in (the table is what the docs promise,
not whatever the code happens to answer); add a body in BODIES if its main action needs one.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.crypto import get_random_string
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework.views import APIView

from accounts.models import APIKey, APIToken
from carbon.models import Zone
from carbon.services import load_demo_data
from reports.api import views as esg_views
from reports.esg import pdf as esg_pdf
from scheduler.models import BackupJob
from tests.dashboard.conftest import make_job
from tests.scheduler.factories import BackupPolicyFactory
from tests.scheduler.lifecycle import enqueued, make_backup, roots  # noqa: F401 (fixtures)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PERSONAS = ("anon", "none", "viewer", "operator", "admin")

# kind: api  = a DRF view: every credential below must give the cell's status;
#       file = a download page that also takes X-API-Key / Bearer (download_role_required);
#       page = an HTML page (or the metrics endpoint): the session cookie only.
# methods: one or more of GET,POST,PUT,PATCH,DELETE, or * for every method no other row names.
# cells: the status; `login` = a 302 to the login page (a refusal); `302` = a redirect elsewhere;
#        `403+token=200`: 403 for every credential but a login token, which gets 200.
# Credentials: session (cookie + CSRF token), key (X-API-Key), bearer (Authorization: Bearer <key>),
#        token (Authorization: Bearer <token from POST /api/login>).
# Personas: anon (no credentials), none (authenticated, no role), viewer, operator, admin.
MATRIX = """
route                                       kind  methods     anon   none   viewer operator admin
health                                      api   GET         200    200    200    200    200
health                                      api   *           405    405    405    405    405
status                                      api   GET         401    403    200    200    200
status                                      api   *           401    403    405    405    405
capabilities                                api   GET         401    403    200    200    200
capabilities                                api   *           401    403    405    405    405
api/login                                   api   POST        400    400    400    400    400
api/login                                   api   *           405    405    405    405    405
api/logout                                  api   POST        401    403+token=200 403+token=200 403+token=200 403+token=200
api/logout                                  api   *           401    405    405    405    405
openapi.yaml                                api   GET         200    200    200    200    200
openapi.yaml                                api   *           405    405    405    405    405
openapi.json                                api   GET         200    200    200    200    200
openapi.json                                api   *           405    405    405    405    405
docs                                        api   GET         200    200    200    200    200
docs                                        api   *           405    405    405    405    405
redoc                                       api   GET         200    200    200    200    200
redoc                                       api   *           405    405    405    405    405
admin/login/                                page  GET         200    200    200    200    302
admin/login/                                page  POST        200    200    200    200    200
admin/login/                                page  *           405    405    405    405    405
carbon/status                               api   POST        401    403    200    200    200
carbon/status                               api   *           401    403    405    405    405
carbon/zones                                api   GET         401    403    200    200    200
carbon/zones                                api   *           401    403    405    405    405
carbon/zones/<str:zone_id>                  api   GET         401    403    200    200    200
carbon/zones/<str:zone_id>                  api   *           401    403    405    405    405
carbon/zones/<str:zone_id>/intensity        api   GET         401    403    200    200    200
carbon/zones/<str:zone_id>/intensity        api   *           401    403    405    405    405
carbon/estimate                             api   POST        401    403    200    200    200
carbon/estimate                             api   *           401    403    405    405    405
carbon/report                               api   POST        401    403    200    200    200
carbon/report                               api   *           401    403    405    405    405
jobs/submit                                 api   POST        401    403    403    200    200
jobs/submit                                 api   *           401    403    403    405    405
jobs/query                                  api   GET,POST    401    403    200    200    200
jobs/query                                  api   *           401    403    405    405    405
jobs/cancel                                 api   POST        401    403    403    200    200
jobs/cancel                                 api   *           401    403    403    405    405
jobs/progress/<str:job_id>                  api   GET         401    403    200    200    200
jobs/progress/<str:job_id>                  api   *           401    403    405    405    405
jobs/logs/<str:job_id>                      api   GET         401    403    200    200    200
jobs/logs/<str:job_id>                      api   *           401    403    405    405    405
jobs/eta/<str:job_id>                       api   GET         401    403    200    200    200
jobs/eta/<str:job_id>                       api   *           401    403    405    405    405
jobs/<str:job_id>/restore                   api   POST        401    403    403    202    202
jobs/<str:job_id>/restore                   api   *           401    403    403    405    405
jobs/<str:job_id>/verify                    api   POST        401    403    403    202    202
jobs/<str:job_id>/verify                    api   *           401    403    403    405    405
jobs/<str:job_id>                           api   GET         401    403    200    200    200
jobs/<str:job_id>                           api   *           401    403    405    405    405
schedules                                   api   GET         401    403    200    200    200
schedules                                   api   POST        401    403    403    201    201
schedules                                   api   *           401    403    403    405    405
schedules/queue                             api   GET         401    403    200    200    200
schedules/queue                             api   *           401    403    405    405    405
schedules/retry                             api   GET         401    403    200    200    200
schedules/retry                             api   *           401    403    405    405    405
schedules/timewindow                        api   GET         401    403    200    200    200
schedules/timewindow                        api   *           401    403    405    405    405
schedules/validate                          api   POST        401    403    200    200    200
schedules/validate                          api   *           401    403    405    405    405
schedules/dependencies                      api   GET         401    403    501    501    501
schedules/dependencies                      api   *           401    403    405    405    405
schedules/advanced/create                   api   POST        401    403    403    501    501
schedules/advanced/create                   api   *           401    403    403    405    405
schedules/<str:schedule_id>                 api   GET         401    403    200    200    200
schedules/<str:schedule_id>                 api   PUT         401    403    403    200    200
schedules/<str:schedule_id>                 api   DELETE      401    403    403    204    204
schedules/<str:schedule_id>                 api   *           401    403    403    405    405
schedules/<str:schedule_id>/enable          api   POST        401    403    403    200    200
schedules/<str:schedule_id>/enable          api   *           401    403    403    405    405
schedules/<str:schedule_id>/disable         api   POST        401    403    403    200    200
schedules/<str:schedule_id>/disable         api   *           401    403    403    405    405
schedules/<str:schedule_id>/trigger         api   POST        401    403    403    200    200
schedules/<str:schedule_id>/trigger         api   *           401    403    403    405    405
reports/esg.csv                             api   GET         401    403    200    200    200
reports/esg.csv                             api   *           401    403    405    405    405
reports/esg-summary.csv                     api   GET         401    403    200    200    200
reports/esg-summary.csv                     api   *           401    403    405    405    405
reports/esg.pdf                             api   GET         401    403    200    200    200
reports/esg.pdf                             api   *           401    403    405    405    405
login                                       page  GET,POST    200    302    302    302    302
login                                       page  *           405    302    302    302    302
logout                                      page  POST        login  login  login  login  login
logout                                      page  *           405    405    405    405    405
/                                           page  GET         login  403    200    200    200
/                                           page  *           login  403    405    405    405
zones/<str:code>                            page  GET         login  403    200    200    200
zones/<str:code>                            page  *           login  403    405    405    405
zones/<str:code>/readings.csv               file  GET         login  403    200    200    200
zones/<str:code>/readings.csv               file  *           login  403    405    405    405
backups                                     page  GET         login  403    200    200    200
backups                                     page  *           login  403    405    405    405
backups/new                                 page  GET         login  403    403    200    200
backups/new                                 page  POST        login  403    403    302    302
backups/new                                 page  *           login  403    403    405    405
backups/progress                            page  GET         login  403    200    200    200
backups/progress                            page  *           login  403    405    405    405
backups/<str:job_id>                        page  GET         login  403    200    200    200
backups/<str:job_id>                        page  *           login  403    405    405    405
backups/<str:job_id>/cancel                 page  GET         login  403    403    200    200
backups/<str:job_id>/cancel                 page  POST        login  403    403    302    302
backups/<str:job_id>/cancel                 page  *           login  403    403    405    405
backups/<str:job_id>/restore                page  GET         login  403    403    200    200
backups/<str:job_id>/restore                page  POST        login  403    403    302    302
backups/<str:job_id>/restore                page  *           login  403    403    405    405
backups/<str:job_id>/verify                 page  POST        login  403    403    302    302
backups/<str:job_id>/verify                 page  *           login  403    403    405    405
policies                                    page  GET         login  403    200    200    200
policies                                    page  *           login  403    405    405    405
policies/new                                page  GET         login  403    403    200    200
policies/new                                page  POST        login  403    403    302    302
policies/new                                page  *           login  403    403    405    405
policies/describe                           page  GET         login  403    200    200    200
policies/describe                           page  *           login  403    405    405    405
policies/<str:policy_id>                    page  GET         login  403    200    200    200
policies/<str:policy_id>                    page  POST        login  403    403    302    302
policies/<str:policy_id>                    page  *           login  403    405    405    405
policies/<str:policy_id>/retention          page  GET         login  403    200    200    200
policies/<str:policy_id>/retention          page  POST        login  403    403    302    302
policies/<str:policy_id>/retention          page  *           login  403    405    405    405
policies/<str:policy_id>/enable             page  POST        login  403    403    302    302
policies/<str:policy_id>/enable             page  *           login  403    403    405    405
policies/<str:policy_id>/disable            page  POST        login  403    403    302    302
policies/<str:policy_id>/disable            page  *           login  403    403    405    405
policies/<str:policy_id>/run                page  POST        login  403    403    302    302
policies/<str:policy_id>/run                page  *           login  403    403    405    405
policies/<str:policy_id>/plan               page  POST        login  403    403    302    302
policies/<str:policy_id>/plan               page  *           login  403    403    405    405
savings                                     page  GET         login  403    200    200    200
savings                                     page  *           login  403    405    405    405
what-if                                     page  GET         login  403    200    200    200
what-if                                     page  *           login  403    405    405    405
reports                                     page  GET         login  403    200    200    200
reports                                     page  *           login  403    405    405    405
alerts/preferences                          page  GET         login  403    200    200    200
alerts/preferences                          page  POST        login  403    302    302    302
alerts/preferences                          page  *           login  403    405    405    405
preferences                                 page  GET         login  403    200    200    200
preferences                                 page  POST        login  403    302    302    302
preferences                                 page  *           login  403    405    405    405
metrics                                     page  GET         403    403    403    403    403
metrics                                     page  *           405    405    405    405    405
admin/                                      page  *           login  login  login  login  200
admin/accounts/apikey/add/                  page  *           login  login  login  login  200
"""

# Routes of the Django admin probed beside the walked ones: the admin's own pages are not walked
# (hundreds of model URLs), but these two show that only admins get in.
ADMIN_PROBES = ["admin/", "admin/accounts/apikey/add/"]
ADMIN_ONLY = frozenset(ADMIN_PROBES)

# Routes where signing in or out is the point: an anonymous POST there is not a state change, and
# the only writes allowed are the caller's own session and token.
LOGIN_ROUTES = frozenset({"login", "logout", "api/login", "api/logout", "admin/login/"})
# Routes where a signed-in user of any role may change their own rows (and nothing else).
PERSONAL = {
    "alerts/preferences": {"alerts_alertpreference", "auth_user"},
    "preferences": {"accounts_userpreference"},
    "logout": set(),
    "api/logout": {"accounts_apitoken"},
    "login": set(),
    "admin/login/": set(),
}
# Tables any request may touch: the session row and an API key's last_used_at; and the carbon
# readings cache, which a read fills from the providers when the stored data are older than their
# TTL (public grid data, not something a caller changes).
BOOKKEEPING = frozenset(
    {
        "django_session",
        "accounts_apikey",
        "carbon_carbonreading",
        "carbon_fetchattempt",
        "carbon_forecastissue",
    }
)

# Path parameters, by name, then by route where one route needs another object.
PATH_VALUES = {
    "job_id": "backup",
    "schedule_id": "policy",
    "policy_id": "policy",
    "zone_id": "DE",
    "code": "DE",
}
PATH_OVERRIDES = {
    ("backups/<str:job_id>/cancel", "job_id"): "waiting",
}

NIGHTLY = {
    "name": "matrix nightly",
    "schedule": "0 22 * * *",
    "job_template": {"vm_path": "web01"},
    "zone": "DE",
    "window_start": "22:00",
    "window_hours": 8,
}


def REPORT(objects: dict[str, Any]) -> dict[str, Any]:
    """A finished operation inside the readings the world holds (the last two hours)."""
    end = objects["now"]
    return {
        "start_time": (end - timedelta(hours=2)).isoformat(),
        "end_time": (end - timedelta(hours=1)).isoformat(),
        "data_size_gb": 1,
        "zone": "DE",
    }


POLICY_FORM = {
    "name": "matrix form",
    "schedule": "0 22 * * *",
    "window_start": "22:00",
    "window_hours": "8",
    "vm_path": "web01",
    "data_size_gb": "10",
    "expected_duration_hours": "1",
    "zone": "DE",
    "carbon_aware": "on",
    "enabled": "on",
}

# Query strings for routes that need one to answer at all.
QUERIES = {
    "reports/esg.csv": "period=2026-Q3",
    "reports/esg-summary.csv": "period=2026-Q3",
    "reports/esg.pdf": "period=2026-Q3",
    "policies/describe": "schedule=0+22+*+*+*&window_start=22:00&window_hours=8",
}

# The body sent with an unsafe method: the one a real client sends for the route's main action
# (so the table shows who succeeds, not who fails validation); {} elsewhere. JSON on API routes,
# form-encoded on pages. "{waiting}" is replaced by the id of a job still waiting to run.
BODIES: dict[str, Any] = {
    "jobs/submit": {"vm_path": "web01", "name": "matrix"},
    "jobs/query": {"job_ids": ["{waiting}"]},
    "jobs/cancel": {"job_ids": ["{waiting}"]},
    "jobs/<str:job_id>/restore": {"target": "matrix"},
    "schedules": NIGHTLY,
    "schedules/<str:schedule_id>": {"window_hours": 4},
    "schedules/validate": NIGHTLY,
    "carbon/status": {"zone": "DE"},
    "carbon/estimate": {"zone": "DE", "data_size_gb": 1},
    "carbon/report": REPORT,
    "backups/new": {
        "vm_path": "web01",
        "zone": "DE",
        "expected_duration_hours": "1",
        "max_delay_hours": "4",
        "carbon_aware": "on",
        "executor": "file",
    },
    "backups/<str:job_id>/cancel": {"confirm": "yes"},
    "backups/<str:job_id>/restore": {"target": "matrix", "confirm": "yes"},
    "policies/new": POLICY_FORM,
    "policies/<str:policy_id>": POLICY_FORM,
    "policies/<str:policy_id>/retention": {"keep_last": "3"},
    "alerts/preferences": {"email": "someone@example.com"},
    "preferences": {"timezone": "Europe/Berlin"},
}


@dataclass(frozen=True)
class Row:
    route: str
    kind: str
    methods: tuple[str, ...]  # () = every method no other row of the route names
    cells: dict[str, str]


def parse_matrix(text: str) -> dict[str, dict[str, tuple[str, dict[str, str]]]]:
    """{route: {method: (kind, {persona: expected})}}; raises on a malformed or repeated row."""
    table: dict[str, dict[str, tuple[str, dict[str, str]]]] = {}
    rest: dict[str, Row] = {}
    lines = [line.split("#")[0].split() for line in text.strip().splitlines()[1:]]
    for parts in filter(None, lines):
        if len(parts) != 3 + len(PERSONAS):
            raise ValueError(
                f"MATRIX row {' '.join(parts)!r}: expected route kind methods + {len(PERSONAS)} cells"
            )
        route, kind, methods, *cells = parts
        route = "" if route == "/" else route.lstrip("/")
        if kind not in ("api", "file", "page"):
            raise ValueError(f"MATRIX row for {route!r}: unknown kind {kind!r}")
        row = Row(
            route,
            kind,
            () if methods == "*" else tuple(methods.split(",")),
            dict(zip(PERSONAS, cells, strict=False)),
        )
        if row.methods == ():
            rest[route] = row
            continue
        for method in row.methods:
            if method not in METHODS or method in table.get(route, {}):
                raise ValueError(f"MATRIX row for {route!r}: method {method!r} unknown or repeated")
            table.setdefault(route, {})[method] = (kind, row.cells)
    for route, row in rest.items():
        for method in METHODS:
            table.setdefault(route, {}).setdefault(method, (row.kind, row.cells))
    return table


def walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        else:
            yield route, pattern


def routes() -> dict[str, URLPattern | None]:
    """Every route of hyperweb/urls.py but the admin's own pages and static files, plus the probes."""
    found: dict[str, URLPattern | None] = {}
    static = settings.STATIC_URL.lstrip("/")
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith("admin/") and route != "admin/login/":
            continue
        if static and route.startswith(static):
            continue
        found.setdefault(route, pattern)
    for probe in ADMIN_PROBES:
        found[probe] = None
    return found


def is_drf(pattern: URLPattern | None) -> bool:
    cls = getattr(pattern.callback, "cls", None) if pattern else None
    return isinstance(cls, type) and issubclass(cls, APIView)


# --- the data every case sees (rolled back to after each case) ---------------------------------


def first_answer(function: Any) -> Any:
    """`function`, answering every call with its first call's result."""
    kept: list[Any] = []

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not kept:
            kept.append(function(*args, **kwargs))
        return kept[0]

    return wrapped


def answer_once_per_arguments(function: Any) -> Any:
    """`function`, computed once for each distinct set of arguments (compared by repr)."""
    kept: dict[str, Any] = {}

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = repr((args, sorted(kwargs.items())))
        if key not in kept:
            kept[key] = function(*args, **kwargs)
        return kept[key]

    return wrapped


@pytest.fixture
def expensive_bodies_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ESG report (loaded and as a PDF) and the OpenAPI schema are made once, then reused: each costs 0.2-2 s on a
    loaded machine and the matrix asks for them ~40 times, about who may see them. Their contents
    are tested in tests/reports and tests/api/test_openapi.py; who gets them is decided before."""
    monkeypatch.setattr(esg_pdf, "render_pdf", first_answer(esg_pdf.render_pdf))
    monkeypatch.setattr(esg_views.loader, "build", answer_once_per_arguments(esg_views.loader.build))
    monkeypatch.setattr(SchemaGenerator, "get_schema", first_answer(SchemaGenerator.get_schema))
    for renderer in (OpenApiYamlRenderer, OpenApiJsonRenderer):
        monkeypatch.setattr(renderer, "render", first_answer(renderer.render))


@pytest.fixture
def world(
    roots,  # noqa: F811
    admin_user,
    operator_user,
    viewer_user,
    outsider_user,
    api_key_for,
    expensive_bodies_once,
) -> dict[str, Any]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    zone = Zone.objects.get(code="DE")
    # A day of readings and the forecast for every zone, with their fetches recorded, so no request
    # fetches from a provider (fetched "now", within every TTL): a fetch undone by each case's rollback
    # would be redone in the next.
    load_demo_data(days=1, now=datetime.now(UTC))
    backup = make_backup(roots)
    waiting = make_job(zone, status=BackupJob.Status.SCHEDULED)
    policy = BackupPolicyFactory(zone=zone, job_template={"vm_path": "web01", "metadata": {}})
    users = {"none": outsider_user, "viewer": viewer_user, "operator": operator_user, "admin": admin_user}
    sessions = {}
    for persona, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[persona] = client.cookies[settings.SESSION_COOKIE_NAME].value
    keys = {persona: api_key_for(user) for persona, user in users.items()}
    # Marked as used in the coming hour: the once-a-minute last_used_at write then stays out of
    # every case (it is bookkeeping, and the rollback would undo it each time).
    APIKey.objects.update(last_used_at=now + timedelta(hours=1))
    tokens = {persona: APIToken.issue(user)[1] for persona, user in users.items()}
    APIToken.objects.update(last_used_at=now + timedelta(hours=1))
    objects = {"backup": backup.pk, "waiting": waiting.pk, "policy": policy.pk, "DE": "DE", "now": now}
    # One client for every case (a new one loads the middleware again, WhiteNoise's file scan too);
    # send() gives it fresh cookies each time.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    return {
        "sessions": sessions,
        "keys": keys,
        "tokens": tokens,
        "objects": objects,
        "users": users,
        "client": client,
    }


def fill(route: str, objects: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        source = PATH_OVERRIDES.get((route, name)) or PATH_VALUES.get(name)
        if source is None:
            raise LookupError(
                f"route {route!r}: no fixture value for path parameter {name!r} (add it to PATH_VALUES)"
            )
        return str(objects[source])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def body_for(route: str, objects: dict[str, Any]) -> Any:
    body = BODIES.get(route, {})
    if callable(body):
        return body(objects)
    if isinstance(body, dict):
        return {
            key: [objects["waiting"] if v == "{waiting}" else v for v in value]
            if isinstance(value, list)
            else value
            for key, value in body.items()
        }
    return body


class Writes:
    """The tables written (INSERT/UPDATE/DELETE) while it is installed on the connection."""

    pattern = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)"?', re.I)

    def __init__(self) -> None:
        self.tables: set[str] = set()

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        match = self.pattern.match(sql)
        if match:
            self.tables.add(match.group(1))
        return execute(sql, params, many, context)


@dataclass
class Outcome:
    status: int
    cell: str  # the status as the table writes it
    writes: set[str]


def send(
    world: dict[str, Any], route: str, method: str, persona: str, credential: str, *, csrf_token: bool = True
) -> Outcome:
    client = world["client"]
    client.cookies = SimpleCookie()  # nothing carries over from the last case (a logout, a message)
    headers: dict[str, str] = {}
    if csrf_token:
        # Everyone, anonymous callers too, sends a valid CSRF token (anyone can get one from the
        # login page), so that CSRF protection does not stand in for the permission check tested.
        csrf = get_random_string(32)
        client.cookies[settings.CSRF_COOKIE_NAME] = csrf
        headers["X-CSRFToken"] = csrf
    if persona != "anon":
        if credential == "session":
            client.cookies[settings.SESSION_COOKIE_NAME] = world["sessions"][persona]
        elif credential == "key":
            headers["X-API-Key"] = world["keys"][persona]
        elif credential == "bearer":
            headers["Authorization"] = f"Bearer {world['keys'][persona]}"
        else:
            headers["Authorization"] = f"Bearer {world['tokens'][persona]}"
    url = fill(route, world["objects"]) + (f"?{QUERIES[route]}" if route in QUERIES else "")
    kwargs: dict[str, Any] = {"headers": headers}
    if method in UNSAFE:
        body = body_for(route, world["objects"])
        if is_drf(ROUTES[route]):
            kwargs.update(data=body, content_type="application/json")
        elif method == "POST":
            kwargs["data"] = body
    writes = Writes()
    with transaction.atomic():
        cache.clear()
        with connection.execute_wrapper(writes):
            response = getattr(client, method.lower())(url, **kwargs)
        transaction.set_rollback(True)
    status = response.status_code
    cell = str(status)
    if status == 302:
        location = response.get("Location", "")
        if (
            location.startswith((settings.LOGIN_URL + "?", "/admin/login/?"))
            or location == settings.LOGIN_URL
        ):
            cell = "login"
    return Outcome(status, cell, writes.tables)


ROUTES = routes()


def credentials(kind: str, persona: str, served: bool = True) -> tuple[str, ...]:
    """The credentials a case is sent with. A method the route does not serve (405 for an admin)
    is refused after authentication whatever the credential (DRF authenticates first), so there
    the session alone stands for them: this halves the matrix's time on a loaded machine."""
    if persona == "anon":
        return ("none",)
    return ("session",) if kind == "page" or not served else ("session", "key", "bearer", "token")


# POST routes that only read (they compute an answer from the body); with CARBON_PUBLIC_READ the
# carbon ones are open to anonymous callers, and the write check alone holds them.
CARBON_READS_BY_POST = frozenset({"carbon/status", "carbon/estimate", "carbon/report"})


def violations(
    route: str, kind: str, method: str, persona: str, outcome: Outcome, *, carbon_public: bool = False
) -> list[str]:
    """The rules that hold whatever the table says."""
    found = []
    own = PERSONAL.get(route)
    extra = outcome.writes - BOOKKEEPING - (own if own is not None else set())
    if outcome.status >= 500 and outcome.status != 501:
        found.append(f"answered {outcome.status}")
    if kind == "api" and outcome.cell == "login":
        found.append("an API route redirected to the login page")
    if persona in ("anon", "none", "viewer") and extra:
        found.append(f"{persona} wrote to {sorted(extra)}")
    opened = carbon_public and method == "POST" and route in CARBON_READS_BY_POST
    if persona == "anon" and method in UNSAFE and route not in LOGIN_ROUTES and not opened:
        if not (400 <= outcome.status < 500 or outcome.cell == "login"):
            found.append(f"anonymous {method} was not refused ({outcome.status})")
    if route in ADMIN_ONLY and persona != "admin":
        if not (400 <= outcome.status < 500 or outcome.cell == "login"):
            found.append(f"{persona} got into an admin-only route ({outcome.status})")
    return found


def cell_text(seen: dict[str, str]) -> str:
    """What each credential got, as a cell: `403`, or `403+token=200` where one differs."""
    first, *others = seen.items()
    return first[1] + "".join(f"+{credential}={cell}" for credential, cell in others if cell != first[1])


def row_text(route: str, kind: str, method: str, cells: dict[str, str]) -> str:
    shown = route or "/"
    return f"{shown:<43} {kind:<5} {method:<11} " + " ".join(f"{cells[p]:<6}" for p in PERSONAS)


# --- the tests ----------------------------------------------------------------------------------


def test_it_has_a_row_for_every_route() -> None:
    table = parse_matrix(MATRIX)
    missing = [route or "/" for route in ROUTES if route not in table]
    stale = [route or "/" for route in table if route not in ROUTES]
    assert not missing, (
        f"routes without a row in MATRIX (tests/hyperweb/test_permission_matrix.py): {missing}"
    )
    assert not stale, f"MATRIX rows for routes that no longer exist: {stale}"
    wrong_kind = [
        route or "/"
        for route, methods in table.items()
        if route in ROUTES and (methods["GET"][0] == "api") != is_drf(ROUTES[route])
    ]
    assert not wrong_kind, (
        f"MATRIX rows whose kind says api for a non-DRF view or page for a DRF one: {wrong_kind}"
    )


def test_it_fills_every_path_parameter() -> None:
    objects = {"backup": "b", "waiting": "w", "policy": "p", "DE": "DE"}
    for route in ROUTES:
        assert "<" not in fill(route, objects), route


@pytest.mark.django_db
def test_it_gives_each_persona_the_status_in_the_matrix_for_every_route_and_method(world) -> None:
    table = parse_matrix(MATRIX)
    problems: list[str] = []
    observed_rows: list[str] = []
    started = time.perf_counter()
    cases = 0
    spent: dict[str, float] = {}
    for route in ROUTES:
        if route not in table:
            problems.append(f"/{route}: no row in MATRIX")
        for method in METHODS:
            kind, expected = table.get(route, {}).get(
                method, ("api" if is_drf(ROUTES[route]) else "page", {})
            )
            observed: dict[str, str] = {}
            for persona in PERSONAS:
                seen: dict[str, str] = {}
                for credential in credentials(
                    kind, persona, served=method == "GET" or expected.get("admin") != "405"
                ):
                    began = time.perf_counter()
                    outcome = send(world, route, method, persona, credential)
                    spent[route] = spent.get(route, 0.0) + time.perf_counter() - began
                    cases += 1
                    seen[credential] = outcome.cell
                    for problem in violations(route, kind, method, persona, outcome):
                        problems.append(f"{method} /{route} as {persona} ({credential}): {problem}")
                observed[persona] = cell_text(seen)
            if observed != expected:
                observed_rows.append(row_text(route, kind, method, observed))
                problems.append(
                    f"{method} /{route}: expected "
                    + ", ".join(f"{p} {expected.get(p, '?')}" for p in PERSONAS)
                    + "; got "
                    + ", ".join(f"{p} {observed[p]}" for p in PERSONAS)
                )
    elapsed = time.perf_counter() - started
    slowest = sorted(spent.items(), key=lambda item: -item[1])[:6]
    print(
        f"permission matrix: {len(ROUTES)} routes x {len(PERSONAS)} personas x {len(METHODS)} methods, "
        f"{cases} requests in {elapsed:.1f} s; slowest routes: "
        + ", ".join(f"/{route} {seconds:.1f} s" for route, seconds in slowest)
    )
    assert not problems, "\n".join(problems) + "\n\nobserved rows:\n" + "\n".join(observed_rows)


@pytest.mark.django_db
def test_it_changes_nothing_for_a_signed_in_browser_without_the_csrf_token(world) -> None:
    """A cross-site form riding on an admin's session: every unsafe method on every route is refused
    (403 from the CSRF check, or 405/400 where the route takes no session) and writes nothing."""
    problems = []
    statuses: dict[int, int] = {}
    for route in ROUTES:
        for method in sorted(UNSAFE):
            outcome = send(world, route, method, "admin", "session", csrf_token=False)
            written = outcome.writes - BOOKKEEPING
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
            if not 400 <= outcome.status < 500 or written:
                problems.append(f"{method} /{route}: {outcome.status}, wrote {sorted(written)}")
    assert not problems, "\n".join(problems)
    assert statuses[403] > len(ROUTES), statuses  # the CSRF check answered, not only 405s


@pytest.mark.django_db
def test_it_opens_only_the_carbon_reads_to_anonymous_callers_with_carbon_public_read(world, settings) -> None:
    """CARBON_PUBLIC_READ=true (docs/API.md): anonymous callers get what a viewer gets from the six
    carbon routes, and still nothing else; the routes store nothing (but the readings cache)."""
    settings.CARBON_PUBLIC_READ = True
    table = parse_matrix(MATRIX)
    carbon = [route for route in ROUTES if route.startswith("carbon/")]
    assert len(carbon) == 6, carbon
    problems = []
    for route in ROUTES:
        for method in METHODS:
            outcome = send(world, route, method, "anon", "none")
            kind, expected = table[route][method]
            wanted = expected["viewer"] if route in carbon else expected["anon"]
            problems += [
                f"{method} /{route}: {problem}"
                for problem in violations(route, kind, method, "anon", outcome, carbon_public=True)
            ]
            if outcome.cell != wanted:
                problems.append(f"{method} /{route}: anonymous got {outcome.cell}, expected {wanted}")
    assert not problems, "\n".join(problems)
