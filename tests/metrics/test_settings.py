"""Bad alert and metrics settings stop start-up with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, "HYPERWEB_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"METRICS_ALLOW_IPS": "10.0.0.0/8,not-an-address"},
            "METRICS_ALLOW_IPS: 'not-an-address' is not an address",
        ),
        ({"SMTP_STARTTLS": "true", "SMTP_SSL": "true"}, "SMTP_STARTTLS and SMTP_SSL are exclusive"),
        ({"SMTP_PORT": "smtp"}, "SMTP_PORT='smtp' is not an integer"),
        ({"ALERT_TARGET_MIN_FREE_PERCENT": "-1"}, "ALERT_TARGET_MIN_FREE_PERCENT=-1.0 must be at least 0"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, env, message) -> None:
    done = check(tmp_path, **env)
    assert done.returncode != 0
    assert message in done.stderr


def test_good_values_start(tmp_path) -> None:
    done = check(
        tmp_path,
        METRICS_ALLOW_IPS="10.0.0.5,192.168.0.0/24,::1",
        SMTP_HOST="smtp.example",
        SMTP_STARTTLS="true",
        SMTP_PASSWORD="never-printed-0123",
    )
    assert done.returncode == 0, done.stderr
    assert "never-printed-0123" not in done.stdout + done.stderr
