"""What every benchmark prints beside its figures, the scratch folders it cleans up, and the web server.

A figure is only comparable with the commit it measured and how busy the machine was, so each
benchmark prints `describe()` when it starts and when it ends. `scratch()` gives a temporary
folder that is removed when the process exits, however it exits (a finished run, an assertion, a
Ctrl-C), so repeated runs leave nothing in /tmp. `gunicorn()` serves hyperweb as `make run` does for
the benchmarks that measure over HTTP.
"""

from __future__ import annotations

import atexit
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commit() -> str:
    """The checked-out commit, with "+changes" when the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit (not a git checkout)"
    return f"{head}+changes" if dirty else head


def describe() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"commit {commit()}; load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}"
    )


def scratch(prefix: str) -> Path:
    """A new temporary folder, removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def begin() -> None:
    """Print the commit and load average now, and again when the process exits."""
    print(f"# start: {describe()}", flush=True)
    atexit.register(lambda: print(f"# end: {describe()}", flush=True))


@contextmanager
def gunicorn(port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """hyperweb served by gunicorn on 127.0.0.1:`port` as `make run` serves it (2 workers x 4
    threads) with the environment `env`, once it answers /health (a minute at most); stopped on
    leaving."""
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "hyperweb.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
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
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)
