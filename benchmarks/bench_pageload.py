"""Page loads as a browser sees them: bytes transferred and time to the charts drawn, cold and warm.

    .venv/bin/python benchmarks/bench_pageload.py [--days 365] [--jobs 10000] [--runs 7]
        [--keep /tmp/hw-pageload] [--max-load 4 --wait 900] [--timezone Europe/Berlin]

The data are the dashboard benchmark's (benchmarks/bench_dashboard.py `load`: 12 zones x `--days`
of 15-minute readings, `--issues` stored forecast issues per zone, `--jobs` backups), in a fresh
temporary data folder (or `--keep`, reused once loaded). It runs `collectstatic` (hashed,
pre-compressed static files), serves the folder with gunicorn on 127.0.0.1:`--port` (2 workers x 4 threads, as
`make run`) and drives Debian's chromium (Playwright, executable_path=/usr/bin/chromium; never a
downloaded browser) signed in as an admin, in the browser timezone `--timezone`.

For the overview, the DE zone page and the savings page, `--runs` times each:
- cold: a new browser context (empty cache, the session cookie only);
- warm: the same page again in that context (cache primed).
Measured per load: bytes transferred (CDP Network.loadingFinished encodedDataLength: compressed
bodies plus headers, every request of the page) and milliseconds from navigation start until
every chart on the page is drawn (a Plotly div with its SVG), read in the page as
performance.now(). Printed: medians, the targets of issue 15 (cold <= 600 KB and <= 1.5 s to charts
drawn, warm <= 100 KB) and the 1-minute load average during each page's runs; the commit and the
load average at start and end (benchmarks/runinfo.py).

The machine may be shared: `--max-load L` waits (up to `--wait` seconds) for the 1-minute load
average to drop below L before each page, and a page whose median time is over its target is
measured again once (after waiting again) and both results are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import runinfo  # noqa: E402  (benchmarks/, on sys.path)

PAGES = {"overview": "/", "zone": "/zones/DE", "savings": "/savings"}
COLD_BYTES, WARM_BYTES, DRAWN_MS = 600_000, 100_000, 1500.0
CHARTS_DRAWN = """() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  if (!divs.length || !divs.every(d => d._fullLayout && d.querySelector('.main-svg'))) return false;
  window.__chartsDrawn = window.__chartsDrawn || performance.now();
  return true;
}"""


def wait_for_quiet(max_load: float | None, wait_s: float) -> float:
    """Wait until the 1-minute load average is below `max_load` (at most `wait_s`); return it."""
    deadline = time.monotonic() + wait_s
    while max_load is not None and os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        time.sleep(10)
    return os.getloadavg()[0]


def load_once(context: Any, url: str) -> tuple[int, float, int]:
    """(bytes transferred, ms to charts drawn, requests) for one load of `url` in `context`."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: list[int] = []
    cdp.on("Network.loadingFinished", lambda event: sizes.append(int(event["encodedDataLength"])))
    page.goto(url, wait_until="load")
    page.wait_for_function(CHARTS_DRAWN, polling="raf")
    drawn_ms = float(page.evaluate("window.__chartsDrawn"))
    page.wait_for_load_state("networkidle")
    page.close()
    return sum(sizes), drawn_ms, len(sizes)


def measure_page(chromium: Any, state: dict[str, Any], url: str, runs: int, tz: str) -> dict[str, float]:
    cold: list[tuple[int, float, int]] = []
    warm: list[tuple[int, float, int]] = []
    loads: list[float] = []
    for _ in range(runs):
        context = chromium.new_context(
            storage_state=state, timezone_id=tz, viewport={"width": 1280, "height": 900}
        )
        cold.append(load_once(context, url))
        warm.append(load_once(context, url))
        context.close()
        loads.append(os.getloadavg()[0])
    return {
        "cold_bytes": statistics.median(b for b, _, _ in cold),
        "cold_ms": statistics.median(ms for _, ms, _ in cold),
        "cold_requests": statistics.median(n for _, _, n in cold),
        "warm_bytes": statistics.median(b for b, _, _ in warm),
        "warm_ms": statistics.median(ms for _, ms, _ in warm),
        "load": statistics.median(loads),
    }


def over_target(r: dict[str, float]) -> bool:
    return r["cold_ms"] > DRAWN_MS or r["cold_bytes"] > COLD_BYTES or r["warm_bytes"] > WARM_BYTES


def row(name: str, r: dict[str, float], note: str = "") -> str:
    mark = "over target" if over_target(r) else "met"
    return (
        f"{name:<10}{r['cold_bytes'] / 1000:>9.0f}{r['cold_ms']:>9.0f}{r['cold_requests']:>6.0f}"
        f"{r['warm_bytes'] / 1000:>9.1f}{r['warm_ms']:>9.0f}{r['load']:>7.1f}  {mark}{note}"
    )


def prepare(folder: Path, args: argparse.Namespace) -> None:
    """Migrate and load the dashboard benchmark's data into `folder` (once, with --keep)."""
    os.environ["HYPERWEB_DATA_DIR"] = str(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperweb.settings")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    import bench_dashboard
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if not (folder / "pageload-loaded").exists():
        started = time.monotonic()
        bench_dashboard.load(args.days, args.jobs, args.issues, datetime.now(UTC))
        (folder / "pageload-loaded").touch()
        print(
            f"# loaded {args.days} days, {args.jobs} backups in {time.monotonic() - started:.0f} s",
            flush=True,
        )
    connection.close()
    env = dict(os.environ, HYPERWEB_DATA_DIR=str(folder), DEBUG="0")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--issues", type=int, default=72, help="hourly forecast issues stored per zone")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--port", type=int, default=8107)
    parser.add_argument("--timezone", default="Europe/Berlin", help="the browser's timezone")
    parser.add_argument("--keep", type=Path, help="data folder to keep (and reuse once loaded)")
    parser.add_argument("--max-load", type=float, help="wait for the 1-minute load average below this")
    parser.add_argument("--wait", type=float, default=900, help="seconds to wait for --max-load at most")
    args = parser.parse_args()
    runinfo.begin()
    folder = args.keep or runinfo.scratch("hyperweb-bench-pageload-")
    folder.mkdir(parents=True, exist_ok=True)
    prepare(folder, args)

    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{args.port}"
    env = dict(os.environ, HYPERWEB_DATA_DIR=str(folder), DEBUG="0")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [
            gunicorn,
            "hyperweb.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            login = chromium.new_context()
            page = login.new_page()
            page.goto(f"{base}/login")
            page.fill("#id_username", "bench")
            page.fill("#id_password", "bench-password-1")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            state = login.storage_state()
            login.close()
            for url in PAGES.values():  # one unmeasured load each: server caches as after any first visitor
                context = chromium.new_context(storage_state=state)
                load_once(context, base + url)
                context.close()
            print(
                f"\nbrowser timezone {args.timezone}; medians of {args.runs} loads; targets: cold <= "
                f"{COLD_BYTES // 1000} KB and <= {DRAWN_MS:.0f} ms to charts drawn, warm <= {WARM_BYTES // 1000} KB"
            )
            print(
                f"{'page':<10}{'cold KB':>9}{'cold ms':>9}{'reqs':>6}{'warm KB':>9}{'warm ms':>9}{'load':>7}"
            )
            for name, url in PAGES.items():
                quiet = wait_for_quiet(args.max_load, args.wait)
                result = measure_page(chromium, state, base + url, args.runs, args.timezone)
                print(row(name, result, f" (load {quiet:.1f} at start)"), flush=True)
                if over_target(result):
                    quiet = wait_for_quiet(args.max_load, args.wait)
                    again = measure_page(chromium, state, base + url, args.runs, args.timezone)
                    print(row(name, again, f" (again; load {quiet:.1f} at start)"), flush=True)
            chromium.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
