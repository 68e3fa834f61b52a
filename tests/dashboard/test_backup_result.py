"""A backup's result is shown as labelled fields with units, not as a Python dict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import Client

from scheduler.models import BackupJob
from tests.dashboard.conftest import make_job

RESULT = {
    "vm_name": "nightly web-01",
    "output_dir": "/var/backups",
    "ovf_path": "",
    "total_size": 1716190,
    "duration": 76623454,  # nanoseconds, as HyperSDK clients read it (scheduler/services/execution.py)
    "success": True,
    "files": ["web-01.qcow2"],
    "output_files": ["/var/backups/web-01.tar.gz", "/var/backups/web-01.manifest.json"],
    "export_method": "file",
    "archive_path": "/var/backups/web-01.tar.gz",
    "manifest_path": "/var/backups/web-01.manifest.json",
    "sha256": "c714fb8c9f26ff348dc1ceadaedfc78856e6289f2a1d4bd6991c5f3088f534af",
    "source_bytes": 4194304,
    "unknown_key": "kept as given",
}


def test_the_result_is_labelled_fields_with_units(admin: Client) -> None:
    now = datetime.now(UTC)
    job = make_job(
        status=BackupJob.Status.COMPLETED, started_at=now - timedelta(minutes=1), completed_at=now, result=RESULT
    )
    html = admin.get(f"/backups/{job.pk}").content.decode()
    assert "{&#x27;" not in html and "&#x27;duration&#x27;: " not in html  # no Python dict
    assert '<dt>Duration</dt><dd>76.6 ms</dd>' in html
    assert '<dt>Succeeded</dt><dd>yes</dd>' in html
    assert '<dt>Data read</dt><dd>4.19 MB</dd>' in html
    assert '<dt>Written</dt><dd>1.72 MB</dd>' in html
    assert "<dt>SHA-256</dt>" in html and RESULT["sha256"] in html
    assert "<dt>Files</dt><dd>1: <code>web-01.qcow2</code></dd>" in html
    assert "<dt>unknown_key</dt><dd>kept as given</dd>" in html
    assert "OVF" not in html  # an empty value is left out


def test_durations_read_in_the_unit_that_suits_them() -> None:
    from scheduler.views import result_fields

    def duration(ns: int) -> str:
        return dict(result_fields({"duration": ns}))["Duration"]

    assert duration(76623454) == "76.6 ms"
    assert duration(12_340_000_000) == "12.3 s"
    assert duration(3_725_000_000_000) == "1 h 2 min 5 s"
    assert duration(500) == "0.0005 ms"
