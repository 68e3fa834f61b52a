"""`manage.py carbon`: every subcommand, its --json output, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from carbon.management.commands.carbon import parse_duration, parse_when
from carbon.models import CarbonReading
from carbon.providers import register, unregister
from hyperweb.lib import units
from tests.carbon.factories import ZoneFactory
from tests.carbon.fakes import FakeProvider

pytestmark = pytest.mark.django_db

AT = "2026-04-01T12:00:00Z"
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> tuple[list[str], dict[str, str]]:
    """`manage.py` in a subprocess on a throwaway, migrated SQLite database (never the real one)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["HYPERWEB_DATA_DIR"] = str(tmp_path_factory.mktemp("cli"))
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    migrate = subprocess.run(
        [*manage, "migrate", "-v", "0"], env=env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    return manage, env


def carbon(*args: str, **kwargs: object) -> str:
    out = StringIO()
    call_command("carbon", *args, stdout=out, stderr=StringIO(), **kwargs)
    return out.getvalue()


def carbon_json(*args: str) -> dict:
    return json.loads(carbon(*args, "--json"))


def fails_with(*args: str, code: int = 2) -> str:
    with pytest.raises(CommandError) as caught:
        carbon(*args)
    assert caught.value.returncode == code
    assert "\n" not in str(caught.value)
    return str(caught.value)


# -- status -------------------------------------------------------------------------------------


def test_it_prints_the_status_as_json_with_a_forecast():
    data = carbon_json("status", "--zone", "de", "--at", AT)
    assert data["zone"] == "DE" and data["timestamp"] == "2026-04-01T12:00:00Z"
    assert data["intensity_gco2_kwh"] > 0 and data["quality"] in {"excellent", "good", "moderate", "poor"}
    assert (data["source"], data["simulated"], data["stale"]) == ("simulated", True, False)
    assert len(data["forecast"]) == 4
    assert data["forecast"][1]["time"] == "2026-04-01T13:00:00Z"
    assert all(point["simulated"] for point in data["forecast"])


def test_it_prints_the_status_as_a_readable_table_without_colour_when_not_a_terminal():
    text = carbon("status", "--zone", "DE", "--at", AT)
    assert text.startswith("DE  Germany: ") and "[simulated]" in text and "gCO2/kWh" in text
    assert "2026-04-01 13:00" in text
    assert "\x1b[" not in text


def test_it_colours_the_table_when_asked():
    assert "\x1b[" in carbon("status", "--zone", "DE", "--at", AT, force_color=True)


def test_it_takes_no_color_before_or_after_the_subcommand(cli):
    manage, env = cli
    for args in (["carbon", "--no-color", "zones"], ["carbon", "zones", "--no-color"]):
        run = subprocess.run([*manage, *args], env=env, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert "\x1b[" not in run.stdout and run.stdout.startswith("code")


def test_it_accepts_relative_times():
    data = carbon_json("status", "--zone", "DE", "--at", "2h ago")
    stamp = datetime.fromisoformat(data["timestamp"])
    assert abs(stamp - (datetime.now(UTC) - timedelta(hours=2))) < timedelta(minutes=16)


# -- zones --------------------------------------------------------------------------------------


def test_it_lists_the_twelve_zones_as_json():
    data = carbon_json("zones")
    assert data["total"] == 12 and len(data["zones"]) == 12
    de = next(z for z in data["zones"] if z["code"] == "DE")
    assert (
        de["typical_intensity"] == 380
        and de["timezone"] == "Europe/Berlin"
        and de["providers"] == ["simulated"]
    )


def test_it_lists_the_zones_as_a_table():
    lines = carbon("zones").splitlines()
    assert lines[0].split()[:3] == ["code", "name", "region"]
    assert len(lines) == 13 and any(line.startswith("US-CAL-CISO") for line in lines)


# -- forecast -----------------------------------------------------------------------------------


def test_it_prints_the_forecast_averaged_per_hour_or_raw():
    hourly = carbon_json("forecast", "--zone", "FR", "--at", AT, "--hours", "3")["forecast"]
    assert [p["time"] for p in hourly] == [
        "2026-04-01T12:00:00Z",
        "2026-04-01T13:00:00Z",
        "2026-04-01T14:00:00Z",
    ]
    raw = carbon_json("forecast", "--zone", "FR", "--at", AT, "--hours", "3", "--every", "0")["forecast"]
    assert len(raw) == 12 and raw[0]["kind"] == "actual" and raw[1]["kind"] == "forecast"
    first_hour = sum(p["intensity_gco2_kwh"] for p in raw[:4]) / 4
    assert hourly[0]["intensity_gco2_kwh"] == pytest.approx(first_hour, abs=0.01)
    text = carbon("forecast", "--zone", "FR", "--at", AT, "--hours", "3")
    assert "FR  France: next 3 h" in text and "2026-04-01 14:00" in text


# -- estimate -----------------------------------------------------------------------------------


def test_it_names_the_best_window_and_its_saving():
    text = carbon("estimate", "--zone", "DE", "--data", "500", "--hours", "2", "--at", AT)
    assert "best window" in text and "saving:" in text
    data = carbon_json("estimate", "--zone", "DE", "--data", "500", "--hours", "2", "--at", AT)
    # Quantities through the pages' formatter: decimal bytes, Wh/kWh and g/kg/t by size.
    assert "500 GB read over 2 h = 250 Wh" in text, text
    assert f"saving: {units.co2(data['savings_kg_co2'])} CO2 (" in text, text
    assert units.co2(data["best_emissions_kg_co2"]) in text, text
    assert data["energy_kwh"] == pytest.approx(0.25)
    assert data["best_intensity_gco2_kwh"] <= data["current_intensity_gco2_kwh"]
    assert data["savings_kg_co2"] == pytest.approx(
        data["current_emissions_kg_co2"] - data["best_emissions_kg_co2"]
    )
    assert datetime.fromisoformat(data["best_time"]) <= NOW + timedelta(hours=24)


def test_it_limits_the_wait_to_max_delay():
    data = carbon_json(
        "estimate", "--zone", "DE", "--data", "100", "--hours", "1", "--max-delay", "3h", "--at", AT
    )
    assert data["max_delay_hours"] == 3 and data["delay_minutes"] <= 180
    data = carbon_json(
        "estimate", "--zone", "DE", "--data", "100", "--hours", "1", "--max-delay", "0", "--at", AT
    )
    assert data["delay_minutes"] == 0 and data["savings_kg_co2"] == 0


# -- import -------------------------------------------------------------------------------------


def test_it_imports_a_file_once(tmp_path):
    path = tmp_path / "se.csv"
    path.write_text(
        "Time,Carbon Intensity\n2020-01-01 00:00:00,40\n2020-01-01 00:15:00,41\n2020-01-01 00:30:00,42\n"
    )
    first = carbon_json("import", str(path), "--zone", "SE")
    assert (first["rows"], first["created"], first["zones"]) == (3, 3, ["SE"])
    second = carbon_json("import", str(path), "--zone", "SE", "--format", "lets-wait-awhile")
    assert (second["created"], second["unchanged"]) == (0, 3)
    assert "3 rows, 0 new, 0 updated, 3 unchanged" in carbon("import", str(path), "--zone", "SE")
    assert CarbonReading.objects.filter(zone__code="SE", source="csv").count() == 3


def test_it_imports_the_de_2020_file():
    path = Path(settings.BASE_DIR) / "data" / "grid" / "de_2020_ci.csv.gz"
    data = carbon_json("import", str(path), "--zone", "DE")
    assert data["rows"] == data["created"] == 37147


def test_it_refuses_a_bad_import(tmp_path):
    assert "no such file" in fails_with("import", str(tmp_path / "missing.csv"), "--zone", "DE")
    assert "is a directory" in fails_with("import", str(tmp_path), "--zone", "DE")
    path = tmp_path / "x.csv"
    path.write_text("time,value\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,nope\n")
    assert "line 3" in fails_with("import", str(path), "--zone", "DE")
    assert "lets-wait-awhile" in fails_with(
        "import", str(path), "--zone", "DE", "--format", "lets-wait-awhile"
    )
    assert "unknown zone" in fails_with("import", str(path), "--zone", "NOPE")
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes((Path(settings.BASE_DIR) / "data" / "grid" / "fr_2020_ci.csv.gz").read_bytes()[:5000])
    assert "gzip data is damaged or cut short" in fails_with("import", str(cut), "--zone", "FR")
    assert "is not in the 'general' format" in fails_with(
        "import", str(Path(settings.BASE_DIR) / "data" / "grid" / "fr_2020_ci.csv.gz"), "--zone", "FR",
        "--format", "general",
    )


# -- refresh ------------------------------------------------------------------------------------


def test_it_refreshes_a_zone_and_shows_what_happened():
    first = carbon_json("refresh", "--zone", "GB", "--at", AT)
    assert {(o["what"], o["status"]) for o in first["outcomes"]} == {
        ("history", "ok"),
        ("current", "ok"),
        ("forecast", "ok"),
    }
    again = carbon_json("refresh", "--zone", "GB", "--at", AT)
    assert {o["status"] for o in again["outcomes"]} == {"cached"}
    forced = carbon_json("refresh", "--zone", "GB", "--at", AT, "--force")
    assert {o["status"] for o in forced["outcomes"]} == {"ok"}
    assert "simulated" in carbon("refresh", "--zone", "GB", "--at", AT)


def test_it_refreshes_every_active_zone():
    data = carbon_json("refresh", "--at", AT)
    assert len({o["zone"] for o in data["outcomes"]}) == 12 and data["failed"] == []


def test_it_exits_1_when_no_provider_can_serve_a_zone():
    provider = FakeProvider("down", fail=True)
    register("down", lambda: provider)
    try:
        ZoneFactory(code="DOWN", providers="down")
        message = fails_with("refresh", "--zone", "DOWN", "--at", AT, code=1)
        assert "no provider could serve: DOWN current" in message
        assert "every provider failed" in fails_with("status", "--zone", "DOWN", "--at", AT, code=1)
    finally:
        unregister("down")


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["status", "--zone", "NOPE"], "unknown zone 'NOPE'"),
        (["forecast", "--zone", "NOPE"], "unknown zone 'NOPE'"),
        (["estimate", "--zone", "NOPE", "--data", "1"], "unknown zone 'NOPE'"),
        (["refresh", "--zone", "NOPE"], "unknown zone 'NOPE'"),
        (["estimate", "--zone", "DE", "--data", "abc"], "bad number for --data: 'abc'"),
        (["estimate", "--zone", "DE", "--data", "-5"], "--data must be a positive number"),
        (["estimate", "--zone", "DE", "--data", "5", "--hours", "two"], "bad duration 'two'"),
        (["estimate", "--zone", "DE", "--data", "5", "--max-delay", "8 fortnights"], "bad duration"),
        (["forecast", "--zone", "DE", "--hours", "x"], "bad number for --hours"),
        (["status", "--zone", "DE", "--at", "yesterday"], "bad time 'yesterday'"),
        (["forecast", "--zone", "DE", "--at", "2026-13-01"], "bad time"),
    ],
)
def test_it_reports_bad_input_in_one_line_with_exit_code_2(args, message):
    assert message in fails_with(*args)


def test_it_exits_2_with_one_line_on_stderr_from_the_command_line(cli):
    manage, env = cli
    run = subprocess.run(
        [*manage, "carbon", "status", "--zone", "NOPE"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == ["CommandError: unknown zone 'NOPE'"]


# -- time and duration parsing -----------------------------------------------------------------


def test_it_parses_relative_and_iso_times():
    now = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    assert parse_when("now", now) == now
    assert parse_when("2h ago", now) == now - timedelta(hours=2)
    assert parse_when("in 30m", now) == now + timedelta(minutes=30)
    assert parse_when("+1d", now) == now + timedelta(days=1)
    assert parse_when("-90 minutes", now) == now - timedelta(minutes=90)
    assert parse_when("2026-04-01 10:00", now) == datetime(2026, 4, 1, 10, tzinfo=UTC)
    assert parse_when("2026-04-01T12:00:00+02:00", now) == datetime(2026, 4, 1, 10, tzinfo=UTC)
    for bad in ("yesterday", "in soon", "2h from now", ""):
        with pytest.raises(ValueError):
            parse_when(bad, now)


def test_it_parses_durations():
    assert parse_duration("8h") == timedelta(hours=8)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2") == timedelta(hours=2)
    assert parse_duration("45 min") == timedelta(minutes=45)
    for bad in ("", "-1", "3 parsecs", "h", "nan"):
        with pytest.raises(ValueError):
            parse_duration(bad)
