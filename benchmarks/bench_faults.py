"""Fault benchmark (issue 11): bad inputs, a silent carbon provider, and stopping `make run`.

    nice .venv/bin/python benchmarks/bench_faults.py [--requests 200] [--stops 3]

Everything runs against the real thing in a fresh temporary data folder, on port 8103 (the `ops`
port), so nothing of the developer's data or ports is touched. In one run it prints:

1. **Bad inputs**: a representative list of the classes that answered 500 before (strings longer
   than their column, lone surrogates, dates that overflow when shifted, numbers that overflow,
   year-9999 not_before, crons that never fire, durations past the cap, a bracket bomb, a chunked
   body, malformed JSON), each sent by HTTP to gunicorn with an operator's API key: how many were
   tried, how many answered 500 (must be 0), and whether the server still answers /health.
2. **/carbon/status with a silent provider**: zone DE's only provider is Electricity Maps, pointed
   at a real local socket that accepts connections and never answers; FR keeps the simulated
   provider (the same-run baseline). `--requests` sequential POST /carbon/status calls per zone
   (the status cache off, so every call does the work), while a second thread calls /health:
   median, p99 and max for each, and the ratio DE/FR.
3. **Shutdown of scripts/run.sh** (what `make run` runs): started `--stops` times, each time
   SIGINT to its process group once the banner is printed (what Ctrl-C does); time until the
   script has exited, no process it started is left and the port is free: median and max.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import runinfo  # noqa: E402  (benchmarks/, on sys.path when run as a script)

PY = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
HOST, PORT = "127.0.0.1", 8103

SETUP = """
import django; django.setup()
from django.contrib.auth import get_user_model
from accounts.models import APIKey
from accounts.roles import set_role
from carbon.services import load_demo_data
user = get_user_model().objects.create_user("bench-operator")
set_role(user, "operator")
print("KEY", APIKey.create_for(user, "bench")[1])
load_demo_data(days=2)
"""

CRON_121 = ",".join(str(minute) for minute in range(41)) + " 00 * * *"


def bad_inputs() -> list[tuple[str, str, str, str]]:
    """(label, method, path, raw body) for every class of input that answered 500 before."""
    job = lambda **m: json.dumps({"vm_path": "web.img", "metadata": m})  # noqa: E731
    cases = [
        ("job name > 255", "POST", "/jobs/submit", json.dumps({"name": "n" * 256, "vm_path": "web.img"})),
        ("vm_path > 1024", "POST", "/jobs/submit", json.dumps({"vm_path": "v" * 1025})),
        (
            "batch with one name > 255",
            "POST",
            "/jobs/submit",
            json.dumps([{"vm_path": "web.img"}, {"name": "n" * 300, "vm_path": "web.img"}]),
        ),
        ("schedule name > 200", "POST", "/schedules", json.dumps({"name": "s" * 201, "schedule": "0 22 * * *", "job_template": {"vm_path": "web.img"}, "zone": "DE"})),
        ("valid 121-char cron", "POST", "/schedules", json.dumps({"name": "c", "schedule": CRON_121, "job_template": {"vm_path": "web.img"}, "zone": "DE"})),
        ("lone surrogate in name", "POST", "/jobs/submit", '{"name": "x\\ud800y", "vm_path": "web.img"}'),
        ("lone surrogate in zone", "POST", "/carbon/status", '{"zone": "D\\udfffE"}'),
        ("not_before 0001-01-01+01:00", "POST", "/jobs/submit", job(not_before="0001-01-01T00:00:00+01:00")),
        ("not_before 9999-12-31-01:00", "POST", "/jobs/submit", job(not_before="9999-12-31T23:59:59-01:00")),
        ("not_before year 9999", "POST", "/jobs/submit", job(not_before="9999-12-31T23:00:00Z")),
        ("intensity from 0001 +01:00", "GET", "/carbon/zones/DE/intensity?start=0001-01-01T00:00:00%2B01:00", ""),
        ("intensity to 9999 -01:00", "GET", "/carbon/zones/DE/intensity?end=9999-12-31T23:59:59-01:00", ""),
        ("esg csv start 9999-12-30", "GET", "/reports/esg.csv?start=9999-12-30", ""),
        ("carbon report 0001", "POST", "/carbon/report", json.dumps({"zone": "DE", "start": "0001-01-01T00:00:00+01:00"})),
        ("data_size_gb 1e400", "POST", "/carbon/estimate", '{"zone": "DE", "data_size_gb": 1e400}'),
        ("data_size_gb 1e308", "POST", "/jobs/submit", job(data_size_gb=1e308)),
        ("expected_duration_hours 1e12", "POST", "/jobs/submit", job(expected_duration_hours=1e12)),
        ("huge integer", "POST", "/carbon/estimate", '{"zone": "DE", "data_size_gb": ' + "9" * 500 + "}"),
        ("NaN", "POST", "/carbon/estimate", '{"zone": "DE", "data_size_gb": NaN}'),
        ("cron that never fires", "POST", "/schedules", json.dumps({"name": "feb31", "schedule": "0 0 31 2 *", "job_template": {"vm_path": "web.img"}, "zone": "DE"})),
        ("schedule duration 500 h", "POST", "/schedules", json.dumps({"name": "long", "schedule": "0 22 * * *", "job_template": {"vm_path": "web.img"}, "zone": "DE", "expected_duration_hours": 500})),
        ("bracket bomb /api/login", "POST", "/api/login", "[" * 5000),
        ("bracket bomb /jobs/submit", "POST", "/jobs/submit", "[" * 5000),
        ("malformed JSON", "POST", "/carbon/status", '{"zone": "DE",'),
        ("wrong type", "POST", "/carbon/status", '{"zone": ["DE"]}'),
        ("empty body", "POST", "/jobs/submit", ""),
        ("unknown zone", "POST", "/carbon/status", '{"zone": "XX-NOPE"}'),
        ("negative duration", "POST", "/jobs/submit", job(expected_duration_hours=-1)),
    ]
    return cases


def request(method: str, path: str, body: str = "", key: str = "", timeout: float = 30) -> tuple[int, float]:
    data = body.encode("utf-8", "surrogatepass") if (body or method == "POST") else None
    req = urllib.request.Request(f"http://{HOST}:{PORT}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("X-API-Key", key)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return status, time.perf_counter() - start


def chunked_post(path: str, key: str, size: int) -> int:
    """A chunked body (no Content-Length) of `size` bytes, sent over a raw socket."""
    with socket.create_connection((HOST, PORT), timeout=30) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nX-API-Key: {key}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < size:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed early: fine
        reply = sock.recv(100).decode("latin-1")
    return int(reply.split()[1]) if reply.startswith("HTTP/") else 0


class SilentServer:
    """Accepts TCP connections and never answers (keeps them open)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)


def wait_until_listening(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if request("GET", "/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /health")


def listening() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, PORT)) == 0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure_status(key: str, zone: str, count: int) -> tuple[list[float], list[float], list[int]]:
    """`count` sequential POST /carbon/status for `zone` while another thread calls /health."""
    health: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            health.append(request("GET", "/health", timeout=120)[1])

    prober = threading.Thread(target=probe)
    prober.start()
    times, statuses = [], []
    for _ in range(count):
        status, took = request("POST", "/carbon/status", json.dumps({"zone": zone}), key, timeout=120)
        times.append(took)
        statuses.append(status)
    done.set()
    prober.join()
    return times, health, statuses


def run_script_stop(data: Path) -> float:
    """Start scripts/run.sh, wait for its banner, SIGINT its process group: seconds until it has
    exited, nothing it started is left and the port is free."""
    from hyperweb.processes import descendants
    from hyperweb.processes import gone as _gone

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        HYPERWEB_PORT=str(PORT),
        HYPERWEB_HOST=HOST,
        HYPERWEB_DATA_DIR=str(data),
        DJANGO_SUPERUSER_PASSWORD="bench-faults-password",
        CARBON_DEMO_DAYS="1",
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        ["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
        # Ctrl-C's default action, as a terminal starts it: run from a background job (run_all.sh
        # under nohup) this process inherits SIGINT ignored, and bash cannot trap a signal ignored
        # on entry, so run.sh would never stop (tests/hyperweb/test_run_script.py does the same).
        preexec_fn=_default_sigint,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in iter(proc.stdout.readline, "")] + [lines.put(None)],
        daemon=True,
    ).start()
    while True:
        line = lines.get(timeout=300)
        if line is None:
            raise SystemExit("run.sh ended before its banner")
        if "hyperweb is running on" in line:
            break
    started = descendants(proc.pid)
    asked = time.perf_counter()
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(60)
        while listening() or not all(_gone(pid) for pid in started):
            if time.perf_counter() - asked > 60:
                raise SystemExit("run.sh left processes or the port behind")
            time.sleep(0.05)
    except (subprocess.TimeoutExpired, SystemExit):
        # Never leave the product running behind a failed measurement.
        for pid in [proc.pid, *started]:
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        raise
    return time.perf_counter() - asked


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--stops", type=int, default=3)
    args = parser.parse_args()
    runinfo.begin()
    if listening():
        raise SystemExit(f"port {PORT} is in use")

    work = runinfo.scratch("hw-bench-faults-")
    silent = SilentServer()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        HYPERWEB_DATA_DIR=str(work / "data"),
        DJANGO_SETTINGS_MODULE="hyperweb.settings",
        CARBON_ZONE_PROVIDERS="DE=electricitymaps",
        ELECTRICITYMAPS_TOKEN="bench-faults-token",
        ELECTRICITYMAPS_BASE_URL=f"http://127.0.0.1:{silent.port}/v3",
        CARBON_PROVIDERS="simulated",
        CARBON_STATUS_CACHE_SECONDS="0",
        BACKUP_SOURCE_ROOTS=str(work / "vms"),
        LOG_LEVEL="WARNING",
    )
    (work / "vms").mkdir()
    (work / "vms" / "web.img").write_bytes(b"disk")
    try:
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        out = subprocess.run([PY, "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        key = next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("KEY "))
        server = subprocess.Popen(
            [GUNICORN, "hyperweb.wsgi", "--bind", f"{HOST}:{PORT}", "--workers", "2", "--threads", "4",
             "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(work / "gunicorn.log", "w"),
            start_new_session=True,
        )
        try:
            wait_until_listening(60)
            print(f"hyperweb fault benchmark  (gunicorn 2x4 on {HOST}:{PORT}, SQLite, {os.cpu_count()} CPUs)")

            # 1. bad inputs
            statuses = []
            for label, method, path, body in bad_inputs():
                status, _ = request(method, path, body, key)
                statuses.append((label, status))
            statuses.append(("chunked 10 MB body", chunked_post("/jobs/submit", key, 10 * 1024 * 1024)))
            errors = [(label, s) for label, s in statuses if s >= 500 or s == 0]
            alive = request("GET", "/health")[0] == 200
            print(f"\n1. bad inputs tried: {len(statuses)}   answered 500 (or no answer): {len(errors)}   "
                  f"/health after: {'200' if alive else 'DOWN'}")
            for label, status in errors:
                print(f"   500: {label} -> {status}")
            codes: dict[int, int] = {}
            for _, status in statuses:
                codes[status] = codes.get(status, 0) + 1
            print("   statuses: " + ", ".join(f"{code} x{n}" for code, n in sorted(codes.items())))

            # 2. silent provider
            request("POST", "/carbon/status", json.dumps({"zone": "FR"}), key)  # warm-up
            request("POST", "/carbon/status", json.dumps({"zone": "DE"}), key)
            fr, fr_health, fr_codes = measure_status(key, "FR", args.requests)
            de, de_health, de_codes = measure_status(key, "DE", args.requests)
            print(f"\n2. POST /carbon/status, {args.requests} calls each (status cache off), /health probed meanwhile")
            print(f"   {'':34} {'median':>9} {'p99':>9} {'max':>9}")
            for label, values in (
                ("FR, simulated provider (baseline)", fr),
                ("DE, silent provider", de),
                ("/health during FR", fr_health),
                ("/health during DE", de_health),
            ):
                print(f"   {label:34} {statistics.median(values) * 1000:7.1f}ms {pct(values, 99) * 1000:7.1f}ms "
                      f"{max(values) * 1000:7.1f}ms")
            print(f"   ratio DE/FR: median {statistics.median(de) / statistics.median(fr):.2f}, "
                  f"p99 {pct(de, 99) / pct(fr, 99):.2f};  statuses DE {sorted(set(de_codes))}, FR {sorted(set(fr_codes))}")
            print(f"   connections the silent provider received: {len(silent.held)}")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)

        # 3. shutdown of run.sh
        stops = [run_script_stop(work / f"run-{i}") for i in range(args.stops)]
        print(f"\n3. scripts/run.sh (make run): Ctrl-C -> exited, no process left, port free; {args.stops} runs")
        print(f"   median {statistics.median(stops):.1f} s, max {max(stops):.1f} s  ({', '.join(f'{s:.1f}' for s in stops)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
