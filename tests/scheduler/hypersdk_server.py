"""A small HyperSDK daemon for tests: its job endpoints (/jobs/*) on 127.0.0.1, in a thread.

Each job moves one step per `GET /jobs/{id}`: pending, then `steps` running polls with growing
progress, then completed (or failed when its vm_path contains "fail"; a vm_path containing
"hang" stays running). `fail_next` holds HTTP statuses to answer the next requests with, to
script 5xx bursts. Every request is recorded (method, path, headers, body) for assertions.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GIB = 1024**3


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class FakeHypersdk:
    def __init__(self, *, api_key: str = "", steps: int = 3) -> None:
        self.api_key = api_key
        self.steps = steps
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.fail_next: list[int] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> FakeHypersdk:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def paths(self, method: str | None = None) -> list[str]:
        return [r["path"] for r in self.requests if method in (None, r["method"])]

    # --- HTTP -----------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self.lock:
            self.requests.append(
                {"method": method, "path": handler.path, "headers": dict(handler.headers), "body": body}
            )
            if self.fail_next:
                status, payload = self.fail_next.pop(0), {"error": "scripted failure", "timestamp": _now()}
            elif self.api_key and handler.headers.get("X-API-Key") != self.api_key:
                status, payload = 401, {"error": "unauthorized", "timestamp": _now()}
            else:
                status, payload = self._route(method, handler.path, body)
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET" and path == "/health":
            return 200, {"status": "healthy", "timestamp": _now()}
        if method == "POST" and path == "/jobs/submit":
            return self._submit(body)
        if method == "POST" and path == "/jobs/cancel":
            return self._cancel(body or {})
        if method == "GET" and path.startswith("/jobs/") and path.count("/") == 2:
            job = self.jobs.get(path.rsplit("/", 1)[1])
            if job is None:
                return 404, {"error": "job not found", "timestamp": _now()}
            self._advance(job)
            return 200, self._public(job)
        return 404, {"error": f"no route {method} {path}", "timestamp": _now()}

    def _submit(self, body: Any) -> tuple[int, Any]:
        if isinstance(body, dict) and "jobs" in body:
            items = body["jobs"]
        elif isinstance(body, list):
            items = body
        elif isinstance(body, dict):
            items = [body]
        else:
            return 400, {
                "error": "body must be a JobDefinition, an array or {jobs: [...]}",
                "timestamp": _now(),
            }
        ids, errors = [], []
        for definition in items:
            job_id = definition.get("id") or str(uuid.uuid4())
            if not definition.get("vm_path"):
                errors.append("vm_path is required")
            elif job_id in self.jobs:
                errors.append(f"duplicate job id {job_id}")
            else:
                self.jobs[job_id] = {
                    "definition": dict(definition, id=job_id),
                    "status": "pending",
                    "polls": 0,
                }
                ids.append(job_id)
        return 200, {
            "job_ids": ids,
            "accepted": len(ids),
            "rejected": len(errors),
            "errors": errors,
            "timestamp": _now(),
        }

    def _cancel(self, body: dict[str, Any]) -> tuple[int, Any]:
        cancelled, failed, errors = [], [], {}
        for job_id in body.get("job_ids") or []:
            job = self.jobs.get(job_id)
            if job is None:
                failed.append(job_id)
                errors[job_id] = "job not found"
            elif job["status"] in ("pending", "running"):
                job["status"] = "cancelled"
                cancelled.append(job_id)
            else:
                failed.append(job_id)
                errors[job_id] = f"job is {job['status']}"
        return 200, {"cancelled": cancelled, "failed": failed, "errors": errors, "timestamp": _now()}

    def _advance(self, job: dict[str, Any]) -> None:
        if job["status"] not in ("pending", "running"):
            return
        job["polls"] += 1
        vm_path = job["definition"]["vm_path"]
        if job["polls"] <= self.steps or "hang" in vm_path:
            job["status"] = "running"
        elif "fail" in vm_path:
            job["status"] = "failed"
            job["error"] = "govc: datastore unreachable"
        else:
            job["status"] = "completed"

    def _public(self, job: dict[str, Any]) -> dict[str, Any]:
        definition = job["definition"]
        done = min(job["polls"], self.steps)
        out: dict[str, Any] = {"definition": definition, "status": job["status"], "updated_at": _now()}
        if job["status"] == "running":
            out["progress"] = {
                "phase": "exporting",
                "current_file": f"{definition.get('name') or 'vm'}-disk1.vmdk",
                "files_downloaded": 0,
                "total_files": 2,
                "bytes_downloaded": done * GIB,
                "total_bytes": (self.steps + 1) * GIB,
                "percent_complete": 100.0 * done / (self.steps + 1),
            }
        if job["status"] == "failed":
            out["error"] = job["error"]
        if job["status"] == "completed":
            output_dir = definition.get("output_dir") or "/exports"
            name = definition.get("name") or "vm"
            out["result"] = {
                "vm_name": name,
                "output_dir": output_dir,
                "ovf_path": f"{output_dir}/{name}.ovf",
                "total_size": 10 * GIB,
                "duration": 90_500_000_000,
                "success": True,
                "files": [f"{name}.ovf", f"{name}-disk1.vmdk"],
                "output_files": [f"{output_dir}/{name}.ovf", f"{output_dir}/{name}-disk1.vmdk"],
            }
        return out
