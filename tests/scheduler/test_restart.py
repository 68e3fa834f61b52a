"""Real clusters on the embedded site (SQLite + ORM broker): restarts and a worker killed mid-backup.

The job rows are read straight from the SQLite file, so polling costs no Django start-up.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.executors.file import verify
from tests.scheduler.factories import manage, sqlite_site, start_cluster, stop_cluster
from tests.waiting import wait_for


def row(tmp_path: Path, job_id: str) -> dict:
    with sqlite3.connect(tmp_path / "data" / "hyperweb.sqlite3", timeout=10) as db:
        db.row_factory = sqlite3.Row
        found = db.execute("SELECT * FROM scheduler_backupjob WHERE id = ?", (job_id,)).fetchone()
        events = db.execute(
            "SELECT message FROM scheduler_jobevent WHERE job_id = ? ORDER BY id", (job_id,)
        ).fetchall()
    data = dict(found)
    data["events"] = [e[0] for e in events]
    return data


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def final_archives(tmp_path: Path) -> list[Path]:
    target = tmp_path / "backups"
    return [p for p in target.rglob("*.tar.gz") if not p.name.startswith(".")] if target.exists() else []


def submit(env: dict[str, str], *args: str) -> str:
    return manage(env, "backup", "submit", *args).split()[0]


def test_it_keeps_a_delayed_job_across_a_cluster_restart_and_runs_it_at_its_planned_time(tmp_path) -> None:
    env = sqlite_site(tmp_path)
    (tmp_path / "vms" / "web.img").write_bytes(os.urandom(100_000))
    # Far enough ahead that submitting, starting a cluster (Django start-up on a loaded machine can
    # take several seconds) and stopping it (prompt: scheduler's qcluster) all fit before it.
    planned = datetime.now(UTC) + timedelta(seconds=25)
    job_id = submit(env, "web.img", "--not-before", planned.isoformat())
    assert row(tmp_path, job_id)["status"] == "scheduled"

    first = start_cluster(env, tmp_path / "first.log")
    try:
        started = wait_for(lambda: "running" in (tmp_path / "first.log").read_text(), 20)
    finally:
        stop_cluster(first)  # never leave a cluster behind, even when the wait fails
    assert started, (tmp_path / "first.log").read_text()[-3000:]
    assert row(tmp_path, job_id)["status"] == "scheduled"  # stopping lost nothing, ran nothing
    assert datetime.now(UTC) < planned, "the cluster took too long to stop for this test"

    second = start_cluster(env, tmp_path / "second.log")
    try:
        ready = wait_for(lambda: "running" in (tmp_path / "second.log").read_text(), 20)
        ready_at = datetime.now(UTC)
        done = wait_for(lambda: row(tmp_path, job_id)["status"] in ("completed", "failed"), 45)
    finally:
        stop_cluster(second)
    job = row(tmp_path, job_id)
    assert ready and done and job["status"] == "completed", (
        job,
        (tmp_path / "second.log").read_text()[-3000:],
    )
    # On time: within 3 s of its planned start, or of the moment the workers were up when a very
    # loaded machine started them after it (nothing can start a backup before its workers run).
    started_at = ts(job["started_at"])
    assert started_at >= ts(job["planned_start"])
    assert started_at - max(ts(job["planned_start"]), ready_at) < timedelta(seconds=3)
    assert sum(m.startswith("started by") for m in job["events"]) == 1
    result = json.loads(job["result"])
    assert verify(result["archive_path"], result["manifest_path"])


def test_it_retries_a_backup_whose_worker_was_killed_and_leaves_no_half_archive(tmp_path) -> None:
    env = sqlite_site(tmp_path, BACKUP_STALE_SECONDS="3")
    (tmp_path / "vms" / "big.img").write_bytes(os.urandom(60_000_000))  # a few seconds of gzip
    job_id = submit(env, "big.img")
    cluster = start_cluster(env, tmp_path / "cluster.log")
    try:
        running = wait_for(
            lambda: (j := row(tmp_path, job_id))["status"] == "running"
            and json.loads(j["progress"] or "{}").get("bytes_transferred", 0) > 0
            and j,
            30,
            interval=0.05,
        )
        assert running, (row(tmp_path, job_id), (tmp_path / "cluster.log").read_text()[-3000:])
        pid = int(running["claimed_by"].rsplit(":", 1)[1])
        os.kill(pid, signal.SIGKILL)
        assert final_archives(tmp_path) == []  # only a dot-named temporary, never a half archive
        done = wait_for(lambda: row(tmp_path, job_id)["status"] in ("completed", "failed"), 40)
    finally:
        stop_cluster(cluster)
    job = row(tmp_path, job_id)
    assert done, (job, (tmp_path / "cluster.log").read_text()[-3000:])
    assert any("worker lost" in m for m in job["events"])
    if job["status"] == "completed":
        assert job["attempts"] == 2
        result = json.loads(job["result"])
        assert verify(result["archive_path"], result["manifest_path"])
        assert final_archives(tmp_path) == [Path(result["archive_path"])]
    else:
        assert "worker lost" in job["error"]
        assert final_archives(tmp_path) == []


def _alive(pids: list[int]) -> list[int]:
    from hyperweb.processes import gone as _gone

    return [pid for pid in pids if not _gone(pid)]


def test_it_stops_a_busy_cluster_promptly_and_retries_the_backup_it_cut_short(tmp_path) -> None:
    from hyperweb.processes import descendants

    env = sqlite_site(tmp_path, Q_STOP_GRACE_SECONDS="1", BACKUP_STALE_SECONDS="600")
    (tmp_path / "vms" / "big.img").write_bytes(os.urandom(150_000_000))  # far more than the grace
    job_id = submit(env, "big.img")
    cluster = start_cluster(env, tmp_path / "cluster.log")
    try:
        running = wait_for(
            lambda: (j := row(tmp_path, job_id))["status"] == "running"
            and json.loads(j["progress"] or "{}").get("bytes_transferred", 0) > 0
            and j,
            30,
            interval=0.05,
        )
        assert running, (row(tmp_path, job_id), (tmp_path / "cluster.log").read_text()[-3000:])
        processes = descendants(cluster.pid)
        assert len(processes) >= 3  # sentinel, workers, pusher, monitor
        asked = time.monotonic()
        os.kill(cluster.pid, signal.SIGTERM)
        cluster.wait(10)
        took = time.monotonic() - asked
    finally:
        stop_cluster(cluster)
    assert took < 6, f"the cluster took {took:.1f} s to stop"
    assert _alive(processes) == []
    job = row(tmp_path, job_id)
    # Handled as a lost worker, at once (no BACKUP_STALE_SECONDS wait): retried later, not failed.
    assert job["status"] == "pending" and job["attempts"] == 1, job
    assert any("worker lost" in m and "retried" in m for m in job["events"]), job["events"]
    assert final_archives(tmp_path) == []
    second = start_cluster(env, tmp_path / "second.log")
    try:
        done = wait_for(lambda: row(tmp_path, job_id)["status"] in ("completed", "failed"), 60)
    finally:
        stop_cluster(second)
    job = row(tmp_path, job_id)
    assert done and job["status"] == "completed" and job["attempts"] == 2, job
    assert len(final_archives(tmp_path)) == 1
