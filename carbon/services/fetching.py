"""Fetching: ask a zone's provider chain, but only when the stored data is stale (per-provider TTL).

For each kind of data (history, current, forecast) the chain is walked in order:

- a provider whose last successful fetch is younger than its TTL is "cached": the database
  already holds its answer, nobody is asked;
- a provider that failed within the last CARBON_FAILURE_COOLDOWN seconds is passed over (one
  that did not answer at all, `ProviderUnreachable`, is passed over for every zone and kind of
  data, so a silent provider costs one timeout per cooldown, not one per zone);
- otherwise it is asked; its readings are stored (upsert) and the walk stops. On any failure the
  walk moves on to the next provider. An empty forecast is an answer, not an outage, but it
  gives no forecast, so the walk goes on looking for one.

Every outcome is logged (logger "carbon.fetch") and recorded as a FetchAttempt row, which is also
the TTL clock. Reading the stored data, with stale flags when every provider failed, is
`carbon.services.series`.

A web request never waits on a remote provider (`web_request()`, entered by
carbon.middleware.ProviderWaitMiddleware for every request): where a remote provider would be
asked, the walk stops with a "deferred" outcome, a refresh of the zone is queued for the workers
(`request_refresh`, at most once every REFRESH_REQUEST_SECONDS per zone) and the reader answers
from what is stored, flagged stale when it is old. Local providers (simulated, CSV: no network)
are still asked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django_q.tasks import async_task

from carbon.models import CarbonReading, FetchAttempt, Zone, ZoneDenial
from carbon.providers import UnknownProvider, get_provider
from carbon.providers.base import Provider, ProviderError, ProviderUnreachable, Reading, ZoneNotPermitted
from carbon.services.base import resolve_now
from carbon.services.store import cache_allowed, data_version, store_readings

log = logging.getLogger("carbon.fetch")

CURRENT = FetchAttempt.What.CURRENT.value
HISTORY = FetchAttempt.What.HISTORY.value
FORECAST = FetchAttempt.What.FORECAST.value
# History first: it fills the gap since the last stored actual, which `current` would close over.
ALL_WHATS = (HISTORY, CURRENT, FORECAST)
# A zone's refresh is queued for the workers at most this often from web requests (the scheduled
# refresh of every zone comes every CARBON_REFRESH_MINUTES anyway).
REFRESH_REQUEST_SECONDS = 300

_in_web_request: ContextVar[bool] = ContextVar("carbon_in_web_request", default=False)


@contextmanager
def web_request() -> Iterator[None]:
    """Inside: remote providers are not asked but queued for the workers (module docstring)."""
    token = _in_web_request.set(True)
    try:
        yield
    finally:
        _in_web_request.reset(token)


def is_remote(provider: Provider) -> bool:
    """Whether asking `provider` can wait on the network (unknown plug-ins: assume it can)."""
    return bool(getattr(provider, "remote", True))


def request_refresh(zone: Zone) -> bool:
    """Queue `carbon.tasks.refresh_zone` for the workers, unless it was queued within
    REFRESH_REQUEST_SECONDS; True if queued now. Queueing trouble is logged, never raised: the
    scheduled refresh of every zone still comes."""
    key = f"carbon:refresh-requested:{zone.pk}"
    if not cache.add(key, 1, timeout=REFRESH_REQUEST_SECONDS):
        return False
    try:
        async_task("carbon.tasks.refresh_zone", zone.pk, task_name=f"carbon refresh {zone.code}")
    except Exception:
        log.exception("%s: could not queue a refresh for the workers", zone.code)
        return False
    log.info("%s: refresh queued for the workers (a web request does not wait on providers)", zone.code)
    return True


@dataclass
class FetchOutcome:
    zone: str
    provider: str
    what: str
    # "ok" (asked), "cached" (fresh within TTL), "failed", "cooldown" (failed recently),
    # "deferred" (a web request: queued for the workers instead of asked), "denied" (the
    # provider's credentials may not read the zone: skipped until they change)
    status: str
    readings: int = 0
    created: int = 0
    updated: int = 0
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "cached")

    def as_dict(self) -> dict:
        return asdict(self)


def provider_ttl(name: str) -> timedelta:
    seconds = settings.CARBON_PROVIDER_TTL.get(name, settings.CARBON_PROVIDER_TTL_DEFAULT)
    return timedelta(seconds=seconds)


def _ask(provider: Provider, zone: Zone, name: str, what: str, now: datetime) -> list[Reading]:
    ref = zone.ref(name)
    if what == CURRENT:
        reading = provider.current(ref, now=now)
        return [reading] if reading is not None else []
    if what == FORECAST:
        return list(provider.forecast(ref, settings.CARBON_FORECAST_HOURS, now=now) or [])
    # History fills the gap since this provider's last stored actual (at most the backfill
    # window) and always re-reads the trailing re-fetch window, where providers replace estimates
    # with measurements and revise recent values (store.py keeps the revision).
    last_end = CarbonReading.objects.filter(
        zone=zone, source=name, kind=CarbonReading.Kind.ACTUAL, start__lte=now
    ).aggregate(last=Max("end"))["last"]
    start = now - timedelta(hours=settings.CARBON_BACKFILL_HOURS)
    if last_end is not None and last_end > start:
        start = min(last_end, now - timedelta(hours=settings.CARBON_REFETCH_HOURS))
    if start >= now:
        return []
    return list(provider.history(ref, start, now, now=now) or [])


def _fetch_one(zone: Zone, name: str, what: str, now: datetime, force: bool) -> tuple[FetchOutcome, datetime]:
    """The outcome, and until when the same check would decide the same way (the TTL or the
    cooldown of the attempt it went by, or of the one it just made)."""
    cooldown = timedelta(seconds=settings.CARBON_FAILURE_COOLDOWN)
    if not force:
        down = cache.get(_down_key(name))
        if down is not None and now - cooldown <= down[0] <= now:
            # Unreachable for another zone or kind of data a moment ago: not asked again yet.
            return FetchOutcome(zone.code, name, what, "cooldown", error=down[1]), down[0] + cooldown
        last = (
            FetchAttempt.objects.filter(zone=zone, provider=name, what=what, at__lte=now)
            .order_by("-at")
            .only("at", "ok", "readings", "error")
            .first()
        )
        if last is not None:
            age = now - last.at
            if last.ok and age < provider_ttl(name):
                log.debug("%s/%s %s: fresh (%ds old), not asked", name, zone.code, what, age.total_seconds())
                outcome = FetchOutcome(zone.code, name, what, "cached", readings=last.readings)
                return outcome, last.at + provider_ttl(name)
            if not last.ok and age < cooldown:
                return FetchOutcome(zone.code, name, what, "cooldown", error=last.error), last.at + cooldown

    started = time.perf_counter()
    try:
        provider = get_provider(name)
        if _denied(zone, name, provider):
            return FetchOutcome(zone.code, name, what, "denied"), datetime.max.replace(tzinfo=now.tzinfo)
        if _in_web_request.get() and is_remote(provider):
            request_refresh(zone)
            return FetchOutcome(zone.code, name, what, "deferred"), now + timedelta(
                seconds=REFRESH_REQUEST_SECONDS
            )
        readings = _ask(provider, zone, name, what, now)
        stored = store_readings(zone, name, readings)
    except ZoneNotPermitted as exc:
        _deny(zone, name, provider, exc, now)
        return FetchOutcome(zone.code, name, what, "denied", error=str(exc)), datetime.max.replace(
            tzinfo=now.tzinfo
        )
    except ProviderUnreachable as exc:
        if settings.CARBON_FAILURE_COOLDOWN > 0:
            cache.set(_down_key(name), (now, str(exc)[:500]), timeout=settings.CARBON_FAILURE_COOLDOWN)
        return _failed(zone, name, what, now, started, str(exc) or type(exc).__name__), now + cooldown
    except (ProviderError, UnknownProvider) as exc:
        return _failed(zone, name, what, now, started, str(exc) or type(exc).__name__), now + cooldown
    except Exception as exc:  # a provider bug must not stop the chain; keep the traceback
        log.exception("%s/%s %s: unexpected error", name, zone.code, what)
        return _failed(zone, name, what, now, started, f"{type(exc).__name__}: {exc}"), now + cooldown
    ms = int((time.perf_counter() - started) * 1000)
    FetchAttempt.objects.create(
        zone=zone, provider=name, what=what, at=now, ok=True, readings=stored.stored, duration_ms=ms
    )
    log.info(
        "%s/%s %s: %d readings (%d new, %d updated) in %d ms",
        name,
        zone.code,
        what,
        stored.stored,
        stored.created,
        stored.updated,
        ms,
    )
    outcome = FetchOutcome(
        zone.code,
        name,
        what,
        "ok",
        readings=stored.stored,
        created=stored.created,
        updated=stored.updated,
        duration_ms=ms,
    )
    return outcome, now + provider_ttl(name)


def _down_key(name: str) -> str:
    return f"carbon:provider-unreachable:{name}"


def _credential(provider: Provider) -> str | None:
    """The fingerprint of the provider's credentials, or None for one without any."""
    return getattr(provider, "credential", None) or None


def _denied(zone: Zone, name: str, provider: Provider) -> bool:
    """Whether the provider's current credentials were refused this zone (skipped silently)."""
    credential = _credential(provider)
    return credential is not None and (
        ZoneDenial.objects.filter(zone=zone, provider=name, credential=credential).exists()
    )


def _deny(zone: Zone, name: str, provider: Provider, exc: ZoneNotPermitted, now: datetime) -> None:
    """Record the refusal (one log line; the zone is then skipped until the credentials change)."""
    ZoneDenial.objects.update_or_create(
        zone=zone,
        provider=name,
        defaults={
            "credential": _credential(provider) or "",
            "status": exc.status,
            "detail": str(exc)[:300],
            "at": now,
        },
    )
    log.warning(
        "%s/%s: the credentials may not read this zone (HTTP %d); skipped for %s until they change",
        name,
        zone.code,
        exc.status,
        zone.code,
    )


def denials(zone: Zone) -> list[ZoneDenial]:
    """The zone's providers whose current credentials were refused it (zone page, `carbon zones`)."""
    current = []
    for denial in ZoneDenial.objects.filter(zone=zone):
        try:
            credential = _credential(get_provider(denial.provider))
        except UnknownProvider:
            continue
        if credential is not None and credential == denial.credential:
            current.append(denial)
    return current


def _failed(zone: Zone, name: str, what: str, now: datetime, started: float, error: str) -> FetchOutcome:
    ms = int((time.perf_counter() - started) * 1000)
    FetchAttempt.objects.create(
        zone=zone, provider=name, what=what, at=now, ok=False, error=error[:2000], duration_ms=ms
    )
    log.warning("%s/%s %s: failed after %d ms: %s", name, zone.code, what, ms, error)
    return FetchOutcome(zone.code, name, what, "failed", error=error, duration_ms=ms)


def ensure_fresh(
    zone: Zone, whats: Sequence[str] = ALL_WHATS, *, now: datetime | None = None, force: bool = False
) -> list[FetchOutcome]:
    """Walk the zone's chain for each kind of data; see the module docstring."""
    return _walk(zone, whats, resolve_now(now), force)[0]


def _walk(
    zone: Zone, whats: Sequence[str], now: datetime, force: bool
) -> tuple[list[FetchOutcome], datetime]:
    """ensure_fresh's outcomes, and until when a new walk would ask nobody (the earliest TTL or
    cooldown end among the attempts it went by)."""
    outcomes: list[FetchOutcome] = []
    until = datetime.max.replace(tzinfo=now.tzinfo)
    chain = zone.provider_chain()
    for what in whats:
        for name in chain:
            outcome, decided_until = _fetch_one(zone, name, what, now, force)
            outcomes.append(outcome)
            until = min(until, decided_until)
            if outcome.status == "deferred":
                break  # what is stored stands until the workers have asked
            if outcome.ok and (outcome.readings > 0 or what != FORECAST):
                break
        else:
            if not any(o.ok for o in outcomes if o.what == what):
                log.warning("%s %s: every provider in %s failed", zone.code, what, chain)
    return outcomes, until


def ensure_fresh_cached(zone: Zone, whats: Sequence[str], *, now: datetime | None = None) -> datetime:
    """ensure_fresh for readers (the status, series and estimates), which need the data fresh but
    not the outcomes: the decision "nobody needs asking until T" is kept in Django's cache under
    the zone's data version, so repeated reads skip the fetch record queries until T, the
    short maximum age (CARBON_STATUS_CACHE_SECONDS; 0: always check) or a write to the zone.
    Returns T, until when an answer computed from the data now stays as fresh as this one.
    """
    now = resolve_now(now)
    max_age = settings.CARBON_STATUS_CACHE_SECONDS
    if max_age <= 0 or not cache_allowed():
        return _walk(zone, whats, now, False)[1]
    key = f"carbon:fresh:{zone.pk}:{','.join(whats)}:{','.join(zone.provider_chain())}"
    hit = cache.get(f"{key}:{data_version(zone.pk)}")
    if hit is not None and hit[0] <= now < hit[1]:
        return hit[1]
    # Asking a provider records an attempt, which bumps the version (store.py): read it after.
    until = _walk(zone, whats, now, False)[1]
    until = min(until, now + timedelta(seconds=max_age))
    cache.set(f"{key}:{data_version(zone.pk)}", (now, until), timeout=max_age)
    return until
