"""manage.py report: writes the files; bad input is one line on stderr and exit status 2."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_it_writes_the_csv_summary_and_pdf(esg_fixture, tmp_path, capsys) -> None:
    rows_file, summary_file, pdf_file = tmp_path / "q3.csv", tmp_path / "q3-summary.csv", tmp_path / "q3.pdf"
    call_command(
        "report",
        "--start",
        "2026-07-01",
        "--end",
        "2026-09-30",
        "--format",
        "csv",
        "--output",
        str(rows_file),
    )
    with rows_file.open(encoding="utf-8", newline="") as handle:
        assert sorted(r["name"] for r in csv.DictReader(handle)) == ["vm-a", "vm-b", "vm-c"]
    call_command(
        "report",
        "--period",
        "2026-Q3",
        "--zone",
        "DE",
        "--format",
        "summary-csv",
        "--output",
        str(summary_file),
    )
    assert "zone,DE,providers,csv," in summary_file.read_text()
    call_command("report", "--period", "2026-Q3", "--format", "pdf", "--output", str(pdf_file))
    assert pdf_file.read_bytes().startswith(b"%PDF-")
    assert "3 backups, 95.0 g CO2e location-based (average signal)" in capsys.readouterr().out


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {"HYPERWEB_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "SECRET_KEY": "test"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    return subprocess.run(
        [sys.executable, "manage.py", "report", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_it_exits_2_with_one_line_on_bad_input(tmp_path) -> None:
    out = str(tmp_path / "x.csv")
    done = run("--start", "2026-09-30", "--end", "2026-07-01", "--output", out, tmp_path=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "CommandError: end (2026-07-01) must be after start (2026-09-30)"
    ]
    unknown = subprocess.run(
        [sys.executable, "manage.py", "report", "--period", "2026-Q3", "--zone", "XX", "--output", out],
        cwd=ROOT,
        env={"HYPERWEB_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "SECRET_KEY": "test"},
        capture_output=True,
        text=True,
    )
    assert unknown.returncode == 2 and "unknown zone 'XX'" in unknown.stderr
    assert not Path(out).exists()
