"""Dashboard fixtures: personas (admin, operator, viewer, outsider), demo data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.roles import ADMIN, OPERATOR, VIEWER, set_role
from scheduler.models import BackupJob

PASSWORD = "correct horse battery staple"


def _user(username: str, role: str | None, **extra: Any) -> Any:
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    set_role(user, role)
    return user


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_user(db: None) -> Any:
    return _user("alice", ADMIN, is_staff=True)


@pytest.fixture
def operator_user(db: None) -> Any:
    return _user("oscar", OPERATOR)


@pytest.fixture
def viewer_user(db: None) -> Any:
    return _user("vera", VIEWER)


@pytest.fixture
def outsider_user(db: None) -> Any:
    return _user("otto", None)


@pytest.fixture
def admin(admin_user: Any) -> Client:
    return _client(admin_user)


@pytest.fixture
def operator(operator_user: Any) -> Client:
    return _client(operator_user)


@pytest.fixture
def viewer(viewer_user: Any) -> Client:
    return _client(viewer_user)


@pytest.fixture
def outsider(outsider_user: Any) -> Client:
    return _client(outsider_user)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def demo_data(db: None, now: datetime) -> None:
    """Two days of simulated history and the forecast for every default zone."""
    from carbon.services import load_demo_data

    load_demo_data(days=2, now=now)


def make_job(zone: Any = None, **fields: Any) -> BackupJob:
    """A stored job with sensible defaults (tests set only what they are about)."""
    now = fields.pop("now", datetime.now(UTC))
    values: dict[str, Any] = {
        "name": "web-01 nightly",
        "vm_path": "/vms/web-01.qcow2",
        "zone": zone,
        "carbon_aware": True,
        "requested_at": now,
        "earliest_start": now,
        "latest_start": now + timedelta(hours=4),
        "expected_duration": timedelta(hours=1),
        "data_size_gb": 100.0,
        "status": BackupJob.Status.SCHEDULED,
        "planned_start": now + timedelta(hours=2),
    }
    values.update(fields)
    return BackupJob.objects.create(**values)


def completed_job(
    zone: Any, *, when: datetime, emitted: float, counterfactual: float, **fields: Any
) -> BackupJob:
    return make_job(
        zone,
        now=when - timedelta(hours=3),
        status=BackupJob.Status.COMPLETED,
        planned_start=when - timedelta(hours=1),
        started_at=when - timedelta(hours=1),
        completed_at=when,
        energy_kwh=0.105,
        intensity_experienced=emitted / 0.105 * 1000,
        emissions_kg=emitted,
        counterfactual_intensity=counterfactual / 0.105 * 1000,
        counterfactual_kg=counterfactual,
        saving_kg=counterfactual - emitted,
        bytes_written=50 * 10**9,
        **fields,
    )


def sign_in(page: Any, base: str, username: str = "admin") -> None:
    """Sign in through the login form in a Playwright page; returns on the overview."""
    page.goto(base + "/login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
