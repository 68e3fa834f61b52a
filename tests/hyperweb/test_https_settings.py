"""HTTPS=true marks the session and CSRF cookies Secure; the proxy header is trusted only on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyperweb import settings as site_settings

BASE_DIR = Path(site_settings.BASE_DIR)
PROBE = (
    "import json, hyperweb.settings as s; print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
    " getattr(s, 'SECURE_PROXY_SSL_HEADER', None)]))"
)


def _settings_with(tmp_path: Path, **env: str) -> list:
    clean = {k: v for k, v in os.environ.items() if k not in ("HTTPS", "TRUST_X_FORWARDED_PROTO")}
    clean.update(HYPERWEB_DATA_DIR=str(tmp_path), SECRET_KEY="test", **env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )
    if done.returncode:
        return ["error", done.stderr.strip().splitlines()[-1]]
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, [False, False, None]),
        ({"TRUST_X_FORWARDED_PROTO": "true"}, [False, False, None]),  # never without HTTPS
        ({"HTTPS": "true"}, [True, True, None]),
        (
            {"HTTPS": "true", "TRUST_X_FORWARDED_PROTO": "true"},
            [True, True, ["HTTP_X_FORWARDED_PROTO", "https"]],
        ),
    ],
)
def test_it_marks_cookies_secure_only_over_https(tmp_path: Path, env: dict[str, str], expected: list) -> None:
    assert _settings_with(tmp_path, **env) == expected


def test_it_refuses_a_bad_https_value(tmp_path: Path) -> None:
    outcome = _settings_with(tmp_path, HTTPS="sometimes")
    assert outcome[0] == "error" and "HTTPS='sometimes' is not a boolean" in outcome[1]
