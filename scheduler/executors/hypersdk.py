"""The `hypersdk` executor: hand the backup to an existing HyperSDK daemon and follow it.

For sites that keep their export engine (vCenter exports through govc/ovftool): hyperweb still
plans the start, then submits the JobDefinition to the daemon (`POST /jobs/submit`), polls
`GET /jobs/{id}` and maps its progress, and forwards a cancel (`POST /jobs/cancel`). The wire
format is the one hyperweb serves itself (docs/API.md).

- The remote job id is our job id, so a worker that dies after submitting and is retried finds
  its job already there ("duplicate") and follows it instead of starting a second export.
- The job was planned here: the carbon_* metadata keys are not forwarded, otherwise a carbon-aware
  daemon would delay it a second time.
- Connection errors, timeouts, 429 and 5xx are TransientBackupError (a few in a row are tolerated
  while polling); a rejected key, a rejected definition or a failed remote job are BackupError.
- The API key travels only in the X-API-Key header: it is never logged nor put in a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from scheduler.executors.base import (
    BackupError,
    BackupResult,
    BackupSpec,
    CancelFn,
    Cancelled,
    Progress,
    ReportFn,
    TransientBackupError,
)
from scheduler.vocabulary import BACKUP_FORMATS

log = logging.getLogger(__name__)

# JobDefinition keys that the scheduler may pass through BackupSpec.options to the top level;
# everything else in options goes into the definition's own `options` object.
TOP_LEVEL_KEYS = (
    "output_path",
    "vcenter_url",
    "vcenter",
    "username",
    "datacenter",
    "export_method",
    "method",
    "thin",
    "insecure",
    "metadata",
)
# Keys the spec itself carries: the scheduler may pass the whole stored definition as options.
SPEC_KEYS = ("vm_path", "name", "id", "output_dir", "format", "compress", "created_at")


class RemoteNotFound(BackupError):
    """The daemon does not know the job (the original HyperSDK forgets its jobs on restart)."""


def build_definition(spec: BackupSpec, *, with_id: bool = True) -> dict[str, Any]:
    """The JobDefinition sent to the daemon for `spec`."""
    extra = {k: v for k, v in spec.options.items() if k not in SPEC_KEYS}
    definition: dict[str, Any] = {"vm_path": spec.source, "name": spec.name, "compress": spec.compress}
    if with_id:
        definition["id"] = spec.job_id
    if spec.target_dir:
        definition["output_dir"] = spec.target_dir
    if spec.format in BACKUP_FORMATS:
        definition["format"] = spec.format
    for key in TOP_LEVEL_KEYS:
        if key in extra:
            definition[key] = extra.pop(key)
    nested = extra.pop("options", None)
    options = {**(nested if isinstance(nested, dict) else {}), **extra}
    if options:
        definition["options"] = options
    metadata = definition.get("metadata")
    metadata = {k: v for k, v in (metadata or {}).items() if not str(k).startswith("carbon_")}
    metadata["hyperweb_job_id"] = spec.job_id
    definition["metadata"] = metadata
    return definition


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _object(value: Any) -> dict[str, Any]:
    """A JSON object from the daemon, or {} for anything else (missing, null, another type)."""
    return value if isinstance(value, dict) else {}


def progress_from_job(job: dict[str, Any]) -> Progress:
    """Map a remote Job's status and progress object onto our Progress."""
    status = str(job.get("status") or "pending")
    remote = _object(job.get("progress"))
    percent = remote.get("percent_complete")
    phase = remote.get("phase") or status
    if status in ("completed", "failed", "cancelled"):
        phase = status
    elif status == "pending":
        phase = "queued on hypersdk"
    return Progress(
        phase=str(phase),
        bytes_done=_int(remote.get("bytes_downloaded") or remote.get("bytes_transferred")),
        bytes_total=_int(remote.get("total_bytes")),
        current_file=remote.get("current_file") or None,
        files_done=_int(remote.get("files_downloaded")),
        files_total=_int(remote.get("total_files")),
        percent_hint=100.0 if status == "completed" else (float(percent) if percent is not None else None),
    )


class HypersdkExecutor:
    name = "hypersdk"

    def __init__(
        self,
        url: str,
        api_key: str = "",
        *,
        poll_interval: float = 5.0,
        http_timeout: float = 30.0,
        poll_error_budget: int = 3,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = (url or "").rstrip("/")
        self._api_key = api_key
        self.poll_interval = poll_interval
        self.http_timeout = http_timeout
        self.poll_error_budget = poll_error_budget
        self._session = session or requests.Session()
        self._sleep = sleep

    @classmethod
    def from_settings(cls) -> HypersdkExecutor:
        return cls(
            settings.HYPERSDK_URL,
            settings.HYPERSDK_API_KEY,
            poll_interval=settings.HYPERSDK_POLL_SECONDS,
            http_timeout=settings.HYPERSDK_HTTP_TIMEOUT,
        )

    @property
    def available(self) -> bool:
        return bool(self.url)

    def __repr__(self) -> str:  # the key stays out of tracebacks and debug dumps
        return f"HypersdkExecutor(url={self.url!r}, api_key={'***' if self._api_key else '(none)'})"

    # --- HTTP -----------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["X-API-Key"] = self._api_key
        where = f"{method} {self.url}{path}"
        try:
            response = self._session.request(
                method, self.url + path, json=body, headers=headers, timeout=self.http_timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientBackupError(f"HyperSDK unreachable ({where}): {type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise BackupError(f"HyperSDK request failed ({where}): {type(exc).__name__}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        status = response.status_code
        if status < 400:
            if payload is None:
                raise BackupError(f"HyperSDK answered {where} with a non-JSON body: is HYPERSDK_URL right?")
            return payload
        message = payload.get("error") if isinstance(payload, dict) else None
        detail = f"HyperSDK {where} -> HTTP {status}" + (f": {message}" if message else "")
        if status == 429 or status >= 500:
            raise TransientBackupError(detail)
        if status in (401, 403):
            raise BackupError(f"{detail} (check HYPERSDK_API_KEY)")
        if status == 404:
            raise RemoteNotFound(detail)
        raise BackupError(detail)

    def _get_job(self, remote_id: str) -> dict[str, Any]:
        job = self._request("GET", f"/jobs/{quote(remote_id, safe='')}")
        if not isinstance(job, dict):
            raise BackupError(f"HyperSDK returned a malformed job for {remote_id}")
        return job

    # --- the job --------------------------------------------------------------------------------
    def _submit(self, spec: BackupSpec) -> str:
        answer = self._request("POST", "/jobs/submit", build_definition(spec))
        ids = answer.get("job_ids") if isinstance(answer, dict) else None
        if ids:
            return str(ids[0])
        errors = answer.get("errors") if isinstance(answer, dict) else None
        text = "; ".join(str(e) for e in errors or []) or "no reason given"
        if "duplicate" in text.lower() or "exist" in text.lower():
            # An earlier attempt of this job got as far as submitting: follow that export,
            # unless it already ended badly, in which case this attempt starts a fresh one.
            try:
                existing = self._get_job(spec.job_id)
            except RemoteNotFound:
                existing = {}
            if existing.get("status") in ("pending", "running", "completed"):
                log.info("hypersdk job %s already submitted; following it", spec.job_id)
                return spec.job_id
            answer = self._request("POST", "/jobs/submit", build_definition(spec, with_id=False))
            ids = answer.get("job_ids") if isinstance(answer, dict) else None
            if ids:
                return str(ids[0])
            text = "; ".join(str(e) for e in answer.get("errors") or []) or text
        raise BackupError(f"HyperSDK rejected the job: {text}")

    def _cancel(self, remote_id: str) -> str:
        """Ask the daemon to cancel; returns a note for the Cancelled message."""
        for attempt in range(3):
            try:
                answer = self._request("POST", "/jobs/cancel", {"job_ids": [remote_id]})
            except TransientBackupError as exc:
                if attempt == 2:
                    return f"the cancel could not be delivered ({exc}); the remote export may still run"
                self._sleep(min(1.0, self.poll_interval))
                continue
            if remote_id in (answer.get("cancelled") or []):
                return "cancelled on the HyperSDK daemon"
            error = (answer.get("errors") or {}).get(remote_id, "no reason given")
            return f"the HyperSDK daemon did not cancel it: {error}"
        return "cancel not delivered"  # pragma: no cover - the loop always returns

    def run(
        self,
        spec: BackupSpec,
        *,
        report: ReportFn,
        should_cancel: CancelFn,
        source_roots: list[Path],
        target_root: Path,
    ) -> BackupResult:
        # source_roots/target_root are local paths; vm_path and output_dir belong to the daemon's
        # machine, which enforces its own limits, so they are not checked here.
        started = time.monotonic()
        if not self.available:
            raise BackupError(
                "the hypersdk executor is not configured: set HYPERSDK_URL to the daemon's base URL"
            )
        if should_cancel():
            raise Cancelled(f"job {spec.job_id} cancelled before it was submitted")
        report(Progress("submitting"))
        remote_id = self._submit(spec)
        log.info("job %s submitted to HyperSDK at %s as %s", spec.job_id, self.url, remote_id)
        last: Progress | None = None
        errors_in_row = 0
        while True:
            if should_cancel():
                note = self._cancel(remote_id)
                log.info("job %s: cancel forwarded to HyperSDK (%s)", spec.job_id, note)
                raise Cancelled(f"job {spec.job_id}: {note}")
            try:
                job = self._get_job(remote_id)
            except TransientBackupError:
                errors_in_row += 1
                if errors_in_row > self.poll_error_budget:
                    raise
                self._sleep(self.poll_interval)
                continue
            errors_in_row = 0
            progress = progress_from_job(job)
            if progress != last:
                report(progress)
                last = progress
            status = job.get("status")
            if status == "completed":
                return self._result(job, remote_id, started)
            if status == "failed":
                result = _object(job.get("result"))
                reason = job.get("error") or result.get("error") or "no reason given"
                raise BackupError(f"HyperSDK job {remote_id} failed: {reason}")
            if status == "cancelled":
                raise BackupError(f"HyperSDK job {remote_id} was cancelled on the daemon, not by hyperweb")
            self._sleep(self.poll_interval)

    def _result(self, job: dict[str, Any], remote_id: str, started: float) -> BackupResult:
        result = _object(job.get("result"))
        if result.get("success") is False:
            raise BackupError(f"HyperSDK job {remote_id} completed without success: {result.get('error')}")
        duration_ns = result.get("duration")
        duration = duration_ns / 1e9 if isinstance(duration_ns, int | float) else time.monotonic() - started
        output_files = [str(f) for f in result.get("output_files") or []]
        files = [str(f) for f in result.get("files") or []] or output_files
        total = _int(result.get("total_size"))
        return BackupResult(
            archive_path=(output_files[:1] or [result.get("ovf_path") or result.get("output_dir") or ""])[0],
            manifest_path="",
            total_bytes=total,
            archive_bytes=total,
            files=files,
            sha256="",
            duration_s=float(duration),
            extra={
                "remote_job_id": remote_id,
                "remote_url": self.url,
                "vm_name": result.get("vm_name"),
                "output_dir": result.get("output_dir"),
                "export_method": result.get("export_method"),
            },
        )
