"""hyperweb.env: every helper gives its default when unset or empty, and names the variable on a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hyperweb import env
from hyperweb import settings as site_settings

VAR = "HYPERWEB_TEST_SETTING"


@pytest.fixture
def setenv(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(VAR, raising=False)

    def set_to(value: str) -> None:
        monkeypatch.setenv(VAR, value)

    return set_to


def refused(call, *fragments: str) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        call()
    message = str(caught.value)
    assert VAR in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_str_strips_and_defaults_when_empty(setenv) -> None:
    assert env.env_str(VAR, "d") == "d"
    setenv("  ")
    assert env.env_str(VAR, "d") == "d"
    setenv(" x ")
    assert env.env_str(VAR, "d") == "x"


def test_int(setenv) -> None:
    assert env.env_int(VAR, 7) == 7
    setenv("12")
    assert env.env_int(VAR, 7, minimum=1, maximum=12) == 12
    setenv("twelve")
    refused(lambda: env.env_int(VAR, 7), "'twelve' is not an integer")
    setenv("1.5")
    refused(lambda: env.env_int(VAR, 7), "is not an integer")
    setenv("0")
    refused(lambda: env.env_int(VAR, 7, minimum=1), "must be at least 1")
    setenv("10")
    refused(lambda: env.env_int(VAR, 7, maximum=9), "must be at most 9")


def test_float(setenv) -> None:
    assert env.env_float(VAR, 2.5) == 2.5
    setenv("0.25")
    assert env.env_float(VAR, 2.5) == 0.25
    setenv("fast")
    refused(lambda: env.env_float(VAR, 2.5), "'fast' is not a number")
    setenv("nan")
    refused(lambda: env.env_float(VAR, 2.5), "must be a finite number")
    setenv("-1")
    refused(lambda: env.env_float(VAR, 2.5, minimum=0), "must be at least 0")


def test_optional_float(setenv) -> None:
    assert env.env_optional_float(VAR) is None
    setenv("0")
    assert env.env_optional_float(VAR, minimum=0) == 0.0
    setenv("lots")
    refused(lambda: env.env_optional_float(VAR), "is not a number")


def test_bool(setenv) -> None:
    assert env.env_bool(VAR, True) is True
    for text, value in [("yes", True), ("ON", True), ("1", True), ("no", False), ("false", False), ("0", False)]:
        setenv(text)
        assert env.env_bool(VAR, not value) is value
    setenv("sometimes")
    refused(lambda: env.env_bool(VAR), "'sometimes' is not a boolean")


def test_choice(setenv) -> None:
    assert env.env_choice(VAR, "b", ("a", "b")) == "b"
    setenv("A")
    assert env.env_choice(VAR, "b", ("a", "b")) == "a"  # case-insensitive, returned as spelled
    setenv("c")
    refused(lambda: env.env_choice(VAR, "b", ("a", "b")), "'c' is not one of a, b")


def test_url(setenv) -> None:
    assert env.env_url(VAR) == ""
    assert env.env_url(VAR, "https://x.example") == "https://x.example"
    setenv("https://hypersdk.example:8443/base")
    assert env.env_url(VAR) == "https://hypersdk.example:8443/base"
    setenv("unix:///run/redis.sock")
    assert env.env_url(VAR, schemes=("redis", "unix")) == "unix:///run/redis.sock"
    for bad in ("hypersdk.example:8443", "ftp://x.example", "https://", "localhost"):
        setenv(bad)
        refused(lambda: env.env_url(VAR), repr(bad), "is not a URL")
    setenv("https://x.example:port")
    refused(lambda: env.env_url(VAR), "has an invalid port")
    setenv("http://x.example")
    refused(lambda: env.env_url(VAR, schemes=("redis", "rediss")), "schemes: redis, rediss")


def test_seconds_and_count(setenv) -> None:
    assert env.env_seconds(VAR, "7d") == 7 * 86400
    setenv("90m")
    assert env.env_seconds(VAR, "7d") == 5400
    setenv("1h30m")  # the one duration grammar the commands use (docs/OPERATIONS.md)
    assert env.env_seconds(VAR, "7d") == 5400
    setenv("3600")  # a bare number is seconds here
    assert env.env_seconds(VAR, "7d") == 3600
    setenv("off")
    assert env.env_seconds(VAR, "7d") == 0
    setenv("-2h")
    refused(lambda: env.env_seconds(VAR, "7d"), "is not a duration")
    setenv("soon")
    refused(lambda: env.env_seconds(VAR, "7d"), "is not a duration")
    assert env.env_count("HYPERWEB_TEST_UNSET_COUNT") is None
    setenv("-1")
    refused(lambda: env.env_count(VAR), "must be at least 0")
    setenv("two")
    refused(lambda: env.env_count(VAR), "is not a whole number")


def test_time_of_day(setenv) -> None:
    assert env.env_time_of_day(VAR) == ""
    setenv("2:00")
    assert env.env_time_of_day(VAR) == "2:00"
    for bad in ("24:00", "12:60", "noon", "1200"):
        setenv(bad)
        refused(lambda: env.env_time_of_day(VAR), repr(bad), "HH:MM")


def test_networks(setenv) -> None:
    assert env.env_networks(VAR) == []
    setenv("10.0.0.5, 192.168.0.0/24,::1")
    assert env.env_networks(VAR) == ["10.0.0.5", "192.168.0.0/24", "::1"]
    setenv("10.0.0.5,intranet")
    refused(lambda: env.env_networks(VAR), "'intranet' is not an address or network")


def test_pairs(setenv) -> None:
    assert env.env_pairs(VAR, "a=1,b=2") == [("a", "1"), ("b", "2")]
    setenv(" GB = ukgrid,simulated ; DE=electricitymaps ;")
    assert env.env_pairs(VAR, separator=";") == [("GB", "ukgrid,simulated"), ("DE", "electricitymaps")]
    for bad in ("a", "=1", "a=", "a=x"):
        setenv(bad)
        refused(lambda: env.env_pairs(VAR, form="name=seconds", value_ok=str.isdigit), repr(bad), "name=seconds")


def test_database_url() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL scheme 'mysql'"):
        env.database_from_url("mysql://x/y")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL names no database"):
        env.database_from_url("postgres://host/")


PROBE = "import hyperweb.settings"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("Q_WORKERS", "many", "Q_WORKERS='many' is not an integer"),
        ("CARBON_HTTP_TIMEOUT", "slow", "CARBON_HTTP_TIMEOUT='slow' is not a number"),
        ("BACKUP_PLAN_REFRESH", "maybe", "BACKUP_PLAN_REFRESH='maybe' is not a boolean"),
        ("BACKUP_RISK", "reckless", "BACKUP_RISK='reckless' is not one of cautious, balanced, greedy"),
        ("HYPERSDK_URL", "hypersdk:8443", "HYPERSDK_URL='hypersdk:8443' is not a URL"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL='localhost:6379' is not a URL"),
        ("REPORT_SITE_SCOPE", "DE=mine", "REPORT_SITE_SCOPE: 'DE=mine' is not ZONE=own or ZONE=hosted"),
    ],
)
def test_the_settings_refuse_a_bad_value_naming_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    environment = dict(os.environ, HYPERWEB_DATA_DIR=str(tmp_path), SECRET_KEY="test", **{variable: value})
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=site_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured") and message in last_line, last_line


def test_each_variable_is_read_once_by_the_settings() -> None:
    """Every env helper call in settings.py names a different variable (no setting read twice)."""
    import re

    source = Path(site_settings.__file__).read_text()
    names = re.findall(r"\benv_\w+\(\s*\"([A-Z0-9_]+)\"", source)
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert names and repeated == []


def test_every_variable_the_settings_read_is_in_the_readme_table() -> None:
    import re

    source = Path(site_settings.__file__).read_text()
    readme = (Path(site_settings.BASE_DIR) / "README.md").read_text()
    names = set(re.findall(r"\benv_\w+\(\s*\"([A-Z0-9_]+)\"", source))
    undocumented = sorted(name for name in names if f"`{name}`" not in readme)
    assert undocumented == []
