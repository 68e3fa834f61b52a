"""Dashboard benchmark: server time, page size and query count of the overview and a zone page.

    .venv/bin/python benchmarks/bench_dashboard.py [--days 1095] [--step 5] [--jobs 10000] [--issues 72]
        [--runs 7] [--browser [--port 8106]] [--keep DIR]

Everything happens in a fresh temporary data folder (SQLite in WAL mode, the embedded default),
so nothing of the developer's data is touched. Data:

- 12 zones x `--days` of actual readings every `--step` minutes (3 years at 5 minutes: 3,784,320
  rows; 365 days at 15 minutes: 420,480), the real 2020
  curves of data/grid (DE for the fossil-heavy zones, FR for the low-carbon ones) shifted to
  end now and scaled to each zone's typical intensity;
- `--issues` hourly forecast issues per zone (72 h ahead at 15 minutes, 288 points each), as a
  deployment refreshing every hour accumulates them (72 issues: 248,832 rows);
- `--jobs` backups: 90 % completed and accounted over the year, the rest failed, cancelled,
  running or planned over the next 48 h.

Pages are requested in-process through Django's test client as a logged-in admin (middleware,
session, templates, charts: everything but the socket), after one warm-up request, `--runs`
times; reported: median server time, body size (what is transferred; plotly.min.js is a static
file fetched once and cached, reported apart) and the number of SQL queries. The query count is
measured again on a small database (1 day of readings, 10 backups) to show it does not grow with
the data.

Then the what-if page: its answer computed, and the whole page once the workers' precompute ran.

`--browser` then measures what a browser downloads, as benchmarks/bench_pageload.py does (its
`serve`, `sign_in` and `measure_page`): `collectstatic`, gunicorn on 127.0.0.1:`--port` over the
same data folder, Debian's chromium signed in as the admin, and the overview, the DE zone page and
the savings page loaded `--runs` times each, cold (new browser context: empty cache) and warm (the
same context again). Reported per page: bytes transferred (compressed bodies plus headers) and
milliseconds from navigation start until every chart on the page is drawn (medians). Then, with the
same server setup, four users at once each open a different what-if choice not precomputed (fresh
server and emptied caches, 3 rounds): each whole page's time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "grid"
sys.path.insert(0, str(ROOT))

import runinfo  # noqa: E402  (benchmarks/, on sys.path when run as a script)

PAGES = ["/", "/(sparklines not cached)", "/zones/DE", "/zones/DE?days=30", "/backups", "/savings"]
BROWSER_PAGES = ["/", "/zones/DE", "/savings"]
LOW_CARBON = {"SE", "FR"}
STEP = timedelta(minutes=15)


def _curve(name: str) -> list[float]:
    from carbon.providers.csvfile import parse_csv

    path = DATA / f"{name}_2020_ci.csv.gz"
    values = [reading.value for _, reading in parse_csv(path)]
    mean = sum(values) / len(values)
    return [v / mean for v in values]


def load(days: int, jobs: int, issues: int, now: datetime, step_minutes: int = 15) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from carbon.models import FetchAttempt, Zone
    from carbon.providers.base import Reading
    from carbon.services.store import _insert, bump_data_version, remember_issue
    from scheduler.models import BackupJob

    t0 = time.perf_counter()
    curves = {"de": _curve("de"), "fr": _curve("fr")}
    step = timedelta(minutes=step_minutes)
    end = now.replace(minute=now.minute - now.minute % step_minutes, second=0, microsecond=0)
    steps = days * 1440 // step_minutes
    ahead = 72 * 60 // step_minutes  # forecast points per issue (72 h)
    per_curve = step_minutes / 15  # the curves are 15-minute data: a finer step repeats values
    rng = random.Random(1)
    zones = list(Zone.objects.all())
    count = 0
    for zi, zone in enumerate(zones):
        curve = curves["fr" if zone.code in LOW_CARBON else "de"]
        offset = (zi * 2011) % len(curve)  # a different stretch of the year per zone

        def at(i: int, curve: list[float] = curve, offset: int = offset) -> float:
            return curve[(offset + int(i * per_curve)) % len(curve)]

        # Stored as store_readings stores them (its INSERT; the same rows and columns), in chunks.
        with transaction.atomic():
            for lo in range(0, steps, 50_000):
                items = []
                for i in range(lo, min(steps, lo + 50_000)):
                    start = end - (steps - i) * step
                    value = round(zone.typical_intensity * at(i), 2)
                    items.append((Reading(start, start + step, value), (start + step, value, False, None)))
                _insert(zone, "csv", now, items)
                count += len(items)
            # Hourly forecast issues, each recorded in the zone's ForecastIssue row as
            # store_readings does (the series reads the newest issue there, not by grouping).
            for k in range(issues):
                issued = end.replace(minute=0) - timedelta(hours=issues - 1 - k)
                items = []
                for j in range(ahead):
                    start = issued + j * step
                    truth = zone.typical_intensity * at(steps + j)
                    value = round(truth * (1 + rng.gauss(0, 0.02 + 0.002 * j * step_minutes / 60)), 2)
                    reading = Reading(start, start + step, value, kind="forecast", issued_at=issued)
                    items.append((reading, (start + step, value, False, None)))
                _insert(zone, "csv", now, items)
                remember_issue(zone.pk, "csv", "average", issued, issued, issued + ahead * step)
                count += len(items)
            FetchAttempt.objects.create(
                zone=zone, provider="csv", what="current", at=now, ok=True, readings=1
            )
        bump_data_version(zone.pk)
    t1 = time.perf_counter()

    de = next(z for z in zones if z.code == "DE")
    batch = []
    for n in range(jobs):
        zone = zones[n % len(zones)]
        kind = rng.random()
        if kind < 0.9:  # completed and accounted, over the past year
            done = now - timedelta(minutes=rng.randrange(10, days * 1440))
            kwh = 0.105 + rng.random() * 0.2
            cf = kwh * zone.typical_intensity / 1000
            em = cf * (0.8 + 0.2 * rng.random())
            fields = dict(
                status="completed",
                requested_at=done - timedelta(hours=3),
                planned_start=done - timedelta(hours=1),
                started_at=done - timedelta(hours=1),
                completed_at=done,
                energy_kwh=kwh,
                emissions_kg=em,
                counterfactual_kg=cf,
                saving_kg=cf - em,
                intensity_experienced=em / kwh * 1000,
                counterfactual_intensity=zone.typical_intensity,
                bytes_written=rng.randrange(10, 2000) * 10**9,
            )
        elif kind < 0.97:
            when = now - timedelta(minutes=rng.randrange(10, days * 1440))
            fields = dict(status=rng.choice(["failed", "cancelled"]), requested_at=when, planned_start=when)
        elif kind < 0.975:
            fields = dict(
                status="running",
                requested_at=now - timedelta(minutes=30),
                planned_start=now - timedelta(minutes=5),
                started_at=now - timedelta(minutes=5),
                progress={"percent_complete": rng.randrange(100)},
            )
        else:
            when = now + timedelta(minutes=rng.randrange(1, 48 * 60))
            fields = dict(status="scheduled", requested_at=now - timedelta(minutes=10), planned_start=when)
        zone_for_job = de if n % 7 == 0 else zone
        batch.append(
            BackupJob(
                name=f"vm-{n:05d}",
                vm_path=f"/vms/vm-{n:05d}.qcow2",
                zone=zone_for_job,
                carbon_aware=True,
                earliest_start=fields["requested_at"],
                latest_start=fields["requested_at"] + timedelta(hours=8),
                data_size_gb=rng.randrange(10, 2000),
                **fields,
            )
        )
    BackupJob.objects.bulk_create(batch, batch_size=2000)
    get_user_model().objects.filter(username="bench").exists() or get_user_model().objects.create_superuser(
        "bench", password="bench-password-1"
    )
    print(
        f"loaded {count:,} readings in {t1 - t0:.1f} s, "
        f"{BackupJob.objects.count():,} backups in {time.perf_counter() - t1:.1f} s",
        flush=True,
    )


def measure(runs: int) -> dict[str, dict[str, float]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    from django.core.cache import cache

    results = {}
    for label in PAGES:
        # "/(sparklines not cached)": the overview as the first viewer after a refresh would get it
        # if the workers had not drawn the sparklines (carbon.tiles), the cache emptied each time.
        url, cold = label.partition("(")[0], "(" in label
        response = client.get(url)  # warm-up (template and URL caches, SQLite page cache)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(runs):
            if cold:
                cache.clear()
                client.force_login(get_user_model().objects.get(username="bench"))
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        if cold:
            cache.clear()
            client.force_login(get_user_model().objects.get(username="bench"))
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results[label] = {
            "ms": statistics.median(times) * 1000,
            "max_ms": max(times) * 1000,
            "bytes": len(response.content),
            "gzip": len(gzip.compress(response.content)),
            "queries": len(queries),
        }
    return results


def whatif_figures(runs: int) -> dict[str, float]:
    """The what-if page for DE: a first view of 2 h job / 4 h wait / 90 days not precomputed
    (caches emptied: the answer the page asks for, the distribution computed and the replay handed
    to the workers; wall and CPU time), the replay a worker then computes, the workers' precompute
    of every choice for DE (reports.whatif.warm_zone, no time budget), then the whole page through
    the test client for every choice the form offers (each page `runs` times: the worst choice's
    median)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache, caches
    from django.test import Client
    from django_q.models import OrmQ

    from carbon.models import Zone
    from reports import whatif

    def empty() -> None:
        cache.clear()
        caches["whatif"].clear()

    de = Zone.objects.get(code="DE")
    computed, cpu, replay_cpu = [], [], []
    for _ in range(max(runs, 3)):
        empty()
        started, started_cpu = time.perf_counter(), time.process_time()
        first = whatif.answer(de, 2.0, 4.0, 90, queue_replay=True)
        computed.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert first["replay"] is None and first["replay_queued"] is not None and first["result"].starts
    OrmQ.objects.filter(key=settings.Q_CLUSTER["name"]).delete()  # the handed replays: run below instead
    for _ in range(3):
        empty()
        started_cpu = time.process_time()
        assert whatif.replay(de, 2.0, 4.0) is not None
        replay_cpu.append(time.process_time() - started_cpu)
    empty()
    started, started_cpu = time.perf_counter(), time.process_time()
    answers = whatif.warm_zone(de)
    warm_s, warm_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    medians = {}
    for duration in whatif.DURATIONS:
        for wait in whatif.WAITS:
            for days, _label in whatif.WHATIF_DAYS:
                url = f"/what-if?zone=DE&duration_hours={duration:g}&flexibility_hours={wait:g}&days={days}"
                page = []
                for _ in range(max(runs, 3)):
                    started = time.perf_counter()
                    response = client.get(url)
                    page.append(time.perf_counter() - started)
                    assert response.status_code == 200 and b"median saving" in response.content, url
                medians[url] = statistics.median(page)
    worst = max(medians, key=medians.__getitem__)
    return {
        "computed_ms": statistics.median(computed) * 1000,
        "computed_cpu_ms": statistics.median(cpu) * 1000,
        "replay_cpu_ms": statistics.median(replay_cpu) * 1000,
        "precomputed_pages": len(medians),
        "precomputed_page_ms": statistics.median(medians.values()) * 1000,
        "precomputed_page_max_ms": medians[worst] * 1000,
        "warm_answers": answers,
        "warm_zone_s": warm_s,
        "warm_zone_cpu_s": warm_cpu,
    }


WHATIF_USERS = [(2, 4), (1, 24), (4, 8), (1, 8)]  # (job hours, wait hours): one user each, 90 days


def whatif_users(folder: Path, port: int, rounds: int) -> list[list[float]]:
    """Four users at once, each opening a different what-if choice not precomputed (WHATIF_USERS),
    whole pages through gunicorn as `make run` serves it, signed in with a session cookie; no
    workers run, so each replay is only handed over. A fresh server and emptied caches each round
    (`rounds` times); returns each round's four page times in seconds."""
    import concurrent.futures
    import http.cookiejar
    import urllib.parse
    import urllib.request

    from django.core.cache import cache, caches
    from django.db import connection

    base = f"http://127.0.0.1:{port}"

    def signed_in() -> urllib.request.OpenerDirector:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{base}/login").read()
        token = next(c.value for c in jar if c.name == "csrftoken")
        form = {"username": "bench", "password": "bench-password-1", "csrfmiddlewaretoken": token}
        login = urllib.request.Request(
            f"{base}/login", data=urllib.parse.urlencode(form).encode(), headers={"Referer": f"{base}/login"}
        )
        opener.open(login).read()
        return opener

    def open_page(user: urllib.request.OpenerDirector, choice: tuple[int, int]) -> float:
        url = f"{base}/what-if?zone=DE&duration_hours={choice[0]}&flexibility_hours={choice[1]}&days=90"
        started = time.perf_counter()
        body = user.open(url).read()
        assert b"median saving" in body, url
        return time.perf_counter() - started

    env = dict(os.environ, HYPERWEB_DATA_DIR=str(folder), DEBUG="0")
    results = []
    for _ in range(rounds):
        cache.clear()
        caches["whatif"].clear()
        connection.close()
        with runinfo.gunicorn(port, env):
            users = [signed_in() for _ in WHATIF_USERS]
            with concurrent.futures.ThreadPoolExecutor(len(WHATIF_USERS)) as pool:
                results.append(list(pool.map(open_page, users, WHATIF_USERS)))
    return results


def browser(folder: Path, port: int, runs: int) -> dict[str, dict[str, float]]:
    """bench_pageload's measurement of BROWSER_PAGES (its server, sign-in and loads), `runs` times."""
    import bench_pageload  # benchmarks/, beside this script; it needs Playwright, only --browser does

    with bench_pageload.serve(folder, port) as base, bench_pageload.sync_playwright() as pw:
        chromium = bench_pageload.launch(pw)
        state = bench_pageload.sign_in(chromium, base)
        results = {
            url: bench_pageload.measure_page(chromium, state, base + url, runs, None) for url in BROWSER_PAGES
        }
        chromium.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1095)
    parser.add_argument("--step", type=int, default=5, help="minutes per reading")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--issues", type=int, default=72, help="hourly forecast issues stored per zone")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--browser", action="store_true", help="also measure cold/warm loads in chromium")
    parser.add_argument("--port", type=int, default=8106, help="gunicorn port for --browser")
    parser.add_argument("--keep", type=Path, help="data folder to keep (and reuse when it is already loaded)")
    args = parser.parse_args()
    runinfo.begin()

    folder = args.keep or runinfo.scratch("hyperweb-bench-dashboard-")
    folder.mkdir(parents=True, exist_ok=True)
    reuse = args.keep is not None and (folder / "loaded").exists()
    os.environ["HYPERWEB_DATA_DIR"] = str(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperweb.settings")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.ALLOWED_HOSTS = ["testserver"]
    try:
        call_command("migrate", verbosity=0)
        now = datetime.now(UTC)
        if not reuse:
            load(1, 10, 2, now, args.step)
            small = measure(1)
            (folder / "small.json").write_text(json.dumps(small))
            from carbon.models import CarbonReading
            from scheduler.models import BackupJob

            CarbonReading.objects.all().delete()
            BackupJob.objects.all().delete()
            load(args.days, args.jobs, args.issues, now, args.step)
            (folder / "loaded").touch()
        small = json.loads((folder / "small.json").read_text())
        big = measure(args.runs)
        plotly = ROOT / "static" / "vendor" / "plotly" / "plotly-cartesian.min.js"
        print(
            f"\n{'page':<22}{'median ms':>10}{'max ms':>9}{'KB':>8}{'KB gz':>8}{'queries':>9}{'small db':>10}"
        )
        for url in PAGES:
            r = big[url]
            print(
                f"{url:<22}{r['ms']:>10.0f}{r['max_ms']:>9.0f}{r['bytes'] / 1024:>8.0f}{r['gzip'] / 1024:>8.0f}"
                f"{r['queries']:>9}{small[url]['queries']:>10}"
            )
        raw = plotly.read_bytes()
        print(
            f"\nplotly-cartesian.min.js (static, cached): {len(raw) / 1e6:.2f} MB, "
            f"{len(gzip.compress(raw)) / 1e6:.2f} MB gzipped"
        )
        w = whatif_figures(args.runs)
        print(
            f"\nwhat-if DE 2 h/4 h/90 d first view not precomputed: {w['computed_ms']:.0f} ms "
            f"({w['computed_cpu_ms']:.0f} ms CPU), then its replay in a worker {w['replay_cpu_ms']:.0f} ms CPU; "
            f"the workers' precompute of DE's {w['warm_answers']} answers: {w['warm_zone_s']:.1f} s "
            f"({w['warm_zone_cpu_s']:.1f} s CPU); then each of the {w['precomputed_pages']} choices' page: "
            f"median {w['precomputed_page_ms']:.1f} ms, the slowest choice's median "
            f"{w['precomputed_page_max_ms']:.1f} ms"
        )
        if args.browser:
            connection.close()
            measured = browser(folder, args.port, args.runs)
            print(f"\n{'in chromium':<22}{'cold KB':>9}{'cold ms':>9}{'warm KB':>9}{'warm ms':>9}")
            for url, r in measured.items():
                print(
                    f"{url:<22}{r['cold_bytes'] / 1000:>9.0f}{r['cold_ms']:>9.0f}"
                    f"{r['warm_bytes'] / 1000:>9.1f}{r['warm_ms']:>9.0f}"
                )
            rounds = whatif_users(folder, args.port, 3)
            pages = [t for r in rounds for t in r]
            from django_q.models import OrmQ

            OrmQ.objects.filter(key=settings.Q_CLUSTER["name"]).delete()  # the replays the pages handed over
            print(
                "\nwhat-if, four users at once on choices not precomputed ("
                + ", ".join(f"{d} h/{w} h" for d, w in WHATIF_USERS)
                + ", 90 d), whole pages through gunicorn, 3 rounds: "
                + "; ".join(", ".join(f"{t:.2f}" for t in r) for r in rounds)
                + f" s (median {statistics.median(pages):.2f} s, max {max(pages):.2f} s)"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
