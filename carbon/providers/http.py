"""The one GET helper every HTTP provider uses: timeout, bounded retries with backoff, clean errors.

Rules it enforces so each provider does not re-implement them:

- every request has a timeout (settings.CARBON_HTTP_TIMEOUT by default);
- 429, 5xx, connection errors and timeouts are retried at most `retries` times, waiting
  `backoff * 2**n` seconds, or the server's Retry-After if longer, never more than `max_delay`;
- any other 4xx fails at once with `HTTPStatusError` (a `ProviderError` carrying the status, so a
  provider can read e.g. a 403 on a forecast as "no forecast" or a 401 as "log in again");
- when it gives up it raises `ProviderError` with a message that says what failed and how often;
- every outcome is logged on the "carbon.providers" logger.

Secrets (tokens, passwords) travel in headers or HTTP auth, never in URLs, and every message this
module writes or raises is passed through `redact()` with the client's secrets as well, in case a
server echoes a credential back in an error body.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict

import requests
from django.conf import settings

from carbon.providers.base import ProviderError, ProviderUnreachable
from hyperweb.lib.timefmt import parse_instant

logger = logging.getLogger("carbon.providers")

USER_AGENT = "hyperweb/0.1 (carbon-aware backup scheduler)"
_BODY_SNIPPET = 200  # characters of an error body worth keeping in a message


class HTTPStatusError(ProviderError):
    """The server answered with a status that is not retried (or retries ran out on one)."""

    def __init__(self, message: str, *, status: int, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret replaced, so it is safe to log or raise."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpClient:
    """A requests.Session wrapper for one provider; see the module docstring for the rules."""

    def __init__(
        self,
        provider: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_delay: float = 30.0,
        secrets: Iterable[str] = (),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_delay = max_delay
        self.secrets = [s for s in secrets if s]
        # Secrets learnt later (login tokens): the last few are kept, since an old token can still
        # be quoted back by a server, but a long-lived worker must not grow the list forever.
        self._learnt: deque[str] = deque(maxlen=8)
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.sleep = sleep

    def add_secret(self, secret: str) -> None:
        """Also redact `secret` (e.g. a token obtained after construction)."""
        if secret and secret not in self._learnt:
            self._learnt.append(secret)

    def _safe(self, text: str) -> str:
        return redact(text, [*self.secrets, *self._learnt])

    @staticmethod
    def retried(status: int) -> bool:
        """Whether a status is worth asking again: rate limiting and server-side failures."""
        return status == 429 or 500 <= status <= 599

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        delay = self.backoff * (2**attempt)
        if response is not None:
            hinted = retry_after_seconds(response.headers.get("Retry-After"))
            if hinted is not None:
                delay = max(delay, hinted)
        return min(delay, self.max_delay)

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> requests.Response:
        """GET `url` and return a 2xx response, retrying as the module docstring says.

        Raises `HTTPStatusError` for a non-retried status (or the last retried one) and
        `ProviderError` for a network failure that outlived the retries.
        """
        attempts = self.retries + 1
        what = f"{self.provider} GET {url}"
        for attempt in range(attempts):
            started = time.monotonic()
            response: requests.Response | None = None
            try:
                response = self.session.get(
                    url, params=params, headers=headers, auth=auth, timeout=self.timeout
                )
            except requests.Timeout:
                problem = f"timed out after {self.timeout:g} s"
            except requests.ConnectionError as exc:
                # The exception text names the URL and the OS error; no credentials are in URLs.
                problem = f"connection failed ({type(exc).__name__}: {self._safe(str(exc))[:_BODY_SNIPPET]})"
            except requests.RequestException as exc:
                # A bad URL, too many redirects...: asking again would not help.
                message = f"{what} failed: {type(exc).__name__}: {self._safe(str(exc))[:_BODY_SNIPPET]}"
                logger.error("%s", message)
                raise ProviderError(message) from None
            else:
                elapsed_ms = (time.monotonic() - started) * 1000
                status = response.status_code
                if 200 <= status < 300:
                    logger.info(
                        "%s -> %d in %.0f ms (attempt %d/%d)", what, status, elapsed_ms, attempt + 1, attempts
                    )
                    return response
                body = self._safe(response.text or "")[:_BODY_SNIPPET]
                if not self.retried(status):
                    # INFO: what a 4xx means (no forecast in this plan, a zone not permitted, a bad
                    # token) is the provider's to say, and the fetch service logs the outcome.
                    logger.info("%s -> %d, not retried: %s", what, status, body)
                    raise HTTPStatusError(
                        f"{what} failed: HTTP {status} {body}".rstrip(), status=status, body=body
                    )
                problem = f"HTTP {status} {body}".rstrip()

            if attempt + 1 < attempts:
                delay = self._delay(attempt, response)
                logger.warning(
                    "%s %s (attempt %d/%d); retrying in %.2f s", what, problem, attempt + 1, attempts, delay
                )
                self.sleep(delay)
                continue

            message = f"{what} gave up after {attempts} attempt{'s' if attempts > 1 else ''}: {problem}"
            logger.error("%s", message)
            if response is not None:
                raise HTTPStatusError(
                    message, status=response.status_code, body=self._safe(response.text or "")
                )
            raise ProviderUnreachable(message)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Any:
        """`get()` and decode the body as JSON; an undecodable body is a `ProviderError`."""
        response = self.get(url, params=params, headers=headers, auth=auth)
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError):
            snippet = self._safe(response.text or "")[:_BODY_SNIPPET]
            logger.error("%s GET %s returned a body that is not JSON: %r", self.provider, url, snippet)
            raise ProviderError(f"{self.provider} GET {url} returned a body that is not JSON") from None


def parse_time(value: Any, *, field: str = "time") -> datetime:
    """An aware UTC datetime from an ISO 8601 string ('Z', offset, or naive meaning UTC)."""
    if not isinstance(value, str) or not value.strip():
        raise ProviderError(f"{field} is missing or not a string: {value!r}")
    try:
        return parse_instant(value)  # hyperweb.lib.timefmt
    except ValueError:
        raise ProviderError(f"{field} is not an ISO 8601 time: {value!r}") from None


class HttpSettings(TypedDict):
    """The keyword arguments http_settings() gives every provider."""

    timeout: float
    retries: int


def http_settings() -> HttpSettings:
    """Timeout and retries from django settings, as keyword arguments for a provider."""
    return {
        "timeout": float(settings.CARBON_HTTP_TIMEOUT),
        "retries": int(settings.CARBON_HTTP_RETRIES),
    }


def step_from_times(times: Iterable[datetime], default: float) -> float:
    """The smallest positive gap between consecutive `times`, in seconds, or `default`.

    Providers report points by start time only; the smallest gap is the data's granularity, and
    it stays right when a point or two is missing (the largest or the mean gap would not).
    """
    ordered = sorted(set(times))
    gaps = [(b - a).total_seconds() for a, b in zip(ordered, ordered[1:], strict=False)]
    positive = [g for g in gaps if g > 0]
    return min(positive) if positive else default


def intensity_number(value: Any, what: str) -> float:
    """`value` as a float if it is a usable intensity (a finite number >= 0), else ProviderError.

    An infinite or negative intensity is a broken payload, not a reading to store.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProviderError(f"{what}: {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ProviderError(f"{what}: {value!r} is not a usable intensity")
    return number
