"""Small helpers that read settings from environment variables and fail loudly on bad values.

Each helper reads one variable; an empty or unset variable gives the default. A value the helper
cannot use raises ImproperlyConfigured naming the variable and the value, so a mistyped setting
stops start-up instead of being replaced by a default or failing later in a request.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

from hyperweb.lib.durations import parse_duration

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true/false, 1/0, yes/no)")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} must be at most {maximum}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name}={value!r} must be a finite number")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    return number


def env_seconds(name: str, default: str) -> int:
    """A duration in the commands' grammar (`7d`, `12h`, `1h30m`; docs/OPERATIONS.md) or a bare
    number of seconds; `0`, `off` or empty = 0."""
    value = _raw(name)
    text = (default if value is None else value).strip().lower()
    if text in ("", "0", "off"):
        return 0
    try:
        return int(parse_duration(text, bare_unit="s").total_seconds())
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a duration (use e.g. 7d, 12h, 1h30m, or 0 for off)"
        ) from None


def env_count(name: str) -> int | None:
    """A retention count: empty = no rule (None), else an integer >= 0."""
    value = _raw(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number (or empty for no rule)") from None
    if number < 0:
        raise ImproperlyConfigured(f"{name}={number} must be at least 0")
    return number


def env_optional_float(name: str, *, minimum: float | None = None) -> float | None:
    """A number, or None when the variable is empty or unset (the feature it sets is off)."""
    value = _raw(name)
    if value is None or value == "":
        return None
    return env_float(name, 0.0, minimum=minimum)


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None or value == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: Iterable[str]) -> str:
    """One of `choices`, matched without regard to case; the choice is returned as spelled there."""
    allowed = list(choices)
    value = _raw(name)
    if value is None or value == "":
        return default
    for choice in allowed:
        if value.lower() == choice.lower():
            return choice
    raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(allowed)}")


def env_url(name: str, default: str = "", *, schemes: Iterable[str] = ("http", "https")) -> str:
    """A URL with one of `schemes` and a host (a `unix` URL has a path instead); empty = `default`."""
    allowed = tuple(schemes)
    value = _raw(name)
    if value is None or value == "":
        return default
    parsed = urlparse(value)
    where = parsed.path if parsed.scheme == "unix" else parsed.hostname
    if parsed.scheme not in allowed or not where:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a URL of the form {allowed[0]}://host... (schemes: {', '.join(allowed)})"
        )
    try:
        parsed.port  # noqa: B018  # a non-numeric or out-of-range port raises here
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} has an invalid port") from None
    return value


def env_time_of_day(name: str) -> str:
    """A UTC time of day `HH:MM` (as given, e.g. `2:00`), or empty."""
    value = env_str(name)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if value and not (match and int(match[1]) < 24 and int(match[2]) < 60):
        raise ImproperlyConfigured(f"{name}={value!r} is not a UTC time of day HH:MM (or empty)")
    return value


def env_networks(name: str) -> list[str]:
    """Comma-separated IP addresses or networks (`10.0.0.5,192.168.0.0/24`), kept as written."""
    items = env_list(name)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an address or network") from None
    return items


def check_pairs(
    name: str,
    text: str,
    *,
    separator: str = ",",
    form: str = "KEY=VALUE",
    value_ok: Callable[[str], bool] | None = None,
) -> list[tuple[str, str]]:
    """`a=1,b=2` -> [("a", "1"), ("b", "2")], stripped; an item that is not `form` names `name`."""
    pairs = []
    for item in text.split(separator):
        if not item.strip():
            continue
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key or not value or (value_ok is not None and not value_ok(value)):
            raise ImproperlyConfigured(f"{name}: {item.strip()!r} is not {form}")
        pairs.append((key, value))
    return pairs


def env_pairs(
    name: str,
    default: str = "",
    *,
    separator: str = ",",
    form: str = "KEY=VALUE",
    value_ok: Callable[[str], bool] | None = None,
) -> list[tuple[str, str]]:
    """The variable (else `default`) read as `KEY=VALUE` items: see check_pairs."""
    return check_pairs(name, env_str(name, default), separator=separator, form=form, value_ok=value_ok)


def database_from_url(url: str) -> dict:
    """Turn `postgres://user:pass@host:port/name?opt=v` into a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use postgres://...)"
        )
    name = unquote(parsed.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL names no database (postgres://host/NAME)")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "OPTIONS": dict(parse_qsl(parsed.query)),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
