"""The what-if page says what its figures cover: how many days of the chosen history are stored,
and, while the replay is with the workers, the days it will replay (the same it then shows)."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from tests.dashboard.test_pages import _queued_tasks


def test_a_history_longer_than_the_stored_data_says_how_many_days_it_holds(viewer: Client, now: Any) -> None:
    from carbon.services import load_demo_data

    load_demo_data(days=20, now=now)
    body = viewer.get("/what-if?zone=FR&duration_hours=2&flexibility_hours=4&days=90").content.decode()
    assert 'id="history-held"' in body
    held = re.search(r'id="history-held"[^>]*>(.*?)</p>', body, re.S)
    assert held and "has only 19 days of the last 90 stored" in held.group(1), held and held.group(1)
    full = viewer.get("/what-if?zone=FR&duration_hours=2&flexibility_hours=4&days=30").content.decode()
    assert "has only 19 days of the last 30 stored" in full


def test_the_waiting_message_names_the_days_the_replay_then_shows(viewer: Client, now: Any) -> None:
    from carbon.services import load_demo_data
    from reports import tasks

    load_demo_data(days=30, now=now)
    _queued_tasks()
    url = "/what-if?zone=FR&duration_hours=2&flexibility_hours=4&days=30"
    waiting = viewer.get(url).content.decode()
    said = re.search(r"replaying hyperweb's planner over the last (\d+) days", waiting)
    assert said, re.search(r'id="replay-pending"[^>]*>(.*?)</p>', waiting, re.S)
    assert "over the last 30 days" not in waiting
    handed = _queued_tasks()
    tasks.compute_replay(*handed[0]["args"])
    done = viewer.get(url).content.decode()
    shown = re.search(r"Replaying the last (\d+) days", done)
    assert shown and shown.group(1) == said.group(1)
