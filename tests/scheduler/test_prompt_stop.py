"""The cluster's stop signal handler never blocks, even when django-q2's stop event does.

multiprocessing's Event.set() waits for every process sleeping on the event to acknowledge; a
sentinel that cannot (busy, stopped, killed mid-wait) kept `make run`'s Ctrl-C waiting for ever
(seen in the suite: run.sh still running 38 s after Ctrl-C, its cluster stuck in that set()).
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from scheduler.management.commands.qcluster import PromptStop


class StuckEvent:
    """A stop event whose set() blocks until released, like a multiprocessing Event whose
    sleeper never wakes."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()

    def set(self) -> None:
        self.asked.set()
        self.release.wait(30)


def test_it_returns_from_the_signal_at_once_and_still_asks_the_cluster_to_stop() -> None:
    event = StuckEvent()
    stopper = PromptStop(SimpleNamespace(stop_event=event), grace=5)  # type: ignore[arg-type]
    started = time.monotonic()
    stopper.on_signal(15, None)
    took = time.monotonic() - started
    try:
        assert took < 0.5, f"the signal handler blocked for {took:.1f} s"
        assert event.asked.wait(5), "the cluster was never asked to stop"
        assert stopper.deadline is not None and stopper.deadline <= started + 5 + took
        stopper.on_signal(15, None)  # a second signal: stop at once, still without blocking
        assert stopper.deadline <= time.monotonic()
    finally:
        event.release.set()
