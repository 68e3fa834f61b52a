"""`make run` / scripts/run.sh for real: the banner only once /health answers, the web processes and
the workers working together (a what-if replay a page hands over is computed by a worker and read
back by the web), and Ctrl-C (SIGINT to the foreground process group) stops every process it
started and frees the port (issue 11, item 7).

Own port (HYPERWEB_PORT=8103) and own data folder: nothing shared with a running hyperweb.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from django.conf import settings

from hyperweb.processes import descendants
from hyperweb.processes import gone as _gone

ROOT = Path(settings.BASE_DIR)
HOST, PORT = "127.0.0.1", 8103
BANNER = "hyperweb is running on"
# run.sh's own bound on stopping: STOP_GRACE_SECONDS (8) before it kills what is left, then up to
# 5 s for the groups to go and 10 s for the port to be released; on a quiet machine it takes 3-4 s.
STOP_BUDGET = 8 + 5 + 10


def _listening() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, PORT)) == 0


def _lines(stream, into: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        into.put(line)
    into.put(None)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen, queue.Queue]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        HYPERWEB_PORT=str(PORT),
        HYPERWEB_HOST=HOST,
        HYPERWEB_DATA_DIR=str(tmp_path / "data"),
        DJANGO_SUPERUSER_PASSWORD="run-script-test-password",
        CARBON_DEMO_DAYS="9",  # a week for the what-if replay's model to learn from, and a day more
        WHATIF_PRECOMPUTE="false",  # the replay below must come from the page's own request
        WEB_WORKERS="2",
        Q_WORKERS="2",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    proc = subprocess.Popen(
        ["bash", "scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the test's "terminal"
        # A terminal starts it with Ctrl-C's default action; a suite run from a background job
        # inherits SIGINT ignored, and bash cannot trap a signal ignored on entry.
        preexec_fn=_default_sigint,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    return proc, lines


def _read_until(lines: queue.Queue, text: str, timeout: float) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        if line is None:
            raise AssertionError(f"run.sh ended before {text!r}:\n{''.join(seen)[-4000:]}")
        seen.append(line)
        if text in line:
            return seen


def test_ctrl_c_stops_every_process_and_frees_the_port(tmp_path: Path) -> None:
    assert not _listening(), f"port {PORT} is taken before the test"
    proc, lines = _start(tmp_path)
    started: list[int] = []
    try:
        _read_until(lines, BANNER, 180)
        # The banner comes after the server answers.
        with urllib.request.urlopen(f"http://{HOST}:{PORT}/health", timeout=5) as response:
            assert response.status == 200
        started = descendants(proc.pid)
        assert len(started) >= 6, started  # gunicorn master + workers, qcluster, sentinel, workers...
        _what_if_replay_goes_through_the_workers()
        asked = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        proc.wait(STOP_BUDGET + 15)
        took = time.monotonic() - asked
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in descendants(proc.pid):
            os.kill(pid, signal.SIGKILL)
        left = [pid for pid in started if not _gone(pid)]
        for pid in left:  # never leave the port taken for the next test, even when failing
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert left == [], f"still running after Ctrl-C: {left}"
    assert not _listening(), f"port {PORT} still taken"
    assert took < STOP_BUDGET
    print(f"stopped in {took:.1f} s")
    output = "".join(_drain(lines))
    assert "hyperweb stopped" in output and "is free" in output, output[-3000:]


def _what_if_replay_goes_through_the_workers() -> None:
    """Signed in as the admin: a what-if page hands its replay to the workers (the ORM broker) and
    says so; a worker computes it into the shared file cache, where the page finds it."""
    base = f"http://{HOST}:{PORT}"
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = browser.open(base + "/login", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
    form = f"csrfmiddlewaretoken={token}&username=admin&password=run-script-test-password"
    assert "/login" not in browser.open(base + "/login", data=form.encode(), timeout=10).url
    url = base + "/what-if?zone=DE&duration_hours=1&flexibility_hours=8&days=30"
    first = browser.open(url, timeout=30).read().decode()
    assert "median saving" in first and 'id="replay-pending"' in first, first[-2000:]
    deadline = time.monotonic() + 120
    while 'id="made-worse"' not in (body := browser.open(url, timeout=30).read().decode()):
        assert 'id="replay-pending"' in body and time.monotonic() < deadline, body[-2000:]
        time.sleep(1)
    assert "Without foresight" in body and 'http-equiv="refresh"' not in body


def _drain(lines: queue.Queue) -> list[str]:
    out = []
    while (line := lines.get(timeout=5)) is not None:
        out.append(line)
    return out


def test_it_refuses_to_start_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind((HOST, PORT))
        taken.listen()
        proc, lines = _start(tmp_path)
        output = "".join(_drain(lines))
        assert proc.wait(30) == 1
    assert "already in use" in output
    assert BANNER not in output
