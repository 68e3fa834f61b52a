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
performance.now(); of a cold load also the ms to the page's first byte (the server's part) and to
plotly.js having run (loaded, parsed and executed; the rest is drawing), and the CPU time the load
cost chromium's processes and the web server (ms of user + system time from /proc, a figure that a
busy machine does not inflate as it does wall-clock times). Printed: medians, the targets of issue 15 (cold <= 600 KB and <= 1.5 s to charts
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import runinfo  # noqa: E402  (benchmarks/, on sys.path)
from playwright.sync_api import sync_playwright  # noqa: E402

PAGES = {"overview": "/", "zone": "/zones/DE", "savings": "/savings"}
COLD_BYTES, WARM_BYTES, DRAWN_MS = 600_000, 100_000, 1500.0
# When plotly.js has run (its bundle assigns window.Plotly): splits the time into the server's part,
# loading and running plotly.js, and drawing the charts (static/js/charts.js).
PLOTLY_READY = """(() => {
  let value;
  Object.defineProperty(window, 'Plotly', {configurable: true, get() { return value; },
    set(v) { value = v; window.__plotlyReady = window.__plotlyReady || performance.now(); }});
})();"""
CHARTS_DRAWN = """() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  if (!divs.length || !divs.every(d => d._fullLayout && d.querySelector('.main-svg'))) return false;
  window.__chartsDrawn = window.__chartsDrawn || performance.now();
  return true;
}"""


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def cpu_ms(roots: list[int]) -> dict[int, float]:
    """CPU time (user + system, ms) of each process under `roots`: chromium's processes and the
    web server's, less Playwright's own driver (node) and the renderer of the browser window's own
    interface (--top-chrome-webui: each new context opens a window, which a user's browser already
    has open). The CPU work of a load does not grow when the machine is busy, as its wall-clock
    time does."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry)
        parents[pid], names[pid] = int(fields[1]), name
        times[pid] = (int(fields[11]) + int(fields[12])) * TICK_MS
    found: dict[int, float] = {}
    for pid in times:
        ancestor = pid
        while ancestor > 1 and ancestor not in roots:
            ancestor = parents.get(ancestor, 1)
        if ancestor in roots and names[pid] != "node" and not _window_ui(pid):
            found[pid] = times[pid]
    return found


def _window_ui(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"--top-chrome-webui" in f.read()
    except OSError:
        return False


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def wait_for_quiet(max_load: float | None, wait_s: float) -> float:
    """Wait until the 1-minute load average is below `max_load` (at most `wait_s`); return it."""
    deadline = time.monotonic() + wait_s
    while max_load is not None and os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        time.sleep(10)
    return os.getloadavg()[0]


ROOTS: list[int] = []  # our own process (chromium's ancestor) and the web server


def load_once(context: Any, url: str) -> tuple[int, float, int, float, float, float]:
    """(bytes transferred, ms to charts drawn, requests, ms to the page's first byte, ms to plotly.js
    run, CPU ms of browser and server) for one load of `url` in `context`."""
    page = context.new_page()
    page.add_init_script(PLOTLY_READY)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: list[int] = []
    cdp.on("Network.loadingFinished", lambda event: sizes.append(int(event["encodedDataLength"])))
    before = cpu_ms(ROOTS)
    page.goto(url, wait_until="load")
    page.wait_for_function(CHARTS_DRAWN, polling="raf")
    cpu = cpu_spent(before, cpu_ms(ROOTS))
    drawn_ms = float(page.evaluate("window.__chartsDrawn"))
    first_byte = float(page.evaluate("performance.getEntriesByType('navigation')[0].responseStart"))
    plotly_ms = float(page.evaluate("window.__plotlyReady || 0"))
    page.wait_for_load_state("networkidle")
    page.close()
    return sum(sizes), drawn_ms, len(sizes), first_byte, plotly_ms, cpu


def measure_page(
    chromium: Any, state: dict[str, Any], url: str, runs: int, tz: str | None
) -> dict[str, float]:
    """Medians of `runs` cold and warm loads of `url` (load_once's figures) in the browser timezone
    `tz` (None: the machine's), and the median 1-minute load average."""
    cold: list[tuple[int, float, int, float, float, float]] = []
    warm: list[tuple[int, float, int, float, float, float]] = []
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
        "cold_bytes": statistics.median(r[0] for r in cold),
        "cold_ms": statistics.median(r[1] for r in cold),
        "cold_requests": statistics.median(r[2] for r in cold),
        "cold_first_byte": statistics.median(r[3] for r in cold),
        "cold_plotly": statistics.median(r[4] for r in cold),
        "cold_cpu": statistics.median(r[5] for r in cold),
        "warm_cpu": statistics.median(r[5] for r in warm),
        "warm_bytes": statistics.median(r[0] for r in warm),
        "warm_ms": statistics.median(r[1] for r in warm),
        "load": statistics.median(loads),
    }


def over_target(r: dict[str, float]) -> bool:
    return r["cold_ms"] > DRAWN_MS or r["cold_bytes"] > COLD_BYTES or r["warm_bytes"] > WARM_BYTES


def row(name: str, r: dict[str, float], note: str = "") -> str:
    mark = "over target" if over_target(r) else "met"
    return (
        f"{name:<10}{r['cold_bytes'] / 1000:>9.0f}{r['cold_ms']:>9.0f}{r['cold_first_byte']:>7.0f}"
        f"{r['cold_plotly']:>8.0f}{r['cold_requests']:>6.0f}"
        f"{r['warm_bytes'] / 1000:>9.1f}{r['warm_ms']:>9.0f}"
        f"{r['cold_cpu']:>9.0f}{r['warm_cpu']:>9.0f}{r['load']:>7.1f}  {mark}{note}"
    )


@contextmanager
def serve(folder: Path, port: int) -> Iterator[str]:
    """`collectstatic` (hashed, pre-compressed static files), then gunicorn over the data folder
    `folder` on 127.0.0.1:`port` as `make run` starts it (2 workers x 4 threads), until it answers
    /health; yields its base URL and stops it on leaving. Its CPU time counts in load_once's."""
    env = dict(os.environ, HYPERWEB_DATA_DIR=str(folder), DEBUG="0")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    with runinfo.gunicorn(port, env) as server:
        ROOTS[:] = [os.getpid(), server.pid]
        yield f"http://127.0.0.1:{port}"


def launch(pw: Any) -> Any:
    """Debian's chromium, headless (never a downloaded browser)."""
    return pw.chromium.launch(
        executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
    )


def sign_in(chromium: Any, base: str) -> dict[str, Any]:
    """The storage state (session cookie) of the benchmark's admin, signed in through /login."""
    login = chromium.new_context()
    page = login.new_page()
    page.goto(f"{base}/login")
    page.fill("#id_username", "bench")
    page.fill("#id_password", "bench-password-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    state: dict[str, Any] = login.storage_state()
    login.close()
    return state


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
    try:
        with serve(folder, args.port) as base, sync_playwright() as pw:
            chromium = launch(pw)
            state = sign_in(chromium, base)
            for url in PAGES.values():  # one unmeasured load each: server caches as after any first visitor
                context = chromium.new_context(storage_state=state)
                load_once(context, base + url)
                context.close()
            print(
                f"\nbrowser timezone {args.timezone}; medians of {args.runs} loads; targets: cold <= "
                f"{COLD_BYTES // 1000} KB and <= {DRAWN_MS:.0f} ms to charts drawn, warm <= {WARM_BYTES // 1000} KB"
            )
            print(
                f"{'page':<10}{'cold KB':>9}{'cold ms':>9}{'ttfb':>7}{'plotly':>8}{'reqs':>6}{'warm KB':>9}{'warm ms':>9}{'cold cpu':>9}{'warm cpu':>9}{'load':>7}"
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
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
