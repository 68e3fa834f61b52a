"""End to end with lifecycle's verification: one byte of a real archive changes, the verification
run finds it, the backup is marked damaged, and the alert reaches a real SMTP server and a real
HTTP receiver that checks the signature."""

from __future__ import annotations

import pytest

from alerts.models import Alert, Delivery
from scheduler.services.execution import execute_job
from scheduler.services.lifecycle import request_verification
from tests.scheduler.lifecycle import enqueued, make_backup, roots  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def flip_one_byte(path: str) -> None:
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(path, "wb").write(bytes(data))


def test_a_corrupted_archive_is_found_damaged_and_alerts_by_email_and_webhook(
    roots,  # noqa: F811
    workers_inline,
    smtp_server,
    receiver,
    webhook,
    subscriber,
) -> None:
    backup = make_backup(roots, "web01")
    assert not Alert.objects.exists()
    flip_one_byte(backup.result["archive_path"])

    run, _ = request_verification(backup)
    assert execute_job(run.pk) == "completed"

    backup.refresh_from_db()
    assert backup.integrity == "damaged"
    alert = Alert.objects.get()
    assert alert.kind == "backup_damaged" and alert.job_id == backup.pk

    recipients, _, message = smtp_server.wait()
    assert recipients == ["olga@example.test"]
    assert message["Subject"] == "[hyperweb] Backup damaged (verification failed): web01"
    assert "archive sha256" in message.get_payload()

    got = receiver.wait()
    assert got.signature_ok
    body = got.json()
    assert body["event"] == "backup_damaged"
    assert body["data"]["job_id"] == backup.pk and body["data"]["integrity"] == "damaged"
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
