"""The backup page's restore (two steps, no script) and verify actions, and who may use them."""

from __future__ import annotations

import pytest
from django.test import Client

from scheduler.models import BackupJob
from scheduler.services.execution import execute_job
from tests.scheduler.lifecycle import files_under, make_backup

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_restores_from_the_backup_page_after_a_confirmation(roots, operator_user) -> None:
    backup = make_backup(roots)
    page = logged_in(operator_user)
    detail = page.get(f"/backups/{backup.pk}").content.decode()
    assert 'id="restore-link"' in detail and "Not verified yet" in detail
    form = page.get(f"/backups/{backup.pk}/restore").content.decode()
    assert 'id="review-restore"' in form
    review = page.post(f"/backups/{backup.pk}/restore", {"target": "page"})
    assert review.status_code == 200 and 'id="confirm-restore"' in review.content.decode()
    assert not BackupJob.objects.filter(operation="restore").exists(), (
        "nothing starts before the confirmation"
    )
    done = page.post(f"/backups/{backup.pk}/restore", {"target": "page", "confirm": "yes"})
    run = BackupJob.objects.get(operation="restore")
    assert done.status_code == 302 and done["Location"] == f"/backups/{run.pk}"
    assert execute_job(run.pk) == "completed"
    assert files_under(roots["restores"] / "page") == files_under(roots["vms"])
    shown = page.get(f"/backups/{backup.pk}").content.decode()
    assert 'id="lifecycle-runs"' in shown and "badge verified" in shown


def test_it_overwrites_only_when_ticked_and_confirmed_with_the_files_named(roots, operator_user) -> None:
    backup = make_backup(roots)
    (roots["restores"] / "mine" / "web01").mkdir(parents=True)
    (roots["restores"] / "mine" / "web01" / "vm.xml").write_text("mine")
    page = logged_in(operator_user)
    refused = page.post(
        f"/backups/{backup.pk}/restore", {"target": "mine", "confirm": "yes"}
    ).content.decode()
    assert "already exist" in refused and 'id="confirm-restore"' not in refused
    review = page.post(
        f"/backups/{backup.pk}/restore", {"target": "mine", "overwrite": "on"}
    ).content.decode()
    assert 'id="restore-overwrites"' in review and "web01/vm.xml" in review
    assert (roots["restores"] / "mine" / "web01" / "vm.xml").read_text() == "mine"
    page.post(f"/backups/{backup.pk}/restore", {"target": "mine", "overwrite": "on", "confirm": "yes"})
    assert BackupJob.objects.get(operation="restore").definition["overwrite"] is True


def test_it_shows_a_form_error_for_a_folder_outside_the_restore_root(roots, operator_user) -> None:
    backup = make_backup(roots)
    answer = logged_in(operator_user).post(
        f"/backups/{backup.pk}/restore", {"target": "../x", "confirm": "yes"}
    )
    assert answer.status_code == 200
    assert "restores go inside BACKUP_RESTORE_ROOT" in answer.content.decode()
    assert not BackupJob.objects.filter(operation="restore").exists()


def test_it_lets_viewers_look_but_not_restore_or_verify(roots, viewer_user, client) -> None:
    backup = make_backup(roots)
    viewer = logged_in(viewer_user)
    detail = viewer.get(f"/backups/{backup.pk}").content.decode()
    assert 'id="restore-link"' not in detail and 'id="verify-button"' not in detail
    assert viewer.get(f"/backups/{backup.pk}/restore").status_code == 403
    assert viewer.post(f"/backups/{backup.pk}/restore", {"target": "v", "confirm": "yes"}).status_code == 403
    assert viewer.post(f"/backups/{backup.pk}/verify").status_code == 403
    anonymous = client.post(f"/backups/{backup.pk}/verify")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert not BackupJob.objects.exclude(operation="backup").exists()


def test_it_says_at_once_that_a_pruned_backup_cannot_be_restored(roots, operator_user) -> None:
    from django.utils import timezone

    backup = make_backup(roots)
    BackupJob.objects.filter(pk=backup.pk).update(pruned_at=timezone.now())
    page = logged_in(operator_user).get(f"/backups/{backup.pk}/restore").content.decode()
    assert 'id="restore-refused"' in page and "deleted by retention" in page
    assert 'id="restore-form"' not in page, "no form to fill in for a restore that is refused anyway"


def test_it_states_the_restore_size_in_decimal_units_like_the_backup_page(roots, operator_user) -> None:
    from hyperweb.lib.units import data_bytes

    backup = make_backup(roots)
    review = logged_in(operator_user).post(f"/backups/{backup.pk}/restore", {"target": "size"})
    total = sum(len(b) for b in files_under(roots["vms"]).values())
    assert f"({data_bytes(total)})" in review.content.decode().replace("\xa0", " ")  # quantities keep their unit on the line
