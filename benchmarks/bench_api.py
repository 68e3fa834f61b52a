"""REST API benchmark: gunicorn (2 workers x 4 threads, as scripts/run.sh) on loopback, driven by wrk.

    .venv/bin/python benchmarks/bench_api.py [--duration 10] [--connections 8] [--rounds 2]

Needs `wrk` (Debian: apt-get install wrk). Everything runs in a fresh temporary data folder
(SQLite in WAL mode, as the embedded default), so nothing of the developer's data is touched:
migrate, a viewer with an API key, 7 days of demo readings for the 12 zones plus the DE 2020 CSV
(~37k rows) so the readings table is not trivially small. Each endpoint is measured with the
viewer's X-API-Key, after a warm-up, in interleaved rounds:

- GET /bench/constant: the baseline. Same stack as a real endpoint (gunicorn, middleware, DRF,
  API-key lookup, role check, JSON renderer) but no work; routed only with BENCH_ENDPOINT=1.
  /health would not do: it skips authentication, which is a large part of every real call.
- POST /carbon/status {"zone": "DE"}
- GET /carbon/zones

`--status-cache-seconds N` sets CARBON_STATUS_CACHE_SECONDS for the server (0: the status is
computed on every call; default: the setting's default, 30, so nearly every measured status call
is a cache hit and the printed in-process figures include one miss per 30 s at most).

`--forecast-days N` also stores, for DE, one simulated 72 h forecast issue per hour over the last
N days, as the hourly refresh leaves them (7 is the default retention): the forecast lookups
then have the issue history a deployed instance has, not just the one issue of the demo data.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
sys.path.insert(0, str(ROOT / "benchmarks"))
import runinfo  # noqa: E402

CSV = ROOT / "data" / "grid" / "de_2020_ci.csv.gz"

ENDPOINTS = [
    ("GET /bench/constant (baseline)", "GET", "/bench/constant", None),
    ("POST /carbon/status", "POST", "/carbon/status", {"zone": "DE"}),
    ("GET /carbon/zones", "GET", "/carbon/zones", None),
]

SETUP = """
import django; django.setup()
from django.contrib.auth import get_user_model
from accounts.models import APIKey
from accounts.roles import set_role
from carbon.services import import_readings, load_demo_data
user = get_user_model().objects.create_user("bench")
set_role(user, "viewer")
print("KEY", APIKey.create_for(user, "bench")[1])
print("DEMO", load_demo_data(days=7))
import sys, pathlib
csv = pathlib.Path(sys.argv[1])
if csv.exists():
    print("CSV", import_readings(csv, "DE").created)
forecast_days = int(sys.argv[2])
if forecast_days:
    from datetime import timedelta
    from django.utils import timezone
    from carbon.models import Zone
    from carbon.providers import get_provider
    from carbon.services.store import store_readings
    zone, provider = Zone.objects.get(code="DE"), get_provider("simulated")
    top = timezone.now().replace(minute=0, second=0, microsecond=0)
    created = 0
    for hours in range(1, forecast_days * 24 + 1):
        issued = top - timedelta(hours=hours)
        readings = provider.forecast(zone.ref("simulated"), 72, now=issued)
        created += store_readings(zone, "simulated", readings).created
    print("FORECAST-ISSUES", created)
"""


# Service time: the same requests through the same Django stack (middleware, DRF, auth, renderer,
# database) in one process and one thread, no HTTP server and no concurrency. On a loaded machine
# this is steadier than throughput: it is the CPU cost per request that throughput divides into.
SERVICE_TIME = """
import django, json, sys, time
django.setup()
from django.test import Client
key, n = sys.argv[1], int(sys.argv[2])
calls = json.loads(sys.argv[3])
client = Client(HTTP_X_API_KEY=key)

def call(method, path, body):
    if method == "GET":
        return client.get(path)
    return client.post(path, json.dumps(body), content_type="application/json")

for label, method, path, body in calls:
    for _ in range(10):
        assert call(method, path, body).status_code == 200
times = {label: [] for label, *_ in calls}
for _ in range(n):  # round-robin, so load from other processes hits every endpoint alike
    for label, method, path, body in calls:
        started = time.perf_counter()
        call(method, path, body)
        times[label].append((time.perf_counter() - started) * 1000)
out = {}
for label, values in times.items():
    values.sort()
    out[label] = {q: values[int(len(values) * f)] for q, f in (("p10", 0.10), ("median", 0.5), ("p99", 0.99))}
print(json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wrk_script(method: str, key: str, body: dict | None) -> str:
    lines = [f'wrk.method = "{method}"', f'wrk.headers["X-API-Key"] = "{key}"']
    if body is not None:
        lines += ['wrk.headers["Content-Type"] = "application/json"', f"wrk.body = '{json.dumps(body)}'"]
    return "\n".join(lines) + "\n"


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, script: Path, duration: int, connections: int, *, parse: bool = True) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if not parse:
        return {}
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"errors while measuring {url}:\n{out}")
    latency = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    if set(latency) != {"50", "99"}:
        raise SystemExit(f"could not read wrk's latency distribution for {url}:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(latency["50"]),
        "p99": to_ms(latency["99"]),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
    }


def python_output(args: list[str], env: dict[str, str]) -> str:
    """What `python -c args[0] args[1:]` prints, run in the project root with `env`."""
    return subprocess.run(
        [PY, "-c", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint per round")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-history", action="store_true", help="skip importing the DE 2020 CSV")
    parser.add_argument(
        "--forecast-days", type=int, default=0, help="hourly DE forecast issues to store, in days"
    )
    parser.add_argument("--service-requests", type=int, default=300, help="sequential in-process requests")
    parser.add_argument(
        "--status-cache-seconds", type=int, default=None, help="CARBON_STATUS_CACHE_SECONDS (0: off)"
    )
    args = parser.parse_args()
    runinfo.begin()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    data_dir = str(runinfo.scratch("hyperweb-bench-api-"))
    env = {
        **os.environ,
        "HYPERWEB_DATA_DIR": data_dir,
        "BENCH_ENDPOINT": "1",
        "DJANGO_SETTINGS_MODULE": "hyperweb.settings",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "0",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)  # the embedded default: each worker's own local-memory cache
    if args.status_cache_seconds is not None:
        env["CARBON_STATUS_CACHE_SECONDS"] = str(args.status_cache_seconds)
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    setup = python_output(
        [SETUP, "/nonexistent" if args.no_history else str(CSV), str(args.forecast_days)], env
    )
    key = re.search(r"KEY (\S+)", setup).group(1)
    print(" ".join(line for line in setup.splitlines() if not line.startswith("KEY")), "(rows stored)")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        with runinfo.gunicorn(port, env):
            scripts = {}
            for label, method, path, body in ENDPOINTS:
                scripts[label] = Path(data_dir) / f"{abs(hash(label))}.lua"
                scripts[label].write_text(wrk_script(method, key, body))
                # warm-up: both workers, the first provider fetch, SQLite's page cache
                run_wrk(base + path, scripts[label], 3, args.connections, parse=False)
            results: dict[str, list[dict]] = {label: [] for label, *_ in ENDPOINTS}
            for _ in range(args.rounds):
                for label, _method, path, _body in ENDPOINTS:
                    results[label].append(
                        run_wrk(base + path, scripts[label], args.duration, args.connections)
                    )
            service = json.loads(
                python_output([SERVICE_TIME, key, str(args.service_requests), json.dumps(ENDPOINTS)], env)
            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    history = ("without" if args.no_history else "with") + " the DE 2020 history"
    if args.forecast_days:
        history += f", with {args.forecast_days} days of hourly DE forecast issues"
    if args.status_cache_seconds is not None:
        history += f", CARBON_STATUS_CACHE_SECONDS={args.status_cache_seconds}"
    print(
        f"\nwrk -t2 -c{args.connections} -d{args.duration}s per endpoint, {args.rounds} interleaved rounds; "
        f"gunicorn 2 workers x 4 threads; {history}; "
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    print("| endpoint | round | requests/s | vs baseline (same round) | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    baseline = results[ENDPOINTS[0][0]]
    for label, rounds in results.items():
        for i, r in enumerate(rounds):
            ratio = r["rps"] / baseline[i]["rps"]
            print(f"| {label} | {i + 1} | {r['rps']:.0f} | {ratio:.0%} | {r['p50']:.1f} | {r['p99']:.1f} |")

    print(
        f"\nService time, in process, one thread, {args.service_requests} round-robin requests each "
        "(p10 approximates the cost when the CPU is not taken by other processes):\n"
    )
    print("| endpoint | p10 ms | median ms | p99 ms | baseline / endpoint (p10) |")
    print("|---|---|---|---|---|")
    base_ms = service[ENDPOINTS[0][0]]["p10"]
    for label, r in service.items():
        print(f"| {label} | {r['p10']:.2f} | {r['median']:.2f} | {r['p99']:.2f} | {base_ms / r['p10']:.0%} |")


if __name__ == "__main__":
    sys.exit(main())
