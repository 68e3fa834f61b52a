"""The login throttle's counters (accounts.services.check_password): LoginFailure rows in the
database, shared by every process serving it, counted with single UPDATEs, with a Retry-After that
counts down to the end of the window that reached the limit."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.models import LoginFailure
from accounts.services import LoginFailed, LoginThrottled, _failure_keys, _record_failure, check_password
from tests.scheduler.factories import manage, sqlite_site


def _fail(times: int, *, username: str = "carol", ip: str = "10.0.0.1") -> None:
    for _ in range(times):
        with pytest.raises(LoginFailed):
            check_password(username, "wrong", client_ip=ip)


def _windows_age(seconds: int) -> None:
    LoginFailure.objects.update(window_start=F("window_start") - timedelta(seconds=seconds))


@pytest.fixture
def carol(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="carol", password="carol-s3cret-pass")


@pytest.mark.django_db
def test_it_counts_each_failure_against_the_address_and_the_username(carol: Any, settings: Any) -> None:
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 5
    _fail(3)
    assert sorted(LoginFailure.objects.values_list("count", flat=True)) == [3, 3]
    assert {key.split(":")[0] for key in LoginFailure.objects.values_list("key", flat=True)} == {"ip", "user"}
    # Neither the address nor the username is stored in the clear.
    assert not LoginFailure.objects.filter(key__contains="10.0.0.1").exists()
    assert not LoginFailure.objects.filter(key__contains="carol").exists()
    assert check_password("carol", "carol-s3cret-pass", client_ip="10.0.0.1") == carol


@pytest.mark.django_db
def test_the_counters_are_not_in_the_process_cache(carol: Any, settings: Any) -> None:
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 3
    _fail(3)
    cache.clear()  # what another web process (its own local-memory cache) would see
    with pytest.raises(LoginThrottled):
        check_password("carol", "carol-s3cret-pass", client_ip="10.0.0.1")


@pytest.mark.django_db
def test_retry_after_counts_down_to_the_end_of_the_window(carol: Any, settings: Any) -> None:
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 2
    _fail(2)
    with pytest.raises(LoginThrottled) as first:
        check_password("carol", "carol-s3cret-pass", client_ip="10.0.0.1")
    assert 58 <= first.value.retry_after <= 60
    assert f"try again in {first.value.retry_after} s" in str(first.value)
    _windows_age(45)
    with pytest.raises(LoginThrottled) as later:
        check_password("carol", "carol-s3cret-pass", client_ip="10.0.0.1")
    assert 13 <= later.value.retry_after <= 15
    _windows_age(16)  # the minute has passed: the right password works, the windows are gone
    assert check_password("carol", "carol-s3cret-pass", client_ip="10.0.0.1") == carol
    _fail(1, username="someone-else", ip="10.0.0.2")  # a failure clears ended windows
    assert LoginFailure.objects.count() == 2


@pytest.mark.django_db
def test_a_failure_after_the_window_starts_a_new_one(carol: Any, settings: Any) -> None:
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 3
    _fail(2)
    _windows_age(61)
    _fail(2)  # would be 4 in one window; it is 2 in a new one
    assert sorted(LoginFailure.objects.values_list("count", flat=True)) == [2, 2]
    assert check_password("carol", "carol-s3cret-pass", client_ip="10.0.0.1") == carol


def _shell(env: dict[str, str], code: str) -> str:
    return manage(env, "shell", "--no-imports", "-c", code)


def test_failures_in_separate_processes_count_together(tmp_path: Path) -> None:
    """Three `manage.py shell` processes on one site (as gunicorn's workers share its database):
    two failures in each of the first two are four, the limit, so the third is refused even the
    right password. With counters in each process's memory it would have been let in."""
    env = sqlite_site(tmp_path, API_LOGIN_ATTEMPTS_PER_MINUTE="4")
    fail_twice = (
        "from accounts.services import LoginFailed, check_password\n"
        "for _ in range(2):\n"
        "    try:\n"
        "        check_password('dora', 'wrong', client_ip='10.1.1.1')\n"
        "    except LoginFailed:\n"
        "        print('failed')\n"
    )
    create = (
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.create_user('dora', password='dora-s3cret-pass')\n"
    )
    assert _shell(env, create + fail_twice).split() == ["failed", "failed"]
    assert _shell(env, fail_twice).split() == ["failed", "failed"]
    answer = _shell(
        env,
        (
            "from accounts.services import LoginThrottled, check_password\n"
            "try:\n"
            "    print('let in', check_password('dora', 'dora-s3cret-pass', client_ip='10.2.2.2'))\n"
            "except LoginThrottled as refused:\n"
            "    print('refused', refused.retry_after)\n"
        ),
    )
    assert answer.split()[0] == "refused" and 0 < int(answer.split()[1]) <= 60, answer


@pytest.mark.django_db(transaction=True)
def test_failures_at_the_same_moment_all_count() -> None:
    """Six logins failing five times each, started together on their own connections, the first
    of them opening the window at once: all 30 failures are counted, on both keys."""
    now, keys = timezone.now(), _failure_keys("10.3.3.3", "erin")
    start, errors = threading.Barrier(6), []

    def fail() -> None:
        try:
            start.wait()
            for _ in range(5):
                _record_failure(keys, now)
        except Exception as error:  # reported below: a thread's exception would vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=fail) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(LoginFailure.objects.values_list("count", flat=True)) == [30, 30]
