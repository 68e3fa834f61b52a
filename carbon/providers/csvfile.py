"""CSV import of historical carbon intensity: a streaming parser and a registry stub.

Two formats are accepted, told apart by the header (required, first line, case-insensitive):

1. The "Let's Wait Awhile" format (ENTSO-E derived; the files in data/grid/ are in it)::

       Time,Carbon Intensity
       2019-12-20 00:00:00,218.29003068829462

2. The general format, columns in any order, `zone` optional::

       time,value,zone
       2024-03-01T00:00:00Z,312.5,DE
       2024-03-01T01:00:00+01:00,298.0,DE

Rules for both:

- `time` is ISO 8601 (`YYYY-MM-DD HH:MM:SS` or with a `T`); `Z` or an offset is honoured, a time
  without one is UTC. Values are gCO2eq/kWh, finite and not negative.
- A row covers its own step, never a hole: normally [time, next time of the same zone). When the
  gap to the next row is longer than the step before it, the row after tells which it is: a gap
  as long as the next one is a coarser resolution (the row covers it); a longer one is a hole,
  and the row keeps the step before it (the hole stays a hole: no reading covers it). The zone's
  first row lasts until the next; its last row reuses the step before it. Times must strictly
  increase within a zone. A zone with a single row has no step to infer and is an error (never a
  guessed duration).
- The zone of a row is its `zone` cell; the `zone=` argument is the default for rows that name
  none (the Let's Wait Awhile format, or an empty cell). With neither, the zone is None.
- Blank lines are skipped. Any bad row raises ValueError naming its line number.
- A gzip-compressed file (`.csv.gz`, told by its first bytes, not its name) is read as the CSV
  inside it; damaged gzip data raises ValueError too.

The parser streams: it holds one or two pending rows per zone, never the whole file. Every reading is
kind "actual" with the average signal; `carbon.services` stores it with source "csv".
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, Any

from carbon.providers.base import ProviderError, Reading, ZoneRef
from hyperweb.lib.timefmt import parse_timestamp

SHARED_HEADER = ("time", "carbon intensity")
GZIP_MAGIC = b"\x1f\x8b"
# What a damaged gzip stream raises while it is read (BadGzipFile is an OSError).
GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """The file at `path` as text, decompressed on the fly when it is gzip (by content, not name)."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    # utf-8-sig: spreadsheet exports often start with a byte-order mark.
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _open(source: str | os.PathLike[str] | IO[Any]) -> tuple[IO[str], str]:
    """A text stream for `source` and how to let go of it: "close", "detach" or "keep"."""
    if isinstance(source, str | os.PathLike):
        return open_text(source), "close"
    if isinstance(source, io.TextIOBase):
        return source, "keep"
    # A binary stream (an uploaded file, a BytesIO): decode it without reading it all, and detach
    # afterwards so the caller's stream is not closed with the wrapper.
    return io.TextIOWrapper(source, encoding="utf-8-sig", newline=""), "detach"


def _parse_time(text: str, line: int) -> datetime:
    # The wire's rules (Z, offsets, naive = UTC, extra fractional digits cut), with the line number.
    try:
        return parse_timestamp(text)
    except ValueError:
        raise ValueError(f"line {line}: {text!r} is not an ISO 8601 time") from None


def _parse_value(text: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"line {line}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"line {line}: {text!r} is not a usable intensity (finite, >= 0 gCO2eq/kWh)")
    return value


def _columns(header: list[str]) -> tuple[int, int, int | None]:
    """Indexes of (time, value, zone) from the header row, or ValueError naming line 1."""
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    if tuple(names) == SHARED_HEADER:
        return 0, 1, None
    if len(set(names)) != len(names) or not set(names) <= {"time", "value", "zone"}:
        raise ValueError(
            f"line 1: header {','.join(header)!r} is neither 'Time,Carbon Intensity' nor 'time,value[,zone]'"
        )
    if "time" not in names or "value" not in names:
        raise ValueError("line 1: the header needs a 'time' and a 'value' column")
    return names.index("time"), names.index("value"), names.index("zone") if "zone" in names else None


def parse_csv(
    path_or_file: str | os.PathLike[str] | IO[Any], zone: str | None = None
) -> Iterator[tuple[str | None, Reading]]:
    """Yield (zone or None, Reading) for every row; see the module docstring for the formats."""
    stream, release = _open(path_or_file)
    try:
        reader = csv.reader(stream)
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # leading blank lines
        if header is None:
            raise ValueError("line 1: the file is empty (a header row is required)")
        time_col, value_col, zone_col = _columns(header)
        width = len(header)
        default_zone = zone.strip() if zone and zone.strip() else None

        # Per zone: the rows whose step is not decided yet (start, value, line; one or two) and the
        # step of the zone's last yielded row (its resolution so far).
        pending: dict[str | None, list[tuple[datetime, float, int]]] = {}
        last_step: dict[str | None, timedelta] = {}

        def ready(row_zone: str | None, final: bool) -> Iterator[tuple[str | None, Reading]]:
            rows = pending[row_zone]
            while len(rows) >= 2:
                (s0, v0, _), (s1, _, _) = rows[0], rows[1]
                step = _own_step(
                    s1 - s0,
                    last_step.get(row_zone),
                    rows[2][0] - s1 if len(rows) >= 3 else None,
                    final,
                )
                if step is None:
                    return  # wait for the next row to tell a hole from a coarser resolution
                last_step[row_zone] = step
                rows.pop(0)
                yield row_zone, Reading(start=s0, end=s0 + step, value=v0)

        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != width:
                raise ValueError(f"line {line}: expected {width} columns, found {len(row)}")
            start = _parse_time(row[time_col], line)
            value = _parse_value(row[value_col], line)
            row_zone = default_zone
            if zone_col is not None and row[zone_col].strip():
                row_zone = row[zone_col].strip()

            rows = pending.setdefault(row_zone, [])
            if rows:
                prev_start, _, prev_line = rows[-1]
                if start <= prev_start:
                    raise ValueError(
                        f"line {line}: time {row[time_col].strip()} is not after line {prev_line}'s"
                        + (f" for zone {row_zone}" if row_zone else "")
                    )
            rows.append((start, value, line))
            yield from ready(row_zone, final=False)

        for row_zone, rows in pending.items():
            yield from ready(row_zone, final=True)
            start, value, line = rows[0]
            step = last_step.get(row_zone)
            if step is None:
                raise ValueError(
                    f"line {line}: only one row"
                    + (f" for zone {row_zone}" if row_zone else "")
                    + ", so its duration cannot be inferred"
                )
            yield row_zone, Reading(start=start, end=start + step, value=value)
    except GZIP_ERRORS as exc:
        raise ValueError(f"the gzip data is damaged or cut short ({exc})") from None
    finally:
        if release == "close":
            stream.close()
        elif release == "detach":
            stream.detach()  # type: ignore[attr-defined]


def _own_step(
    gap: timedelta, before: timedelta | None, after: timedelta | None, final: bool
) -> timedelta | None:
    """How long a row lasts, from the gap to the next row, the step of the row before it and the
    gap after the next row (None: not known yet); None means "wait for one more row".

    A gap no longer than the step before is the row's step (a finer resolution starts, or the
    same). A longer gap is either a coarser resolution (the gap after it is as long) or a hole
    (the gap after it is shorter, or the file ends): a hole is not filled, the row keeps the step
    before it. The zone's first row has no step before it and lasts until the next row.
    """
    if before is None or gap <= before:
        return gap
    if after is None:
        return before if final else None
    return gap if gap <= after else before


class CsvProvider:
    """Sits in the provider registry so "csv" is a known name; its data arrives by import only."""

    name = "csv"
    simulated = False
    remote = False  # reads a local file

    def _refuse(self) -> ProviderError:
        return ProviderError("csv provides history only by import")

    def current(self, zone: ZoneRef, *, now: datetime | None = None) -> Reading:
        raise self._refuse()

    def forecast(self, zone: ZoneRef, hours: int = 72, *, now: datetime | None = None) -> list[Reading]:
        raise self._refuse()

    def history(
        self, zone: ZoneRef, start: datetime, end: datetime, *, now: datetime | None = None
    ) -> list[Reading]:
        raise self._refuse()

    def zones(self, *, now: datetime | None = None) -> list[str]:
        return []


def build() -> CsvProvider:
    return CsvProvider()
