"""The provider registry: a provider name -> the module whose `build()` makes it.

`get_provider(name)` builds a provider once per process and keeps it (HTTP providers hold a
session and, for WattTime, a login token). Tests swap in fakes with `register(name, factory)`;
changed settings (pytest's `settings` fixture) drop the cached instances so a test's tokens and
base URLs are read afresh.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from django.core.signals import setting_changed
from django.dispatch import receiver

from carbon.providers.base import Provider, ProviderError, Reading, ZoneRef

__all__ = [
    "PROVIDER_MODULES",
    "Provider",
    "ProviderError",
    "Reading",
    "UnknownProvider",
    "ZoneRef",
    "get_provider",
    "known_providers",
    "register",
    "reset_providers",
    "unregister",
]

PROVIDER_MODULES: dict[str, str] = {
    "simulated": "carbon.providers.simulated",
    "electricitymaps": "carbon.providers.electricitymaps",
    "ukgrid": "carbon.providers.ukgrid",
    "watttime": "carbon.providers.watttime",
    "csv": "carbon.providers.csvfile",
}

_factories: dict[str, Callable[[], Provider]] = {}
_instances: dict[str, Provider] = {}
_lock = threading.Lock()


class UnknownProvider(KeyError):
    """A provider name that is neither built in nor registered."""

    def __str__(self) -> str:  # KeyError's own str() would wrap the message in quotes
        return str(self.args[0]) if self.args else "unknown provider"


def known_providers() -> list[str]:
    return sorted(set(PROVIDER_MODULES) | set(_factories))


def get_provider(name: str) -> Provider:
    """The provider called `name`, built on first use from its module's `build()`."""
    key = (name or "").strip().lower()
    with _lock:
        if key in _instances:
            return _instances[key]
    if key in _factories:
        provider = _factories[key]()
    elif key in PROVIDER_MODULES:
        module = importlib.import_module(PROVIDER_MODULES[key])
        provider = module.build()
    else:
        raise UnknownProvider(f"unknown provider {name!r} (known: {', '.join(known_providers())})")
    with _lock:
        return _instances.setdefault(key, provider)


def register(name: str, factory: Callable[[], Provider]) -> None:
    """Add or replace a provider (a fake in tests, a plug-in elsewhere)."""
    key = name.strip().lower()
    with _lock:
        _factories[key] = factory
        _instances.pop(key, None)


def unregister(name: str) -> None:
    key = name.strip().lower()
    with _lock:
        _factories.pop(key, None)
        _instances.pop(key, None)


def reset_providers() -> None:
    """Forget built instances so the next `get_provider` reads the settings again."""
    with _lock:
        _instances.clear()


@receiver(setting_changed)
def _settings_changed(**kwargs: object) -> None:
    reset_providers()
