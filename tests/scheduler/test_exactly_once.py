"""Each job runs exactly once however many workers race for it.

On SQLite: three processes race for every job (the embedded mode's immediate transactions and
busy timeout). On PostgreSQL + Redis (scaleout): two real `manage.py qcluster` processes sharing
one queue, every job enqueued three times over.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from scheduler.models import BackupJob, JobEvent
from tests.scheduler.factories import ROOT, manage, sqlite_site, start_cluster, stop_cluster
from tests.waiting import wait_for

RACE = """
import json, time
from scheduler.services.execution import execute_job
from scheduler.executors import BackupResult, Progress

class Counting:
    name = "counting"
    def run(self, spec, *, report, should_cancel, source_roots, target_root):
        with open(LOG, "a") as fh:  # one short O_APPEND write per run
            fh.write(spec.job_id + "\\n")
        report(Progress("archiving", 1, 1))
        time.sleep(0.01)  # the run holds its claim a moment: the racers overlap, which is the test
        return BackupResult("/t/x.tar.gz", "/t/x.manifest.json", 1, 1, ["x"], "", 0.01)

for job_id in json.load(open(IDS)):
    execute_job(job_id, executor=Counting())
"""


def test_it_runs_each_job_once_when_processes_race_on_sqlite(tmp_path) -> None:
    env = sqlite_site(tmp_path)
    runs_file = tmp_path / "runs.log"
    make = (
        "from scheduler.services import submit_jobs; import json; "
        "o = submit_jobs([{'vm_path': f'vm{i}.img'} for i in range(15)]); print(json.dumps(o.job_ids))"
    )
    ids = json.loads(manage(env, code=make).strip().splitlines()[-1])
    racers = []
    for n in range(3):
        order = ids[:]
        random.Random(n).shuffle(order)
        path = tmp_path / f"ids{n}.json"
        path.write_text(json.dumps(order))
        code = f"LOG={str(runs_file)!r}; IDS={str(path)!r}\n" + RACE
        racers.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "shell", "-c", code],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in racers:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-2000:]
    assert Counter(runs_file.read_text().split()) == Counter({job_id: 1 for job_id in ids})
    statuses = manage(
        env,
        code="from scheduler.models import BackupJob; print(sorted(set(BackupJob.objects.values_list('status', flat=True))))",
    )
    assert statuses.strip().splitlines()[-1] == "['completed']"


def cluster_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a cluster using this test's PostgreSQL database and Redis."""
    env = dict(os.environ)
    db = settings.DATABASES["default"]
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        HYPERWEB_DATA_DIR=str(tmp_path / "data"),
        BACKUP_SOURCE_ROOTS=str(tmp_path / "vms"),
        BACKUP_TARGET_ROOT=str(tmp_path / "backups"),
        BACKUP_HEARTBEAT_SECONDS="0.2",
        Q_WORKERS="2",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.mark.scaleout
@pytest.mark.django_db(transaction=True)
def test_it_runs_each_job_once_with_two_clusters_on_postgresql_and_redis(tmp_path) -> None:
    from django_q.brokers import get_broker

    from scheduler.dispatch import enqueue_jobs
    from scheduler.services import submit_jobs

    (tmp_path / "vms").mkdir()
    n = 12
    for i in range(n):
        (tmp_path / "vms" / f"vm{i}.img").write_bytes(os.urandom(20_000))
    get_broker().purge_queue()  # leftovers of other tests' enqueues
    env = cluster_env(tmp_path)
    logs = [tmp_path / "cluster-a.log", tmp_path / "cluster-b.log"]
    clusters = [start_cluster(env, log) for log in logs]
    try:
        outcome = submit_jobs([{"vm_path": f"vm{i}.img", "name": f"vm{i}"} for i in range(n)])
        assert outcome.accepted == n
        # Every job enqueued twice more: three messages per job for four workers in two clusters.
        enqueue_jobs(outcome.job_ids)
        enqueue_jobs(outcome.job_ids)
        wait_for(
            lambda: BackupJob.objects.filter(pk__in=outcome.job_ids, status="completed").count() == n,
            40,
            0.3,
        )
        # Not an event: how many of the 3n messages reach a worker varies (2 to 4 per job seen), so
        # no count can be awaited; a moment for any in-flight duplicate to be refused.
        time.sleep(1.0)
    finally:
        stop_cluster(*clusters)
    statuses = Counter(BackupJob.objects.filter(pk__in=outcome.job_ids).values_list("status", flat=True))
    assert statuses == {"completed": n}, (statuses, [log.read_text()[-3000:] for log in logs])
    starts = Counter(
        JobEvent.objects.filter(job_id__in=outcome.job_ids, message__startswith="started by").values_list(
            "job_id", flat=True
        )
    )
    assert starts == Counter({job_id: 1 for job_id in outcome.job_ids})
    assert len(list((tmp_path / "backups").glob("*.tar.gz"))) == n
    workers = set(
        BackupJob.objects.filter(pk__in=outcome.job_ids).values_list("result__output_dir", flat=True)
    )
    assert workers  # results recorded
