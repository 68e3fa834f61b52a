"""Disk full on the backup target (issue 11, failure modes): simulated with a file-size limit
(RLIMIT_FSIZE) on a real worker process running the real file executor. A clear failure, no
partial archive under any name, and the job retried later, when it succeeds."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.scheduler.factories import ROOT, manage, sqlite_site
from tests.scheduler.test_restart import row


def _run_job(env: dict[str, str], job_id: str, *, file_limit: int | None = None) -> str:
    def limit() -> None:
        if file_limit is not None:
            # SIGXFSZ would kill the process; ignored, a write past the limit fails with EFBIG.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, resource.RLIM_INFINITY))

    code = (
        "from scheduler.services.execution import execute_job; "
        f"print('OUTCOME', execute_job({job_id!r}))"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, preexec_fn=limit,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("OUTCOME"))


def _files(target: Path) -> list[Path]:
    return [p for p in target.rglob("*") if p.is_file()] if target.exists() else []


def test_a_full_target_fails_clearly_keeps_nothing_and_is_retried_later(tmp_path: Path) -> None:
    env = sqlite_site(tmp_path, BACKUP_RETRY_BACKOFF_SECONDS="1", BACKUP_MAX_ATTEMPTS="3")
    (tmp_path / "vms" / "big.img").write_bytes(os.urandom(12_000_000))  # incompressible: ~12 MB archive
    job_id = manage(env, "backup", "submit", "big.img").split()[0]
    data = tmp_path / "data"
    # Room for the database to grow a little, not for the archive.
    limit = max(p.stat().st_size for p in data.iterdir() if p.is_file()) + 4_000_000

    assert _run_job(env, job_id, file_limit=limit) == "retrying"
    job = row(tmp_path, job_id)
    assert job["status"] == "pending" and job["attempts"] == 1, job
    assert "the backup target is full (file size limit reached)" in job["error"], job["error"]
    assert any("transient failure" in m and "target is full" in m for m in job["events"]), job["events"]
    assert _files(tmp_path / "backups") == []  # no archive, no temporary, no manifest
    retry_at = datetime.fromisoformat(job["next_attempt_at"]).replace(tzinfo=UTC)

    # Space is back; at its retry time the job runs again and completes.
    time.sleep(max(0.0, (retry_at - datetime.now(UTC)).total_seconds()) + 0.1)  # a known instant, not an event
    assert _run_job(env, job_id) == "completed"
    job = row(tmp_path, job_id)
    assert job["status"] == "completed" and job["attempts"] == 2, job
    result = json.loads(job["result"])
    assert {p.name for p in _files(tmp_path / "backups")} == {
        Path(result["archive_path"]).name,
        Path(result["manifest_path"]).name,
    }
