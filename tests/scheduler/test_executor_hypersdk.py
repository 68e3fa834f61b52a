"""The hypersdk executor against a local daemon speaking HyperSDK's job endpoints (/jobs/*)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.executors import get_executor
from scheduler.executors.base import BackupError, BackupSpec, Cancelled, Progress, TransientBackupError
from scheduler.executors.hypersdk import HypersdkExecutor, build_definition
from tests.scheduler.hypersdk_server import GIB, FakeHypersdk

KEY = "hsdk-test-key-7f3a9c"


@pytest.fixture
def daemon() -> Iterator[FakeHypersdk]:
    with FakeHypersdk(api_key=KEY, steps=3) as fake:
        yield fake


def _spec(vm_path: str = "/dc1/vm/web-01", job_id: str = "job-42", **options: object) -> BackupSpec:
    return BackupSpec(
        job_id=job_id,
        source=vm_path,
        target_dir="/exports/web-01",
        name="web-01",
        format="ova",
        compress=True,
        options=dict(options),
    )


def _run(executor: HypersdkExecutor, spec: BackupSpec, cancel_after: int | None = None) -> tuple:
    reports: list[Progress] = []
    calls = {"n": 0}

    def should_cancel() -> bool:
        calls["n"] += 1
        return cancel_after is not None and calls["n"] > cancel_after

    result = executor.run(
        spec, report=reports.append, should_cancel=should_cancel, source_roots=[], target_root=Path("/")
    )
    return result, reports


def _executor(url: str, key: str = KEY) -> HypersdkExecutor:
    return HypersdkExecutor(url, key, poll_interval=0.0, http_timeout=5.0)


def test_it_submits_polls_and_returns_the_remote_result(daemon: FakeHypersdk) -> None:
    result, reports = _run(_executor(daemon.url), _spec())

    submit = daemon.requests[0]
    assert (submit["method"], submit["path"]) == ("POST", "/jobs/submit")
    assert submit["body"]["vm_path"] == "/dc1/vm/web-01"
    assert submit["body"]["id"] == "job-42"
    assert submit["body"]["output_dir"] == "/exports/web-01"
    assert submit["body"]["format"] == "ova"
    assert set(daemon.paths("GET")) == {"/jobs/job-42"}
    assert result.total_bytes == 10 * GIB
    assert result.duration_s == pytest.approx(90.5)
    assert result.files == ["web-01.ovf", "web-01-disk1.vmdk"]
    assert result.archive_path == "/exports/web-01/web-01.ovf"
    assert result.extra["remote_job_id"] == "job-42"
    percents = [p.percent for p in reports]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert any(p.phase == "exporting" and 0 < p.bytes_done < p.bytes_total for p in reports)
    assert reports[-1].phase == "completed"


def test_it_sends_the_api_key_header_on_every_request_and_never_logs_it(
    daemon: FakeHypersdk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    executor = _executor(daemon.url)
    _run(executor, _spec())
    with pytest.raises(BackupError) as failed:
        _run(executor, _spec("/dc1/vm/fail-01", job_id="job-43"))

    assert daemon.requests and all(r["headers"].get("X-API-Key") == KEY for r in daemon.requests)
    assert caplog.records, "the executor should log what it does"
    assert KEY not in caplog.text
    assert KEY not in str(failed.value) and KEY not in repr(executor)


def test_it_reports_a_wrong_key_as_a_permanent_error_without_the_key(daemon: FakeHypersdk) -> None:
    with pytest.raises(BackupError) as exc:
        _run(_executor(daemon.url, key="wrong-key-123"), _spec())
    assert not isinstance(exc.value, TransientBackupError)
    assert "401" in str(exc.value) and "HYPERSDK_API_KEY" in str(exc.value)
    assert "wrong-key-123" not in str(exc.value)


def test_it_raises_the_remote_error_when_the_remote_job_fails(daemon: FakeHypersdk) -> None:
    with pytest.raises(BackupError) as exc:
        _run(_executor(daemon.url), _spec("/dc1/vm/fail-01"))
    assert not isinstance(exc.value, TransientBackupError)
    assert "datastore unreachable" in str(exc.value)


def test_it_treats_a_5xx_on_submit_as_transient(daemon: FakeHypersdk) -> None:
    daemon.fail_next = [503]
    with pytest.raises(TransientBackupError, match="503"):
        _run(_executor(daemon.url), _spec())
    assert daemon.jobs == {}


def test_it_rides_out_a_short_5xx_burst_while_polling(daemon: FakeHypersdk) -> None:
    executor = _executor(daemon.url)
    real_get = executor._get_job

    def get_then_fail_twice(remote_id: str) -> dict:
        if not daemon.fail_next and len(daemon.paths("GET")) == 1:
            daemon.fail_next = [502, 500]
        return real_get(remote_id)

    executor._get_job = get_then_fail_twice  # type: ignore[method-assign]
    result, _ = _run(executor, _spec())
    assert result.total_bytes == 10 * GIB


def test_it_gives_up_as_transient_after_too_many_5xx_while_polling(daemon: FakeHypersdk) -> None:
    executor = _executor(daemon.url)
    executor.poll_error_budget = 2
    real_submit = executor._submit

    def submit_then_break(spec: BackupSpec) -> str:
        remote_id = real_submit(spec)
        daemon.fail_next = [500] * 10
        return remote_id

    executor._submit = submit_then_break  # type: ignore[method-assign]
    with pytest.raises(TransientBackupError, match="500"):
        _run(executor, _spec())


def test_it_treats_connection_refused_as_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientBackupError, match="unreachable"):
        _run(_executor(f"http://127.0.0.1:{port}"), _spec())


def test_it_forwards_cancel_to_the_daemon(daemon: FakeHypersdk) -> None:
    with pytest.raises(Cancelled, match="cancelled on the HyperSDK daemon"):
        _run(_executor(daemon.url), _spec("/dc1/vm/hang-01"), cancel_after=3)
    cancel = [r for r in daemon.requests if r["path"] == "/jobs/cancel"]
    assert len(cancel) == 1 and cancel[0]["body"] == {"job_ids": ["job-42"]}
    assert daemon.jobs["job-42"]["status"] == "cancelled"


def test_it_follows_an_already_submitted_job_instead_of_exporting_twice(daemon: FakeHypersdk) -> None:
    executor = _executor(daemon.url)
    executor._request("POST", "/jobs/submit", build_definition(_spec()))  # an earlier, crashed attempt

    result, _ = _run(executor, _spec())
    assert list(daemon.jobs) == ["job-42"]
    assert result.extra["remote_job_id"] == "job-42"


def test_it_resubmits_when_the_earlier_attempt_failed_remotely(daemon: FakeHypersdk) -> None:
    daemon.jobs["job-42"] = {
        "definition": {"vm_path": "/dc1/vm/web-01", "id": "job-42"},
        "status": "failed",
        "polls": 0,
    }
    daemon.jobs["job-42"]["error"] = "earlier failure"

    result, _ = _run(_executor(daemon.url), _spec())
    assert len(daemon.jobs) == 2
    assert result.extra["remote_job_id"] != "job-42"


def test_it_reports_a_remotely_cancelled_job_as_an_error(daemon: FakeHypersdk) -> None:
    executor = _executor(daemon.url)
    real_submit = executor._submit

    def submit_then_cancel_remotely(spec: BackupSpec) -> str:
        remote_id = real_submit(spec)
        daemon.jobs[remote_id]["status"] = "cancelled"
        return remote_id

    executor._submit = submit_then_cancel_remotely  # type: ignore[method-assign]
    with pytest.raises(BackupError, match="cancelled on the daemon"):
        _run(executor, _spec())


def test_it_does_not_forward_carbon_metadata_and_passes_definition_keys_through() -> None:
    spec = _spec(
        metadata={"carbon_aware": True, "carbon_zone": "DE", "team": "ops"},
        datacenter="dc1",
        export_method="govc",
        options={"parallel": 4},
        retries=2,
    )
    definition = build_definition(spec)
    assert definition["metadata"] == {"team": "ops", "hyperweb_job_id": "job-42"}
    assert definition["datacenter"] == "dc1" and definition["export_method"] == "govc"
    assert definition["options"] == {"parallel": 4, "retries": 2}
    stored = {"vm_path": "/ignored", "name": "ignored", "id": "x", "compress": False, "thin": True}
    whole = build_definition(BackupSpec("job-42", "/dc1/vm/web-01", None, "web-01", options=stored))
    assert whole["vm_path"] == "/dc1/vm/web-01" and whole["id"] == "job-42" and whole["thin"] is True
    assert "options" not in whole, "keys the spec carries are not repeated in options"
    assert build_definition(BackupSpec("j", "/vm", None, "n", format=None))["metadata"] == {
        "hyperweb_job_id": "j"
    }
    assert "format" not in build_definition(BackupSpec("j", "/vm", None, "n", format="tar.gz"))


def test_it_is_built_from_settings_by_name(settings) -> None:
    settings.HYPERSDK_URL = "http://hypersdk.example:8080/"
    settings.HYPERSDK_API_KEY = KEY
    executor = get_executor("hypersdk")
    assert isinstance(executor, HypersdkExecutor)
    assert executor.url == "http://hypersdk.example:8080"
    assert KEY not in repr(executor)
    assert executor.available
    with pytest.raises(KeyError, match="choose one of: file, hypersdk"):
        get_executor("tape")


def test_it_is_unavailable_and_fails_permanently_without_a_url(settings) -> None:
    settings.HYPERSDK_URL = ""
    executor = get_executor("hypersdk")
    assert not executor.available
    with pytest.raises(BackupError, match="HYPERSDK_URL") as exc:
        _run(executor, _spec())
    assert not isinstance(exc.value, TransientBackupError)
