"""/backups with many recurring backups, and while they are being deleted (issue 11, item 6)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carbon.models import Zone
from scheduler.models import BackupPolicy
from tests.dashboard.conftest import make_job


def _policies(count: int, start: int = 0) -> list[BackupPolicy]:
    de = Zone.objects.get(code="DE")
    made = []
    for i in range(start, start + count):
        policy = BackupPolicy.objects.create(
            name=f"policy-{i:03d}", schedule="0 22 * * *", zone=de, job_template={"vm_path": f"/vms/{i}"}
        )
        make_job(de, name=f"job-{i:03d}", policy=policy)
        made.append(policy)
    return made


def test_it_keeps_the_query_count_flat_as_policies_grow(viewer: Client) -> None:
    _policies(3)
    viewer.get("/backups")
    with CaptureQueriesContext(connection) as few:
        assert viewer.get("/backups").status_code == 200
    _policies(60, start=3)
    with CaptureQueriesContext(connection) as many:
        body = viewer.get("/backups").content.decode()
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    assert "policy-062" in body  # every policy is offered in the filter


def test_it_lists_backups_when_a_policy_is_deleted_while_the_page_renders(viewer: Client) -> None:
    """Deterministically the race seen in production: the filter's policies are read, then (before
    the page has finished) another request deletes them."""
    _policies(5)
    state = {"listed": False, "deleted": False}

    def delete_after_the_policy_choices(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if state["listed"] and not state["deleted"]:
            state["deleted"] = True
            BackupPolicy.objects.all().delete()
        result = execute(sql, params, many, context)
        if 'FROM "scheduler_backuppolicy"' in sql and sql.lstrip().upper().startswith("SELECT"):
            state["listed"] = True
        return result

    viewer.get("/backups")  # session, roles: warm
    with connection.execute_wrapper(delete_after_the_policy_choices):
        response = viewer.get("/backups")
    assert response.status_code == 200
    assert "policy-004" in response.content.decode()
@pytest.mark.django_db(transaction=True)
def test_it_answers_every_get_while_another_thread_creates_and_deletes_policies(
    viewer_user: Any,
) -> None:
    """Two threads, real connections: one churns policies, the other lists backups."""
    _policies(3)
    viewer = Client()
    viewer.force_login(viewer_user)
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        from django.db import connection as thread_connection

        de = Zone.objects.get(code="DE")
        try:
            i = 0
            while not stop.is_set():
                policy = BackupPolicy.objects.create(name=f"churn-{i}", schedule="0 1 * * *", zone=de)
                make_job(de, name=f"churn-job-{i}", policy=policy, now=datetime.now(UTC) - timedelta(days=1))
                BackupPolicy.objects.filter(pk=policy.pk).delete()
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            thread_connection.close()

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        statuses = [viewer.get("/backups").status_code for _ in range(30)]
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not errors, errors
    assert statuses == [200] * 30
