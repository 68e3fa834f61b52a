"""Pruning real archives by retention: the dry run, the deletion, and what is never deleted."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from scheduler.models import BackupJob
from scheduler.services.execution import execute_job
from scheduler.services.jobs import submit_jobs
from scheduler.services.lifecycle import LifecycleRefused, request_restore, request_verification
from scheduler.services.retention import preview, prune
from tests.scheduler.factories import BackupPolicyFactory
from tests.scheduler.lifecycle import make_backup

pytestmark = pytest.mark.django_db


def archive_files(backup: BackupJob) -> list[Path]:
    return [Path(backup.result["archive_path"]), Path(backup.result["manifest_path"])]


def four_backups(roots) -> list[BackupJob]:
    """Four backups of one VM, oldest first."""
    return [make_backup(roots, "web01") for _ in range(4)]


def test_it_keeps_everything_without_a_rule(roots) -> None:
    backups = four_backups(roots)
    outcome = prune()
    assert outcome.deleted == []
    assert all(p.exists() for b in backups for p in archive_files(b))


def test_it_deletes_archive_and_manifest_together_and_logs_it(roots, settings) -> None:
    settings.BACKUP_KEEP_LAST = 2
    backups = four_backups(roots)
    outcome = prune()
    assert sorted(outcome.deleted) == sorted(b.pk for b in backups[:2])
    for backup in backups[:2]:
        assert not any(p.exists() for p in archive_files(backup))
        backup.refresh_from_db()
        assert backup.pruned_at is not None
        event = backup.events.get(message__startswith="pruned by retention")
        assert "keep last 2" in event.message and backup.result["archive_path"] in event.message
    assert all(p.exists() for b in backups[2:] for p in archive_files(b))
    assert prune().deleted == [], "pruning again deletes nothing"
    with pytest.raises(LifecycleRefused, match="deleted by retention"):
        request_restore(BackupJob.objects.get(pk=backups[0].pk))


def test_it_never_deletes_the_only_verified_copy_nor_a_backup_being_restored(roots, settings) -> None:
    settings.BACKUP_KEEP_LAST = 1
    backups = four_backups(roots)
    verification, _ = request_verification(backups[0])
    execute_job(verification.pk)
    request_restore(BackupJob.objects.get(pk=backups[1].pk), target="busy")  # waiting: not run
    groups = preview()
    reasons = {row.backup.pk: row.reasons for row in groups[0].rows}
    assert reasons[backups[0].pk] == ["only verified copy"]
    assert reasons[backups[1].pk] == ["being restored or verified"]
    assert reasons[backups[3].pk] == ["last"]
    assert prune().deleted == [backups[2].pk]
    assert all(p.exists() for p in archive_files(backups[0]) + archive_files(backups[1]))


def test_it_uses_the_policys_own_counts_before_the_default(roots, settings) -> None:
    settings.BACKUP_KEEP_LAST = 10
    policy = BackupPolicyFactory(keep_last=1)
    backups = four_backups(roots)
    BackupJob.objects.filter(pk__in=[b.pk for b in backups]).update(policy=policy)
    (group,) = preview(policy)
    assert group.rule_source == "policy" and group.rule.describe() == "keep last 1"
    assert [r.backup.pk for r in group.deleted] == [b.pk for b in reversed(backups[:3])]


def test_it_prints_the_same_keep_and_delete_in_a_dry_run_and_deletes_nothing(roots, settings) -> None:
    settings.BACKUP_KEEP_LAST = 3
    backups = four_backups(roots)
    out = StringIO()
    call_command("backup", "prune", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "one-off backups of web01: keep last 3 (default)" in text
    assert "delete" in text and backups[0].pk in text
    assert "dry run: 1 archive(s) would be deleted; nothing was deleted" in text
    assert all(p.exists() for b in backups for p in archive_files(b))
    data = StringIO()
    call_command("backup", "prune", "--dry-run", "--json", stdout=data)
    group = json.loads(data.getvalue())["groups"][0]
    assert [d["id"] for d in group["delete"]] == [backups[0].pk]
    assert [k["id"] for k in group["keep"]] == [b.pk for b in reversed(backups[1:])]
    done = StringIO()
    call_command("backup", "prune", stdout=done)
    assert "1 archive(s) deleted" in done.getvalue()
    assert not any(p.exists() for p in archive_files(backups[0]))


def test_it_prunes_in_the_workers_periodic_task(roots, settings) -> None:
    from scheduler.tasks import lifecycle_tick

    settings.BACKUP_KEEP_LAST = 1
    four_backups(roots)
    assert lifecycle_tick()["pruned"] == 3


def test_it_previews_keep_and_delete_on_the_policy_page_and_saves_the_rule(
    roots, settings, operator_user, viewer_user
) -> None:
    from django.test import Client

    settings.BACKUP_KEEP_LAST = None
    policy = BackupPolicyFactory()
    backups = four_backups(roots)
    BackupJob.objects.filter(pk__in=[b.pk for b in backups]).update(policy=policy)
    viewer = Client()
    viewer.force_login(viewer_user)
    page = viewer.get(f"/policies/{policy.pk}").content.decode()
    assert "keep everything (no rule)" in page and 'id="retention-preview"' in page
    assert page.count('data-verdict="keep"') == 4
    what_if = viewer.post(
        f"/policies/{policy.pk}/retention", {"keep_last": "1", "preview": "1"}
    ).content.decode()
    assert "what if: not saved" in what_if and what_if.count('data-verdict="delete"') == 3
    assert viewer.post(f"/policies/{policy.pk}/retention", {"keep_last": "1"}).status_code == 403
    bad = viewer.post(
        f"/policies/{policy.pk}/retention", {"keep_last": "-1", "preview": "1"}
    ).content.decode()
    assert "greater than or equal to 0" in bad
    operator = Client()
    operator.force_login(operator_user)
    saved = operator.post(f"/policies/{policy.pk}/retention", {"keep_last": "2", "keep_daily": ""})
    assert saved.status_code == 302
    policy.refresh_from_db()
    assert (policy.keep_last, policy.keep_daily) == (2, None)
    page = operator.get(f"/policies/{policy.pk}").content.decode()
    assert "keep last 2" in page and "this policy's own counts" in page
    assert page.count('data-verdict="delete"') == 2
    assert all(p.exists() for b in backups for p in archive_files(b)), "a preview deletes nothing"


def test_it_sets_and_shows_a_schedules_retention_through_the_api(operator_api, viewer_api) -> None:
    policy = BackupPolicyFactory()
    shown = viewer_api.get(f"/schedules/{policy.pk}").json()["retention"]
    assert shown["keep_last"] is None and shown["source"] == "default"
    answer = operator_api.put(
        f"/schedules/{policy.pk}", {"retention": {"keep_last": 7, "keep_monthly": 12}}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["retention"]["rule"] == "keep last 7, monthly 12"
    assert answer.json()["retention"]["source"] == "policy"
    for bad in ({"keep_last": -1}, {"keep_daily": "7"}, {"keep_yearly": 1}, [1]):
        refused = operator_api.put(f"/schedules/{policy.pk}", {"retention": bad}, format="json")
        assert refused.status_code == 400 and "retention" in refused.json()["error"], refused.json()
    policy.refresh_from_db()
    assert (policy.keep_last, policy.keep_monthly) == (7, 12)


def test_it_never_touches_a_hypersdk_backup_whose_files_live_on_the_daemon(roots, settings) -> None:
    settings.BACKUP_KEEP_LAST = 0
    local = make_backup(roots)
    remote_file = roots["backups"] / "looks-local.ova"
    remote_file.write_bytes(b"not ours to delete")
    BackupJob.objects.filter(pk=local.pk).update(
        executor="hypersdk",
        result={"archive_path": str(remote_file), "manifest_path": "", "output_files": [str(remote_file)]},
    )
    assert preview() == [] and prune().deleted == []
    assert remote_file.exists()


def test_it_groups_one_vm_written_two_ways_as_one(roots, settings) -> None:
    """`web01` and its absolute path inside the source root are the same VM: one group, one rule."""
    settings.BACKUP_KEEP_LAST = 1
    short = make_backup(roots, "web01")
    BackupJob.objects.filter(pk=short.pk).update(completed_at=short.completed_at.replace(year=2025))
    longer = submit_jobs([{"vm_path": str(roots["vms"] / "web01"), "name": "web01 again"}])
    assert execute_job(longer.job_ids[0]) == "completed"
    (group,) = preview()
    assert group.label == "one-off backups of web01"
    assert [row.backup.pk for row in group.deleted] == [short.pk]
