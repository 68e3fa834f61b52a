"""The CSV parser: the Let's Wait Awhile format (data/grid), the general time,value[,zone] format, bad rows."""

from __future__ import annotations

import gzip
import io
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carbon.providers import csvfile
from carbon.providers.base import ProviderError, ZoneRef
from carbon.providers.csvfile import parse_csv

DATA = Path(__file__).resolve().parents[2] / "data" / "grid"
DE_FILE = DATA / "de_2020_ci.csv.gz"
FR_FILE = DATA / "fr_2020_ci.csv.gz"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_it_parses_the_whole_de_2020_file() -> None:
    rows = list(parse_csv(DE_FILE, zone="DE"))

    assert len(rows) == 37_147
    assert {zone for zone, _ in rows} == {"DE"}
    first, last = rows[0][1], rows[-1][1]
    assert (first.start, first.end) == (utc(2019, 12, 20, 0, 0), utc(2019, 12, 20, 0, 15))
    assert first.value == pytest.approx(218.29003068829462)
    assert (last.start, last.end) == (utc(2021, 1, 9, 23, 0), utc(2021, 1, 9, 23, 15))
    assert last.value == pytest.approx(508.090651507907)
    assert all(r.kind == "actual" and r.signal == "average" and r.issued_at is None for _, r in rows)
    # Consecutive rows tile time without overlaps.
    assert all(a.end <= b.start for (_, a), (_, b) in itertools.pairwise(rows))


def test_it_infers_the_half_hour_step_of_the_fr_file() -> None:
    rows = list(itertools.islice(parse_csv(str(FR_FILE)), 3))

    assert [r.end - r.start for _, r in rows] == [timedelta(minutes=30)] * 3
    assert rows[0][0] is None  # no zone given and none in the file


def test_it_reads_the_general_format_with_a_zone_column() -> None:
    text = (
        "time,value,zone\n"
        "2024-03-01T00:00:00Z,312.5,DE\n"
        "2024-03-01T00:00:00Z,55,FR\n"
        "2024-03-01T02:00:00+01:00,298,DE\n"  # 01:00 UTC
        "2024-03-01T00:30:00,60,FR\n"  # naive means UTC
        "2024-03-01T02:00:00Z,290,DE\n"
        "2024-03-01T01:00:00Z,58,FR\n"
    )

    rows = sorted(parse_csv(io.StringIO(text), zone="XX"), key=lambda zr: (zr[0], zr[1].start))

    assert [(z, r.start, r.end, r.value) for z, r in rows] == [
        ("DE", utc(2024, 3, 1, 0), utc(2024, 3, 1, 1), 312.5),
        ("DE", utc(2024, 3, 1, 1), utc(2024, 3, 1, 2), 298.0),
        ("DE", utc(2024, 3, 1, 2), utc(2024, 3, 1, 3), 290.0),  # the last row reuses the step
        ("FR", utc(2024, 3, 1, 0, 0), utc(2024, 3, 1, 0, 30), 55.0),
        ("FR", utc(2024, 3, 1, 0, 30), utc(2024, 3, 1, 1, 0), 60.0),
        ("FR", utc(2024, 3, 1, 1, 0), utc(2024, 3, 1, 1, 30), 58.0),
    ]


def test_it_uses_the_zone_argument_for_rows_without_one() -> None:
    text = "Value,TIME,Zone\n10,2024-01-01 00:00,\n20,2024-01-01 01:00,\n30,2024-01-01 00:00,SE\n40,2024-01-01 00:15,SE\n"

    rows = list(parse_csv(io.StringIO(text), zone="DE"))

    assert sorted((z, r.value) for z, r in rows) == [("DE", 10.0), ("DE", 20.0), ("SE", 30.0), ("SE", 40.0)]
    assert {z: r.end - r.start for z, r in rows} == {"DE": timedelta(hours=1), "SE": timedelta(minutes=15)}


def test_it_reads_the_general_format_without_a_zone_column() -> None:
    rows = list(parse_csv(io.StringIO("time,value\n2024-01-01T00:00Z,1\n\n2024-01-01T00:05Z,2\n")))

    assert [(z, r.value, r.end - r.start) for z, r in rows] == [
        (None, 1.0, timedelta(minutes=5)),
        (None, 2.0, timedelta(minutes=5)),
    ]


def test_it_reads_times_by_the_same_rules_as_the_api_go_nanoseconds_and_lowercase_z() -> None:
    text = "time,value\n2024-01-01T00:00:00.123456789Z,1\n2024-01-01t00:05:00.123456z,2\n"
    rows = list(parse_csv(io.StringIO(text)))
    assert [r.start for _, r in rows] == [utc(2024, 1, 1, 0, 0, 0, 123456), utc(2024, 1, 1, 0, 5, 0, 123456)]


def test_it_reads_binary_streams_with_a_byte_order_mark() -> None:
    raw = io.BytesIO(
        "\ufeffTime,Carbon Intensity\r\n2020-01-01 00:00:00,100\r\n2020-01-01 00:15:00,90\r\n".encode()
    )

    rows = list(parse_csv(raw, zone="DE"))

    assert [r.value for _, r in rows] == [100.0, 90.0]
    assert not raw.closed  # the caller's stream is left open


class EndlessCsv(io.TextIOBase):
    """A text stream of unbounded rows, to show the parser never reads a file to the end."""

    def __init__(self) -> None:
        self.lines_read = 0
        self.start = datetime(2024, 1, 1, tzinfo=UTC)

    def __iter__(self) -> EndlessCsv:
        return self

    def __next__(self) -> str:
        self.lines_read += 1
        if self.lines_read == 1:
            return "time,value\n"
        moment = self.start + timedelta(minutes=5 * self.lines_read)
        return f"{moment.isoformat()},{self.lines_read}\n"

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        return next(self)


def test_it_streams_rather_than_reading_the_whole_file() -> None:
    stream = EndlessCsv()

    first = list(itertools.islice(parse_csv(stream), 5))

    assert len(first) == 5
    assert stream.lines_read <= 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: the file is empty"),
        ("when,what\n2024-01-01,1\n", "line 1: header"),
        ("time,zone\n2024-01-01,DE\n", "line 1: the header needs"),
        ("time,value\n2024-01-01T00:00Z,1\nyesterday,2\n", "line 3: 'yesterday' is not an ISO 8601 time"),
        ("time,value\n2024-01-01T00:00Z,1\n2024-01-01T01:00Z,lots\n", "line 3: 'lots' is not a number"),
        ("time,value\n2024-01-01T00:00Z,1\n2024-01-01T01:00Z,-5\n", "line 3: '-5' is not a usable intensity"),
        ("time,value\n2024-01-01T00:00Z,1\n2024-01-01T01:00Z,nan\n", "line 3: 'nan' is not a usable"),
        ("time,value\n2024-01-01T00:00Z,1\n2024-01-01T01:00Z,2,3\n", "line 3: expected 2 columns, found 3"),
        ("time,value\n2024-01-01T01:00Z,1\n2024-01-01T00:00Z,2\n", "line 3: .* is not after line 2's"),
        ("time,value\n2024-01-01T01:00Z,1\n2024-01-01T01:00Z,2\n", "line 3: .* is not after line 2's"),
        (
            "time,value,zone\n2024-01-01T00:00Z,1,DE\n2024-01-01T00:00Z,2,FR\n",
            "line 2: only one row for zone DE",
        ),
        ("time,value\n2024-01-01T00:00Z,1\n", "line 2: only one row"),
    ],
)
def test_it_names_the_line_of_a_bad_row(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list(parse_csv(io.StringIO(text)))


def test_it_reports_a_bad_row_after_yielding_the_good_ones_before_it() -> None:
    rows = parse_csv(
        io.StringIO("time,value\n2024-01-01T00:00Z,1\n2024-01-01T00:15Z,2\n2024-01-01T00:30Z,x\n")
    )

    assert next(rows)[1].value == 1.0
    with pytest.raises(ValueError, match="line 4"):
        next(rows)


def test_the_registry_stub_only_imports() -> None:
    provider = csvfile.build()
    zone = ZoneRef("DE", "DE")

    assert provider.name == "csv" and provider.simulated is False
    for call in (
        lambda: provider.current(zone),
        lambda: provider.forecast(zone),
        lambda: provider.history(zone, utc(2024, 1, 1), utc(2024, 1, 2)),
    ):
        with pytest.raises(ProviderError, match="csv provides history only by import"):
            call()
    assert provider.zones() == []


def spans(text: str) -> list[tuple[datetime, datetime, float]]:
    return [(r.start, r.end, r.value) for _, r in parse_csv(io.StringIO(text))]


def test_it_leaves_a_hole_in_the_data_a_hole() -> None:
    rows = spans(
        "time,value\n"
        "2024-03-01T00:00Z,1\n2024-03-01T00:30Z,2\n"
        "2024-03-01T01:00Z,3\n"  # then nothing for 6 hours
        "2024-03-01T07:00Z,4\n2024-03-01T07:30Z,5\n"
    )

    assert rows == [
        (utc(2024, 3, 1, 0, 0), utc(2024, 3, 1, 0, 30), 1.0),
        (utc(2024, 3, 1, 0, 30), utc(2024, 3, 1, 1, 0), 2.0),
        (utc(2024, 3, 1, 1, 0), utc(2024, 3, 1, 1, 30), 3.0),  # its own step, not until 07:00
        (utc(2024, 3, 1, 7, 0), utc(2024, 3, 1, 7, 30), 4.0),
        (utc(2024, 3, 1, 7, 30), utc(2024, 3, 1, 8, 0), 5.0),
    ]


def test_it_tells_a_coarser_resolution_from_a_hole() -> None:
    rows = spans(
        "time,value\n"
        "2024-03-01T00:00Z,1\n2024-03-01T00:15Z,2\n2024-03-01T00:30Z,3\n"  # 15 min, then 30 min
        "2024-03-01T01:00Z,4\n2024-03-01T01:30Z,5\n2024-03-01T01:45Z,6\n"  # and 15 min again
    )

    assert [(e - s) for s, e, _ in rows] == [timedelta(minutes=m) for m in (15, 15, 30, 30, 15, 15)]


def test_it_does_not_fill_a_hole_before_the_last_row() -> None:
    rows = spans("time,value\n2024-03-01T00:00Z,1\n2024-03-01T00:30Z,2\n2024-03-01T03:00Z,3\n")

    assert [(s.hour, s.minute, e.hour, e.minute) for s, e, _ in rows] == [
        (0, 0, 0, 30),
        (0, 30, 1, 0),
        (3, 0, 3, 30),
    ]


# -- gzip ---------------------------------------------------------------------------------------


def test_it_reads_a_gzip_file_as_the_csv_inside_it_whatever_its_name(tmp_path) -> None:
    text = "time,value,zone\n2024-03-01T00:00:00Z,312.5,DE\n2024-03-01T01:00:00Z,298.0,DE\n"
    plain = tmp_path / "ci.csv"
    plain.write_text(text)
    packed = tmp_path / "ci.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    misnamed = tmp_path / "gzip-without-suffix.csv"
    misnamed.write_bytes(gzip.compress(text.encode()))

    expected = list(parse_csv(plain))
    assert [r.value for _, r in expected] == [312.5, 298.0]
    assert list(parse_csv(packed)) == expected
    assert list(parse_csv(misnamed)) == expected


def test_it_says_when_gzip_data_is_cut_short_or_damaged(tmp_path) -> None:
    body = "".join(f"2024-03-01T{h:02d}:00:00Z,{h}\n" for h in range(24)) * 1
    packed = gzip.compress(("time,value\n" + body).encode())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValueError, match="gzip data is damaged or cut short"):
        list(parse_csv(cut, zone="DE"))

    damaged = tmp_path / "damaged.csv.gz"
    damaged.write_bytes(packed[:2] + b"\x00" * 40)  # gzip's magic bytes, then nothing valid
    with pytest.raises(ValueError, match="gzip data is damaged or cut short"):
        list(parse_csv(damaged, zone="DE"))
