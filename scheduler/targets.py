"""Backup target keys: a Capacity row's key names a zone, or a target (an absolute directory, or a
HyperSDK daemon's URL) in one spelling. Pure text, so models and services both import it."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

_URL_PREFIXES = ("http://", "https://")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_target_key(key: str) -> bool:
    """A backup target key (a directory or a daemon URL), not a zone code."""
    return key.startswith("/") or key.lower().startswith(_URL_PREFIXES)


def normalise_target_key(key: str) -> str:
    """One spelling per target: a normalised path, or a URL reduced to scheme, host, port (unless
    the scheme's default) and path, without credentials, query or trailing /.

    Raises ValueError for a URL without a host or with a bad port (the message never repeats
    the URL: it may hold a password).
    """
    if key.startswith("/"):
        return os.path.normpath(key)
    parts = urlsplit(key.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the URL's port is not a number from 0 to 65535") from None
    host = parts.hostname  # lower case, IPv6 brackets removed
    if not host:
        raise ValueError("the URL has no host")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path.rstrip("/"), "", ""))
