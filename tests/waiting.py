"""Waiting for something observable in tests (a port, a row, a log line), never a bare sleep.

`wait_for` polls a condition until it holds or a deadline passes; it is the one place in the suite
where a test sleeps between polls. Prefer an event (threading.Event, queue.get(timeout)) when the
code under test can signal one; poll only what lives in another process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, interval: float = 0.2) -> T | None:
    """Poll until predicate() is truthy (returned) or the timeout passes (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)  # between polls of another process's state: nothing to wait on
    return None


def wait_until(predicate: Callable[[], T], timeout: float, message: str, interval: float = 0.1) -> T:
    """Like wait_for, but fails the test with `message` when the condition never holds."""
    value = wait_for(predicate, timeout, interval)
    assert value, f"{message} (waited {timeout:g} s)"
    return value
