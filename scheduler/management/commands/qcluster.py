"""`manage.py qcluster`: django-q2's worker cluster, which stops promptly when asked.

django-q2 alone stops a cluster by letting each worker finish its task and then every task the
cluster had already fetched: with a backup running, SIGTERM waited for it (15-30 s and more), and
a supervisor or `make run` gave up and killed the parent, orphaning its workers. This command runs
the same cluster, and on SIGTERM or SIGINT asks it to stop exactly as django-q2 does; whatever is
still running Q_STOP_GRACE_SECONDS later (sentinel, workers, pusher, monitor) is killed. A backup cut
short that way is a lost worker, handled as always: its claim is released at once
(scheduler.dispatch.reap_stale_claims sees that this host's worker process is gone) and the job is
retried with its attempts counted; its dot-named temporary never becomes an archive. A second
signal skips the grace. The command overrides django-q2's own (django_q is listed after scheduler
in INSTALLED_APPS) and takes the same options.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django_q.cluster import Cluster
from django_q.management.commands.qcluster import Command as DjangoQCommand

from hyperweb.processes import descendants, gone
from scheduler.dispatch import reap_stale_claims, worker_name

log = logging.getLogger("scheduler.cluster")


class PromptStop:
    """Signal handling for a cluster: stop gracefully, kill what is left after the grace."""

    def __init__(self, cluster: Cluster, grace: float) -> None:
        self.cluster = cluster
        self.grace = grace
        self.deadline: float | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self.deadline is None:
            log.warning(
                "cluster stopping (signal %d); work still running in %g s will be stopped", signum, self.grace
            )
            self.deadline = now + self.grace
            if self.cluster.stop_event is not None:
                # What django-q2's own handler does, but from a thread: multiprocessing's
                # Event.set() waits for every process sleeping on the event to wake, and one that
                # cannot (busy, killed mid-wait) blocked this handler, and the grace with it, for
                # ever. If it never returns, the grace's deadline kills the rest all the same.
                threading.Thread(target=self.cluster.stop_event.set, name="stop-event", daemon=True).start()
        else:
            self.deadline = now  # a second signal: stop at once

    def run_until_stopped(self) -> None:
        sentinel = self.cluster.sentinel
        while sentinel.is_alive():
            if self.deadline is None:
                sentinel.join(0.2)  # returns early when the sentinel ends; signals run in between
                continue
            remaining = self.deadline - time.monotonic()
            if remaining > 0:
                sentinel.join(min(remaining, 0.2))
                continue
            self.kill_the_rest()
            break
        sentinel.join()

    def kill_the_rest(self) -> None:
        left = descendants(os.getpid())
        log.warning("cluster still busy after %g s: stopping %d process(es)", self.grace, len(left))
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.cluster.sentinel.join(5)
        until = time.monotonic() + 5
        while time.monotonic() < until and not all(gone(pid) for pid in left):
            time.sleep(0.02)  # the killed workers are reaped by init, not by us: no event to wait on
        try:
            host = worker_name().rpartition(":")[0]
            released = reap_stale_claims(lost={f"{host}:{pid}" for pid in left})
            if released:
                log.warning(
                    "released %d backup(s) cut short by the stop; they will be retried", len(released)
                )
        except Exception:  # the next cluster's dispatcher reaps them anyway
            log.exception("could not release the claims of the stopped workers")


class Command(DjangoQCommand):
    help = "Starts the django-q2 worker cluster; SIGTERM/SIGINT stop it within Q_STOP_GRACE_SECONDS."

    def handle(self, *args: Any, **options: Any) -> None:
        settings.SECRET_KEY  # noqa: B018 - as django-q2: refuse to start without a signing key
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster = Cluster()
        stopper = PromptStop(cluster, settings.Q_STOP_GRACE_SECONDS)
        # Cluster() installed django-q2's handlers (which block until every task is done): replaced.
        signal.signal(signal.SIGTERM, stopper.on_signal)
        signal.signal(signal.SIGINT, stopper.on_signal)
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
            return
        stopper.run_until_stopped()
        log.info("cluster stopped")
