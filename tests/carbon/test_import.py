"""Importing the real 2020 grid data: every row once, and a second import changes nothing."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from carbon import services
from carbon.models import CarbonReading, Zone

pytestmark = pytest.mark.django_db

DATA = Path(settings.BASE_DIR) / "data" / "grid"
DE_FILE = DATA / "de_2020_ci.csv.gz"


def data_rows(path: Path) -> int:
    with gzip.open(path, "rt") as handle:
        return sum(1 for line in handle if line.strip()) - 1  # minus the header


def test_it_stores_every_row_of_the_de_file_once_and_a_second_import_changes_nothing():
    rows = data_rows(DE_FILE)
    first = services.import_readings(DE_FILE, "DE")
    assert (first.rows, first.created, first.updated, first.unchanged) == (rows, rows, 0, 0)
    stored = CarbonReading.objects.filter(zone__code="DE", source="csv", kind="actual")
    assert stored.count() == rows
    assert stored.order_by("start").first().start == datetime(2019, 12, 20, tzinfo=UTC)
    assert stored.order_by("start").first().value == pytest.approx(218.29003068829462)
    assert stored.order_by("-start").first().end == datetime(2021, 1, 9, 23, 15, tzinfo=UTC)

    second = services.import_readings(DE_FILE, "de")
    assert (second.rows, second.created, second.updated, second.unchanged) == (rows, 0, 0, rows)
    assert stored.count() == rows


def test_it_makes_imported_history_usable_as_a_series():
    services.import_readings(DATA / "fr_2020_ci.csv.gz", "FR")
    fr = Zone.objects.get(code="FR")
    day = datetime(2020, 6, 1, tzinfo=UTC)
    info = services.intensity_series(fr, day, day + timedelta(days=1), now=datetime(2026, 1, 1, tzinfo=UTC))
    assert info.sources == {"csv"} and not info.simulated and not info.stale
    assert info.series.coverage(day, day + timedelta(days=1)) == 1.0
    assert 0 < info.series.mean(day, day + timedelta(days=1)) < 200


def test_it_updates_changed_rows_on_reimport(tmp_path):
    path = tmp_path / "de.csv"
    path.write_text("time,value\n2024-01-01T00:00:00Z,100\n2024-01-01T01:00:00Z,110\n")
    services.import_readings(path, "DE")
    path.write_text(
        "time,value\n2024-01-01T00:00:00Z,100\n2024-01-01T01:00:00Z,120\n2024-01-01T02:00:00Z,130\n"
    )
    result = services.import_readings(path, "DE")
    assert (result.created, result.updated, result.unchanged, result.rows) == (1, 1, 1, 3)
    values = CarbonReading.objects.filter(zone__code="DE").order_by("start").values_list("value", flat=True)
    assert list(values) == [100, 120, 130]


def test_it_takes_the_zone_from_the_file_in_the_general_format(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text(
        "time,value,zone\n"
        "2024-01-01T00:00:00Z,100,DE\n2024-01-01T00:00:00Z,50,fr\n"
        "2024-01-01T01:00:00Z,110,DE\n2024-01-01T01:00:00Z,60,fr\n"
    )
    result = services.import_readings(path, None, batch_size=100)
    assert result.zones == ["DE", "FR"] and result.created == 4


def test_it_batches_and_reports_progress(tmp_path):
    path = tmp_path / "small.csv"
    lines = [f"2024-01-01T{h:02d}:00:00Z,{100 + h}" for h in range(24)]
    path.write_text("time,value\n" + "\n".join(lines) + "\n")
    seen: list[int] = []
    services.import_readings(path, "SE", batch_size=100, progress=seen.append)
    assert seen == [24]


def test_it_refuses_a_file_without_zone_an_unknown_zone_or_the_wrong_format(tmp_path):
    path = tmp_path / "nozone.csv"
    path.write_text("time,value\n2024-01-01T00:00:00Z,100\n2024-01-01T01:00:00Z,110\n")
    with pytest.raises(ValueError, match="no zone"):
        services.import_readings(path, None)
    with pytest.raises(services.UnknownZone):
        services.import_readings(path, "NOPE")
    with pytest.raises(ValueError, match="lets-wait-awhile"):
        services.import_readings(path, "DE", fmt="lets-wait-awhile")
    assert not CarbonReading.objects.exists()


def test_it_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,value\n2024-01-01T00:00:00Z,100\n2024-01-01T01:00:00Z,oops\n")
    with pytest.raises(ValueError, match="line 3"):
        services.import_readings(path, "DE")
