"""CSV import benchmark: the DE 2020 file (37k rows) into a fresh SQLite database.

    .venv/bin/python benchmarks/bench_import.py [--file data/grid/de_2020_ci.csv.gz] [--runs 3]

Each timed run imports into an empty readings table (the database is created fresh in a temporary
data folder, so nothing of the developer's data is touched); the median of the runs is reported,
then a re-import of the same file on top of the stored rows (every row found unchanged). The time
to parse the file alone is shown beside, so storage and parsing can be told apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import runinfo  # noqa: E402  (benchmarks/, on sys.path when run as a script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=ROOT / "data" / "grid" / "de_2020_ci.csv.gz")
    parser.add_argument("--zone", default="DE")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runinfo.begin()

    data_dir = str(runinfo.scratch("hyperweb-bench-import-"))
    os.environ["HYPERWEB_DATA_DIR"] = data_dir  # a fresh SQLite file, WAL as in production
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperweb.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.core.management import call_command

    from carbon.models import CarbonReading
    from carbon.providers.csvfile import parse_csv
    from carbon.services import import_readings

    call_command("migrate", verbosity=0)

    started = time.perf_counter()
    rows = sum(1 for _ in parse_csv(args.file, zone=args.zone))
    parse_s = time.perf_counter() - started

    times = []
    for _ in range(args.runs):
        CarbonReading.objects.all().delete()
        started = time.perf_counter()
        result = import_readings(args.file, args.zone)
        times.append(time.perf_counter() - started)
        assert result.created == rows, result
    started = time.perf_counter()
    again = import_readings(args.file, args.zone)
    reimport_s = time.perf_counter() - started
    assert again.unchanged == rows and again.created == again.updated == 0, again

    median = statistics.median(times)
    print(f"file: {args.file.name}, {rows:,} rows, SQLite in {data_dir}")
    print(f"parse only:            {parse_s:6.2f} s  {rows / parse_s:>10,.0f} rows/s")
    print(
        f"import (median of {args.runs}): {median:6.2f} s  {rows / median:>10,.0f} rows/s"
        f"   runs: {', '.join(f'{t:.2f}' for t in times)} s"
    )
    print(f"re-import (unchanged): {reimport_s:6.2f} s  {rows / reimport_s:>10,.0f} rows/s")


if __name__ == "__main__":
    main()
