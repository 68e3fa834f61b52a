"""hyperweb settings, by subject, each read once from the environment (README, "Configuration").

Every variable goes through a hyperweb.env helper: an unset or empty variable gives the default,
a value the helper cannot use stops start-up with ImproperlyConfigured naming the variable.
The subjects, in order: paths and core; security; database; cache and task broker; static files;
logging; REST API; carbon providers; carbon data; energy model; planning; backup execution;
backup lifecycle (restore, verification, retention); ESG reports and what-if; alerts; metrics.
README's configuration table follows the same subjects.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor  # type: ignore[import-untyped]  # whitenoise ships no types

from hyperweb.env import (
    check_pairs,
    database_from_url,
    env_bool,
    env_choice,
    env_count,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_optional_float,
    env_pairs,
    env_seconds,
    env_str,
    env_time_of_day,
    env_url,
)

# ================================================================================================
# Paths and core
# ================================================================================================
BASE_DIR = Path(__file__).resolve().parent.parent
# The data folder: SQLite database, secret key, static files, demo VMs, backups, restores.
DATA_DIR = Path(env_str("HYPERWEB_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
VERSION = "0.1.0"
DEBUG = env_bool("DEBUG", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "hyperweb",
    "accounts",
    "carbon",
    "scheduler",
    "reports",
    "alerts",
    "metrics",
    "dashboard",
    # After scheduler: scheduler's `qcluster` command (a cluster that stops promptly) wins over django-q2's.
    "django_q",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Refuse over-large bodies with a JSON 413 before they are read (limit: API_MAX_BODY_BYTES).
    "hyperweb.api.middleware.BodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and API answers are gzipped (static files come pre-compressed from WhiteNoise). BREACH:
    # the only secret on a page is the CSRF token, which Django masks afresh for every response,
    # and GZipMiddleware pads each answer by a random length (Django 4.2+, "Heal the Breach");
    # a new API key is shown once (admin), a fresh secret each time, so it cannot be probed repeatedly.
    "django.middleware.gzip.GZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "hyperweb.middleware.PrivateNoStoreMiddleware",
    # A page's empty 405 (require_POST) gets a body that says what the address is for.
    "hyperweb.middleware.MethodNotAllowedBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Page views in the signed-in user's chosen timezone (read at every request); the API in UTC.
    "accounts.middleware.ViewerTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # No web request waits on a remote provider: reads answer from stored data and queue a refresh
    # for the workers (carbon/middleware.py, carbon.services.fetching.web_request).
    "carbon.middleware.ProviderWaitMiddleware",
]

ROOT_URLCONF = "hyperweb.urls"
WSGI_APPLICATION = "hyperweb.wsgi.application"
APPEND_SLASH = False  # the HyperSDK clients call root paths without trailing slashes

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "accounts.preferences.viewer_timezone",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ================================================================================================
# Security: secret key, hosts, HTTPS, logins, Content-Security-Policy
# ================================================================================================


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data folder."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # Written to a private (0600) temporary and linked into place: the key is never readable by
        # others, not even between a write and a chmod, and a web server and a worker starting
        # together agree on one key (the second link fails and that process reads the first key).
        fd, temp = tempfile.mkstemp(dir=DATA_DIR, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
            try:
                os.link(temp, path)
            except FileExistsError:
                pass  # another process made it first: use its key
            except OSError:  # a filesystem without hard links: an atomic rename instead
                os.replace(temp, path)
        finally:
            Path(temp).unlink(missing_ok=True)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Served over HTTPS (HTTPS=true), the session and CSRF cookies are marked Secure, so a browser never
# sends a logged-in session over plain HTTP. Behind a TLS-terminating proxy Django sees plain HTTP;
# TRUST_X_FORWARDED_PROTO=true then reads the proxy's X-Forwarded-Proto, which is safe only when the
# proxy sets that header itself (dropping any the client sent), hence off unless asked for, and
# never without HTTPS.
HTTPS = env_bool("HTTPS", False)
_TRUST_X_FORWARDED_PROTO = env_bool("TRUST_X_FORWARDED_PROTO", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
if HTTPS and _TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Django's backend, reading each request's user with their preferences in the same query (their
# display timezone is read at every request: a change shows on every device at its next page).
# ModelBackend stays for sessions signed in before (they read the preference in a query of its own).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.PreferenceModelBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login"
# Messages live in the session (server side), never in Django's default messages cookie, which is
# signed but readable by anyone holding it: no message may ever carry something secret to a browser.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Content-Security-Policy (django-csp). Scripts come from this server only: plotly.js, the pages'
# scripts and the API docs' assets are all served here (no CDN). Charts are JSON data blocks drawn
# by static/js/charts.js, and Swagger UI loads its init script from /docs?script, so no inline
# script runs. An inline script that is ever needed carries the request's nonce:
# <script nonce="{{ CSP_NONCE }}"> (the nonce is added to the header only on responses that used
# it). Styles may be inline: plotly.js, Swagger UI and Redoc set style attributes and <style>
# elements at run time (a nonce would turn that off). Redoc searches in a web worker started from
# a blob: URL.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# ================================================================================================
# Database: SQLite in the data folder by default, PostgreSQL with DATABASE_URL
# ================================================================================================
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "hyperweb.sqlite3",
            "OPTIONS": {
                # WAL lets the web server read while a worker writes; immediate transactions take
                # the write lock up front, so a busy writer waits (timeout) instead of failing.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30, minimum=1),
            },
            # The test database is a file (WAL, like production), one per test process: threads of
            # a test (live server, cancel from another thread) share it as the product's processes
            # share theirs. An in-memory database shared between threads locks whole tables.
            "TEST": {"NAME": str(Path(tempfile.gettempdir()) / f"hyperweb-test-{os.getpid()}.sqlite3")},
        }
    }

# ================================================================================================
# Cache and task broker: local memory and the ORM broker by default, Redis with REDIS_URL
# ================================================================================================
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))

# The default cache (the carbon status cache, the overview's tiles) is best shared by every web
# process. With REDIS_URL, Django's built-in RedisCache (the `redis` package, already required by
# django-q2) in the same Redis, its keys prefixed so they never meet the broker's; without it, each
# process's local memory (a miss costs a recomputation, nothing more). The login throttle's counters
# are in the database (accounts.LoginFailure), so every process counts together either way. Note:
# cache.clear() on RedisCache flushes the whole Redis database, the broker's queue included; nothing
# in hyperweb calls it outside tests.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hyperweb-cache",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The what-if answers (reports/whatif.py) are computed by the workers and read by the web
# processes, so they need a cache both see even without Redis: files under DATA_DIR/cache/whatif
# (Django's FileBasedCache: one file per answer, written to a temporary name and renamed).
_WHATIF_CACHE: dict[str, Any] = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "hyperweb-whatif"}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "whatif"),
        # 12 zones x (30 replays + 90 distributions) a day, two days kept, and the queue markers.
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
)
CACHES["whatif"] = _WHATIF_CACHE

# Background workers (django-q2). Q_TIMEOUT: seconds before django-q2 kills a task (the backup
# timeout, BACKUP_JOB_TIMEOUT_SECONDS, acts first); a task is redelivered a minute after that.
_Q_TIMEOUT = env_int("Q_TIMEOUT", 6 * 3600, minimum=10)
Q_CLUSTER: dict[str, Any] = {  # django-q2 reads it (mixed value types)
    "name": "hyperweb",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": _Q_TIMEOUT,
    "retry": _Q_TIMEOUT + 60,
    "max_attempts": 1,  # retries are decided by hyperweb (with backoff), not by re-delivery
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.5,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# On SIGTERM/SIGINT, `manage.py qcluster` lets running work finish for this long, then stops it (a
# backup cut short is retried, like one whose worker died: scheduler/management/commands/qcluster.py).
Q_STOP_GRACE_SECONDS = env_float("Q_STOP_GRACE_SECONDS", 5.0, minimum=0)

# ================================================================================================
# Static files
# ================================================================================================
# `collectstatic` (run by `make run`) copies every file into STATIC_ROOT under a content-hashed
# name (css/hyperweb.3f2a....css) with .gz and .br copies; WhiteNoise serves those with
# `Cache-Control: max-age=315360000, public, immutable` and the smallest encoding the browser
# accepts. Without a collectstatic (DEBUG, `runserver`, tests) the storage falls back to the plain
# names served from the app folders (WHITENOISE_USE_FINDERS), cached 60 s. STATIC_MANIFEST=false
# turns the hashed names off.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "hyperweb.staticstorage.HashedCompressedStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
# collectstatic keeps only the hashed copies and does not compress source maps (developer tools
# only): it takes about a third of the time.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map", "ico")
# /favicon.ico (and nothing else) is served from the site root.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# ================================================================================================
# Logging
# ================================================================================================
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", _LOG_LEVELS)},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-q2 logs every scheduled task at INFO (a dispatch pass every 30 s): quiet by default.
        "django-q": {"level": env_choice("Q_LOG_LEVEL", "WARNING", _LOG_LEVELS)},
    },
}

# ================================================================================================
# REST API (conventions in hyperweb/api/__init__.py, guide in docs/API.md)
# ================================================================================================
API_TOKEN_HOURS = env_int("API_TOKEN_HOURS", 24, minimum=1)
API_LOGIN_ATTEMPTS_PER_MINUTE = env_int("API_LOGIN_ATTEMPTS_PER_MINUTE", 10, minimum=1)
# Bodies above this get a JSON 413 (hyperweb.api.middleware.BodySizeLimitMiddleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("API_MAX_BODY_BYTES", 1_048_576, minimum=1024)
# /carbon/zones/{id}/intensity: the longest range one call may ask for, and the most readings it returns.
API_INTENSITY_MAX_DAYS = env_int("API_INTENSITY_MAX_DAYS", 31, minimum=1)
API_INTENSITY_MAX_POINTS = env_int("API_INTENSITY_MAX_POINTS", 10_000, minimum=10)
# Route GET /bench/constant (auth + role check + renderer, no work) for benchmarks/bench_api.py.
BENCH_ENDPOINT = env_bool("BENCH_ENDPOINT", False)
REST_FRAMEWORK: dict = {
    "DEFAULT_SCHEMA_CLASS": "hyperweb.api.schema.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The first class's WWW-Authenticate makes an unauthenticated call a 401 (not 403).
        "accounts.api.authentication.APIKeyAuthentication",
        "accounts.api.authentication.BearerTokenAuthentication",
        "accounts.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api.permissions.IsViewer"],
    "DEFAULT_RENDERER_CLASSES": ["hyperweb.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "hyperweb.api.parsers.JSONParser",
        "hyperweb.api.parsers.AnyContentTypeJSONParser",  # curl -d sends a form content type
    ],
    "EXCEPTION_HANDLER": "hyperweb.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "STRICT_JSON": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "hyperweb API",
    "DESCRIPTION": (
        "Carbon-aware VM-backup scheduling, wire-compatible with the HyperSDK clients. "
        "Paths sit at the host root without trailing slashes; every error is JSON "
        '`{"error", "timestamp"}`; timestamps are UTC with a `Z`. Authenticate with `X-API-Key` '
        "or `Authorization: Bearer <token from POST /api/login>`. See docs/API.md."
    ),
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],  # docs are public, calls are not
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PARSER_WHITELIST": ["hyperweb.api.parsers.JSONParser"],  # document JSON bodies only
    "SERVERS": [],
}

# ================================================================================================
# Carbon providers: which provider serves which zone, and how they are asked
# ================================================================================================
ELECTRICITYMAPS_TOKEN = env_str("ELECTRICITYMAPS_TOKEN")
ELECTRICITYMAPS_BASE_URL = env_url("ELECTRICITYMAPS_BASE_URL", "https://api.electricitymap.org/v3")
UKGRID_ENABLED = env_bool("UKGRID_ENABLED", False)
UKGRID_BASE_URL = env_url("UKGRID_BASE_URL", "https://api.carbonintensity.org.uk")
WATTTIME_USERNAME = env_str("WATTTIME_USERNAME")
WATTTIME_PASSWORD = env_str("WATTTIME_PASSWORD")
WATTTIME_BASE_URL = env_url("WATTTIME_BASE_URL", "https://api.watttime.org")
# co2_moer: marginal emissions; co2_aoer: average.
WATTTIME_SIGNAL = env_choice("WATTTIME_SIGNAL", "co2_moer", ("co2_moer", "co2_aoer"))
WATTTIME_ZONES = env_list("WATTTIME_ZONES", ["US-CAL-CISO"])  # free accounts: CAISO_NORTH only

# Provider chain used for every zone unless CARBON_ZONE_PROVIDERS (or the zone's own field in the
# admin) says otherwise. The simulated provider is the offline default and is labelled "simulated"
# wherever its numbers appear. Real providers are switched on by their credentials: a token puts
# Electricity Maps first for every zone, UKGRID_ENABLED puts NESO first for GB, WattTime
# credentials put WattTime (a marginal signal, kept apart from averages) first for WATTTIME_ZONES.
# A chain of real providers falls back to the last known data (flagged stale), not to simulation.
CARBON_PROVIDERS = env_list("CARBON_PROVIDERS", ["electricitymaps"] if ELECTRICITYMAPS_TOKEN else ["simulated"])


def _zone_chains(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The chains the credentials imply, then CARBON_ZONE_PROVIDERS' own (which win)."""
    chains: dict[str, list[str]] = {}
    if UKGRID_ENABLED:
        chains["GB"] = ["ukgrid", *[p for p in CARBON_PROVIDERS if p not in ("ukgrid", "simulated")]]
    if WATTTIME_USERNAME and WATTTIME_PASSWORD:
        for zone in WATTTIME_ZONES:
            chains[zone] = ["watttime"]
    for zone, chain in pairs:
        chains[zone] = [p.strip() for p in chain.split(",") if p.strip()]
    return chains


# Per-zone chains, e.g. "GB=ukgrid,simulated;DE=electricitymaps"
CARBON_ZONE_PROVIDERS = _zone_chains(
    env_pairs(
        "CARBON_ZONE_PROVIDERS",
        separator=";",
        form="ZONE=provider[,provider]",
        value_ok=lambda chain: any(p.strip() for p in chain.split(",")),
    )
)
CARBON_HTTP_TIMEOUT = env_float("CARBON_HTTP_TIMEOUT", 10.0, minimum=0.1)
CARBON_HTTP_RETRIES = env_int("CARBON_HTTP_RETRIES", 3, minimum=0)
# How long a provider's answer is fresh (seconds); a zone is asked again only after that.
CARBON_PROVIDER_TTL = {
    provider.lower(): int(seconds)
    for provider, seconds in env_pairs(
        "CARBON_PROVIDER_TTL",
        "simulated=900,electricitymaps=900,ukgrid=1800,watttime=300,csv=86400",
        form="provider=seconds",
        value_ok=str.isdigit,
    )
}
CARBON_PROVIDER_TTL_DEFAULT = env_int("CARBON_PROVIDER_TTL_DEFAULT", 900, minimum=0)
# After a failed fetch, leave that provider alone this long (the chain moves on meanwhile).
CARBON_FAILURE_COOLDOWN = env_int("CARBON_FAILURE_COOLDOWN", 60, minimum=0)

# ================================================================================================
# Carbon data: refresh, history, forecasts, caching, reads
# ================================================================================================
# How often the workers refresh every active zone (and re-plan waiting backups).
CARBON_REFRESH_MINUTES = env_int("CARBON_REFRESH_MINUTES", 15, minimum=1)
CARBON_FORECAST_HOURS = env_int("CARBON_FORECAST_HOURS", 72, minimum=1)
# A reading that ended more than this long ago no longer counts as "current": it is shown stale.
CARBON_STALE_MINUTES = env_int("CARBON_STALE_MINUTES", 90, minimum=1)
# How far back a refresh fills a gap in the history (hours).
CARBON_BACKFILL_HOURS = env_int("CARBON_BACKFILL_HOURS", 24, minimum=1)
# Every history refresh re-reads this many trailing hours (at most CARBON_BACKFILL_HOURS), so
# providers' measurements replace the estimates stored earlier and their revisions are kept.
CARBON_REFETCH_HOURS = env_int("CARBON_REFETCH_HOURS", 24, minimum=0)
# Forecast issues older than this many days are pruned daily (carbon.prune_forecasts), except the
# first issue of each UTC day per zone/source/signal, kept to measure forecast accuracy later.
CARBON_FORECAST_RETENTION_DAYS = env_int("CARBON_FORECAST_RETENTION_DAYS", 7, minimum=1)
# POST /carbon/status and the freshness check of carbon reads are cached in CACHES["default"] under
# the zone's data version (bumped by every stored reading), for at most this many seconds and
# never past the end of the current step. Without Redis each process caches on its own and only
# sees its own writes, so this is also the longest a worker's new readings can go unseen. 0: off.
CARBON_STATUS_CACHE_SECONDS = env_int("CARBON_STATUS_CACHE_SECONDS", 30, minimum=0)
CARBON_DEFAULT_THRESHOLD = env_float("CARBON_DEFAULT_THRESHOLD", 200.0, minimum=0)
# The zone /carbon/* uses when a request names none (the HyperSDK clients make `zone` optional).
CARBON_DEFAULT_ZONE = env_str("CARBON_DEFAULT_ZONE", "US-CAL-CISO")
CARBON_ESTIMATE_HORIZON_HOURS = env_float("CARBON_ESTIMATE_HORIZON_HOURS", 24.0, minimum=0)
# Open the read-only carbon endpoints to anonymous callers (off by default).
CARBON_PUBLIC_READ = env_bool("CARBON_PUBLIC_READ", False)
CARBON_DEMO_DAYS = env_int("CARBON_DEMO_DAYS", 30, minimum=0)
CARBON_IMPORT_BATCH = env_int("CARBON_IMPORT_BATCH", 5000, minimum=100)

# ================================================================================================
# Energy model (printed in every report's methodology)
# ================================================================================================
ENERGY_BASE_WATTS = env_float("ENERGY_BASE_WATTS", 100.0, minimum=0)
ENERGY_WATTS_PER_TB = env_float("ENERGY_WATTS_PER_TB", 50.0, minimum=0)
ENERGY_PUE = env_float("ENERGY_PUE", 1.0, minimum=1.0)

# ================================================================================================
# Planning: when a backup starts
# ================================================================================================
# Defaults for jobs that do not say: expected duration and, for carbon-aware jobs, maximum delay.
BACKUP_DEFAULT_DURATION_HOURS = env_float("BACKUP_DEFAULT_DURATION_HOURS", 1.0, minimum=0.01)
BACKUP_DEFAULT_MAX_DELAY_HOURS = env_float("BACKUP_DEFAULT_MAX_DELAY_HOURS", 4.0, minimum=0)
# Ask the providers for a fresh forecast (TTL permitting) before planning a job.
BACKUP_PLAN_REFRESH = env_bool("BACKUP_PLAN_REFRESH", True)
# A carbon-aware job planned without any forecast for its window starts at once (empty, the
# default), or at the next BACKUP_NO_FORECAST_FALLBACK ("HH:MM", UTC) at or after its earliest
# start, clamped into its window: e.g. "02:00" runs such jobs at night, when most grids are cleaner.
BACKUP_NO_FORECAST_FALLBACK = env_time_of_day("BACKUP_NO_FORECAST_FALLBACK")
# How much forecast risk the planner takes by default (scheduler.uncertainty): "cautious" waits
# only for savings that outweigh the forecast's 90th-percentile error at that lead, "balanced"
# its 75th, "greedy" trusts the forecast as it is. A policy or a job (metadata.carbon_risk) may
# set its own. The error is learned per zone from its last BACKUP_RISK_LEARN_DAYS of forecasts.
BACKUP_RISK = env_choice("BACKUP_RISK", "balanced", ("cautious", "balanced", "greedy"))
BACKUP_RISK_LEARN_DAYS = env_int("BACKUP_RISK_LEARN_DAYS", 14, minimum=1)
# At most this many backups at once per zone unless a Capacity row says otherwise.
BACKUP_DEFAULT_CAPACITY = env_int("BACKUP_DEFAULT_CAPACITY", 4, minimum=1)

# ================================================================================================
# Backup execution: sources and target, dispatch, retries, executors
# ================================================================================================
BACKUP_SOURCE_ROOTS = [Path(p).resolve() for p in env_list("BACKUP_SOURCE_ROOTS", [str(DATA_DIR / "vms")])]
BACKUP_TARGET_ROOT = Path(env_str("BACKUP_TARGET_ROOT", str(DATA_DIR / "backups"))).resolve()
# How often the scheduled `dispatch_due` task looks for due jobs, stale claims and due policies.
BACKUP_DISPATCH_SECONDS = env_int("BACKUP_DISPATCH_SECONDS", 30, minimum=1)
# Each worker process hands due jobs to the cluster this often (0 = only the scheduled task).
BACKUP_TIMER_SECONDS = env_float("BACKUP_TIMER_SECONDS", 1.0, minimum=0)
# A job still running after this long is stopped and failed ("timed out after ...").
BACKUP_JOB_TIMEOUT_SECONDS = env_int("BACKUP_JOB_TIMEOUT_SECONDS", 6 * 3600, minimum=1)
# Attempts per job (transient failures and lost workers are retried with exponential backoff).
BACKUP_MAX_ATTEMPTS = env_int("BACKUP_MAX_ATTEMPTS", 3, minimum=1)
BACKUP_RETRY_BACKOFF_SECONDS = env_int("BACKUP_RETRY_BACKOFF_SECONDS", 60, minimum=0)
# A running job whose worker has not sent a heartbeat for this long is treated as "worker lost".
BACKUP_HEARTBEAT_SECONDS = env_float("BACKUP_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
BACKUP_STALE_SECONDS = env_int("BACKUP_STALE_SECONDS", 120, minimum=1)
# A due job enqueued this long ago and still not claimed is enqueued again (lost queue message).
BACKUP_REDISPATCH_SECONDS = env_int("BACKUP_REDISPATCH_SECONDS", 300, minimum=1)
BACKUP_DEFAULT_EXECUTOR = env_choice("BACKUP_DEFAULT_EXECUTOR", "file", ("file", "hypersdk"))
# gzip level for the file executor's archives (1 fastest .. 9 smallest; 6 is gzip's default).
BACKUP_GZIP_LEVEL = env_int("BACKUP_GZIP_LEVEL", 6, minimum=1, maximum=9)
# The hypersdk executor forwards jobs to an existing HyperSDK daemon (its /jobs/* API). The API key
# is sent as X-API-Key and never logged. No default URL: HyperSDK's usual port is hyperweb's own, and
# forwarding to ourselves would loop; without a URL the executor reports itself unavailable.
HYPERSDK_URL = env_url("HYPERSDK_URL")
HYPERSDK_API_KEY = env_str("HYPERSDK_API_KEY")
HYPERSDK_POLL_SECONDS = env_float("HYPERSDK_POLL_SECONDS", 5.0, minimum=0.05)
HYPERSDK_HTTP_TIMEOUT = env_float("HYPERSDK_HTTP_TIMEOUT", 30.0, minimum=0.1)

# ================================================================================================
# Backup lifecycle: restore, verification, retention
# ================================================================================================
# Restores write only inside this folder (traversal and symlink escapes are refused).
BACKUP_RESTORE_ROOT = Path(env_str("BACKUP_RESTORE_ROOT", str(DATA_DIR / "restores"))).resolve()
# Each completed archive is re-verified this long after its last verification (or its creation),
# planned into a clean window like a backup; 0 turns scheduled verification off.
BACKUP_VERIFY_EVERY = env_seconds("BACKUP_VERIFY_EVERY", "7d")
# How long a scheduled verification may wait for a cleaner window.
BACKUP_VERIFY_MAX_DELAY_HOURS = env_float("BACKUP_VERIFY_MAX_DELAY_HOURS", 12.0, minimum=0)
# Default retention (a policy's own counts win); all empty keeps every backup.
BACKUP_KEEP_LAST = env_count("BACKUP_KEEP_LAST")
BACKUP_KEEP_DAILY = env_count("BACKUP_KEEP_DAILY")
BACKUP_KEEP_WEEKLY = env_count("BACKUP_KEEP_WEEKLY")
BACKUP_KEEP_MONTHLY = env_count("BACKUP_KEEP_MONTHLY")
# How often the workers prune by retention and plan due verifications.
BACKUP_LIFECYCLE_MINUTES = env_int("BACKUP_LIFECYCLE_MINUTES", 60, minimum=1)

# ================================================================================================
# ESG reports and the what-if page (docs/REPORTS.md explains each figure)
# ================================================================================================
# Printed in every report's header and methodology.
REPORT_ORGANISATION = env_str("REPORT_ORGANISATION", "hyperweb operator")
# GHG Protocol scope per site: "own" sites are Scope 2 (location-based), "hosted" ones (colocation,
# cloud) Scope 3; e.g. "DE=own,FR=hosted". Zones not named are "own".
REPORT_SITE_SCOPE = env_str("REPORT_SITE_SCOPE", "")
check_pairs(
    "REPORT_SITE_SCOPE",
    REPORT_SITE_SCOPE,
    form="ZONE=own or ZONE=hosted",
    value_ok=lambda kind: kind.lower() in ("own", "hosted"),
)
# A supplier's market-based emission factor in gCO2e/kWh; when set, reports add market-based kg.
REPORT_SUPPLIER_FACTOR = env_optional_float("REPORT_SUPPLIER_FACTOR", minimum=0)
# Embodied emissions of backup storage, kg CO2e per TB written; when set, SCI figures include them.
REPORT_EMBODIED_KG_PER_TB = env_optional_float("REPORT_EMBODIED_KG_PER_TB", minimum=0)
# The longest period one report may cover (days).
REPORT_MAX_DAYS = env_int("REPORT_MAX_DAYS", 366, minimum=1)
# After each refresh the workers compute the what-if form's choices for every active zone into the
# "whatif" cache (above; reports/whatif.py): the initial inputs of every zone, then the other
# choices for at most WHATIF_PRECOMPUTE_SECONDS per refresh. Answers are keyed by the day and the
# readings they read, so only the first refreshes of a day (or revised history) compute anything.
WHATIF_PRECOMPUTE = env_bool("WHATIF_PRECOMPUTE", True)
WHATIF_PRECOMPUTE_SECONDS = env_float("WHATIF_PRECOMPUTE_SECONDS", 60.0, minimum=0)

# ================================================================================================
# Alerts: email (SMTP) and signed webhooks (docs/OPERATIONS.md, "Alerts")
# ================================================================================================
# Email alerts go through Django's SMTP backend when SMTP_HOST is set; without it only webhooks
# are sent. The password is read here and never logged or shown.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("SMTP_HOST")
EMAIL_USE_TLS = env_bool("SMTP_STARTTLS", False)
EMAIL_USE_SSL = env_bool("SMTP_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("SMTP_STARTTLS and SMTP_SSL are exclusive: set one of them")
EMAIL_PORT = env_int("SMTP_PORT", 587 if EMAIL_USE_TLS else 25, minimum=1)
EMAIL_HOST_USER = env_str("SMTP_USER")
EMAIL_HOST_PASSWORD = env_str("SMTP_PASSWORD")
EMAIL_TIMEOUT = env_float("SMTP_TIMEOUT", 10.0, minimum=0.1)
DEFAULT_FROM_EMAIL = env_str("ALERT_FROM_EMAIL", "hyperweb@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in alert emails point here (e.g. https://hyperweb.example); empty: no links.
ALERT_BASE_URL = env_url("ALERT_BASE_URL")
ALERT_WEBHOOK_TIMEOUT = env_float("ALERT_WEBHOOK_TIMEOUT", 10.0, minimum=0.1)
# Tries per delivery, and the first retry delay (doubling, at most an hour).
ALERT_MAX_ATTEMPTS = env_int("ALERT_MAX_ATTEMPTS", 6, minimum=1)
ALERT_RETRY_BACKOFF_SECONDS = env_int("ALERT_RETRY_BACKOFF_SECONDS", 30, minimum=0)
# The periodic checks (target space, stale carbon data, backups waiting past their deadline).
ALERT_CHECK_MINUTES = env_int("ALERT_CHECK_MINUTES", 5, minimum=1)
ALERT_TARGET_MIN_FREE_PERCENT = env_float("ALERT_TARGET_MIN_FREE_PERCENT", 10.0, minimum=0)
ALERT_PROVIDER_STALE_MINUTES = env_int("ALERT_PROVIDER_STALE_MINUTES", 120, minimum=0)
# A lasting condition (full disk, stale data) alerts again at most once per this many hours.
ALERT_REPEAT_HOURS = env_int("ALERT_REPEAT_HOURS", 24, minimum=1)
# Alerts (with their deliveries and attempts) older than this many days are deleted by the checks.
ALERT_KEEP_DAYS = env_int("ALERT_KEEP_DAYS", 90, minimum=1)
# When the weekly digest goes out (cron, UTC); empty: no digest.
ALERT_DIGEST_CRON = env_str("ALERT_DIGEST_CRON", "0 7 * * 1")

# ================================================================================================
# Metrics: GET /metrics for Prometheus (docs/OPERATIONS.md, "Metrics")
# ================================================================================================
# Open to `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time) or to the addresses
# and networks in METRICS_ALLOW_IPS (the connecting address, REMOTE_ADDR); refused otherwise.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOW_IPS = env_networks("METRICS_ALLOW_IPS")
