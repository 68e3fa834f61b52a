"""Benchmarks say which commit and how busy the machine was, and leave nothing in /tmp."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "benchmarks", capture_output=True, text=True, timeout=60
    )


def test_it_prints_the_commit_and_load_average_at_start_and_end() -> None:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    done = _run("import runinfo; runinfo.begin(); print('figure 1.0')")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"# start: commit {head}") and "load average" in lines[0]
    assert lines[1] == "figure 1.0"
    assert lines[2].startswith(f"# end: commit {head}") and "on " in lines[2]


def test_it_removes_its_scratch_folders_even_when_the_benchmark_fails() -> None:
    done = _run(
        "import runinfo\n"
        "folder = runinfo.scratch('hw-test-runinfo-')\n"
        "(folder / 'db.sqlite3').write_bytes(b'x' * 1024)\n"
        "print(folder, flush=True)\n"
        "raise AssertionError('a failed check')\n"
    )
    assert done.returncode == 1 and "a failed check" in done.stderr
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("hw-test-runinfo-")
    assert not folder.exists()
