"""Shared fixtures. Scale-out tests need PostgreSQL and Redis; .ci/run provides them."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from pytest_django.plugin import blocking_manager_key

# In CI, property tests draw the same examples every run (a submission's result must not depend
# on luck); elsewhere hypothesis explores new examples each time.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

SCALEOUT = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))


@pytest.fixture(autouse=True, scope="session")
def _plain_static_names() -> Any:
    """Tests render `{% static %}` with plain names served from the app folders, whatever an
    earlier `make run` left in var/static (a manifest there would point at hashed copies the test
    server does not serve). tests/hyperweb/test_static_files.py runs the hashed, compressed path."""
    from django.conf import settings
    from django.test import override_settings

    plain = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=plain):
        yield


def pytest_configure(config: pytest.Config) -> None:
    # Tests log personas in with passwords; PBKDF2's deliberate slowness (~0.3 s a hash) buys the
    # suite nothing. Subprocesses started by tests (qcluster, run.sh) keep the product's hasher.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The what-if answers' file cache in a folder of this test process (the two xdist processes and
    # a `make run` in the same checkout each have their own); with REDIS_URL it is Redis.
    if settings.CACHES["whatif"]["BACKEND"].endswith("FileBasedCache"):
        settings.CACHES["whatif"]["LOCATION"] = tempfile.mkdtemp(prefix="hyperweb-test-whatif-")


def pytest_unconfigure(config: pytest.Config) -> None:
    from django.conf import settings

    location = settings.CACHES["whatif"].get("LOCATION", "")
    if "hyperweb-test-whatif-" in location:
        shutil.rmtree(location, ignore_errors=True)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: answers cached under a zone's data version (status,
    what-if) must not carry over from another test's data."""
    from django.core.cache import cache, caches

    cache.clear()
    caches["whatif"].clear()


_TRANSACTIONAL = pytest.StashKey[str]()  # the test database a transactional test ran on


def _restore_reference_data() -> None:
    from accounts.roles import ensure_roles
    from carbon.models import Zone
    from carbon.zones import load_default_zones

    ensure_roles()
    load_default_zones(Zone)


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request: pytest.FixtureRequest) -> None:
    """Put back what the data migrations loaded, around transactional tests.

    A transactional test (live_server, `transaction=True`) ends by flushing every table, which
    empties what the data migrations filled (the 12 zones); the role groups come back by
    themselves (post_migrate). Each transactional test therefore starts by restoring the zones,
    and restores them again once its flush is done (pytest_runtest_teardown below), so test order
    never matters: a plain test that runs after a transactional one (pytest-xdist hands out whole
    files, whatever kinds of test they hold) finds the migrated data too. (serialized_rollback is
    not used: mixed with plain transactional tests it re-inserts rows that post_migrate already
    re-created.)
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or (marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from django.db import connection

    request.node.stash[_TRANSACTIONAL] = connection.settings_dict["NAME"]
    _restore_reference_data()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    yield  # every fixture is torn down here: a transactional test's flush is done
    # After the last test (nextitem None) the test database itself is gone: nothing to restore,
    # and never anything to write to another database than the test's.
    tested_on = item.stash.get(_TRANSACTIONAL, None)
    if tested_on is None or nextitem is None:
        return
    from django.db import connection

    if connection.settings_dict["NAME"] == tested_on:
        with item.config.stash[blocking_manager_key].unblock():
            _restore_reference_data()


# Files that take most of the suite's wall time (a live server or real clusters, waiting on
# them). In two processes (scripts/test.sh: pytest-xdist hands out whole files in collection
# order) they are handed out first, so the other process runs the rest meanwhile instead of one of
# them ending the run alone.
LONGEST_FILES = ("tests/api/test_schemathesis.py", "tests/scheduler/test_restart.py")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.nodeid.split("::")[0] not in LONGEST_FILES)  # stable
    # Scale-out tests run in .ci/run's second pass (DATABASE_URL + REDIS_URL); on the embedded
    # SQLite pass they are deselected, and the count is printed so nothing hides silently.
    if SCALEOUT:
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("scaleout") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# --- Personas and per-role API clients ------------------------------------------------------------
# admin_user is pytest-django's superuser (= the admin role); the others are plain users in one
# role group each; outsider_user is authenticated but in no role. Each *_api client sends that
# persona's X-API-Key, as integrations do.


def _user_with_role(django_user_model, username: str, role: str | None):
    from accounts.roles import set_role

    # No password (hashing one costs ~0.3 s); these personas use API keys. Login tests set one.
    user = django_user_model.objects.create_user(username=username)
    set_role(user, role)
    return user


@pytest.fixture
def operator_user(db, django_user_model):
    return _user_with_role(django_user_model, "olivia-operator", "operator")


@pytest.fixture
def viewer_user(db, django_user_model):
    return _user_with_role(django_user_model, "victor-viewer", "viewer")


@pytest.fixture
def outsider_user(db, django_user_model):
    return _user_with_role(django_user_model, "oscar-outsider", None)


@pytest.fixture
def api_key_for(db):
    """api_key_for(user, name="tests") -> the plain X-API-Key for a new key of that user."""
    from accounts.models import APIKey

    def make(user, name: str = "tests") -> str:
        return APIKey.create_for(user, name)[1]

    return make


def _api_client(key: str | None):
    from rest_framework.test import APIClient

    client = APIClient()
    if key:
        client.credentials(HTTP_X_API_KEY=key)
    return client


@pytest.fixture
def admin_api(admin_user, api_key_for):
    return _api_client(api_key_for(admin_user))


@pytest.fixture
def operator_api(operator_user, api_key_for):
    return _api_client(api_key_for(operator_user))


@pytest.fixture
def viewer_api(viewer_user, api_key_for):
    return _api_client(api_key_for(viewer_user))


@pytest.fixture
def outsider_api(outsider_user, api_key_for):
    return _api_client(api_key_for(outsider_user))


@pytest.fixture
def anon_api(db):
    return _api_client(None)


@pytest.fixture
def workers_inline(monkeypatch):
    """django-q2's sync mode. Its inline worker sends post_spawn for every task, which would run
    the scheduler's worker start-up (re-dispatch everything due) inside each task: that belongs
    to a process starting, not to a task, so it is left out here."""
    from django_q.conf import Conf
    from django_q.signals import post_spawn

    from scheduler.tasks import on_worker_start

    monkeypatch.setattr(Conf, "SYNC", True)
    post_spawn.disconnect(dispatch_uid="scheduler.on_worker_start")
    yield
    post_spawn.connect(on_worker_start, dispatch_uid="scheduler.on_worker_start")
