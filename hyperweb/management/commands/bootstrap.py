"""Prepare a fresh or existing installation: admin account, demo data, schedules. Idempotent."""

from __future__ import annotations

import os
import secrets
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.roles import ensure_roles
from carbon import services as carbon_services
from hyperweb import schedules
from scheduler import services as scheduler_services
from scheduler.executors.demo import create_demo_vms
from scheduler.executors.file import cleanup_stale_temporaries
from scheduler.models import BackupPolicy
from scheduler.services.demo import demo_lifecycle

DEMO_POLICY = {
    "name": "Nightly demo VMs",
    "description": "Demo: backs up the demo web server image every night, in the cleanest hours "
    "of the 8 h after 22:00 UTC on the German grid (simulated data).",
    "schedule": "0 22 * * *",
    "window_start": "22:00",
    "window_hours": 8,
    "zone": "DE",
    "job_template": {"vm_path": "web-01.qcow2", "name": "nightly web-01"},
    "tags": ["demo"],
}


class Command(BaseCommand):
    help = "Create the admin account (password printed once), demo data and the worker schedules."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default=os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin"))
        parser.add_argument("--no-demo", action="store_true", help="skip the simulated demo data and VMs")

    def handle(self, *args, username: str, no_demo: bool, **options) -> None:
        ensure_roles()
        if not no_demo:
            self._demo_data()
        schedules.register_all()
        # Temporaries of backups that died with their worker (the dispatcher also removes them
        # when it reaps such a backup).
        cleanup_stale_temporaries(settings.BACKUP_TARGET_ROOT, older_than=settings.BACKUP_STALE_SECONDS)
        self.stdout.write("Worker schedules registered (zone refresh, backup dispatch, re-planning, alerts).")
        self._ensure_admin(username)

    def _demo_data(self) -> None:
        started = time.monotonic()
        self.stdout.write(
            f"Loading demo data: {settings.CARBON_DEMO_DAYS} days of simulated history and the forecast "
            "for every zone..."
        )
        created = carbon_services.load_demo_data()
        self.stdout.write(f"  {created} new simulated readings ({time.monotonic() - started:.1f} s)")
        vms = create_demo_vms(settings.BACKUP_SOURCE_ROOTS[0])
        self.stdout.write(f"  {len(vms)} demo VM images in {settings.BACKUP_SOURCE_ROOTS[0]}")
        if not BackupPolicy.objects.filter(name=DEMO_POLICY["name"]).exists():
            scheduler_services.save_policy(BackupPolicy(), DEMO_POLICY)
            self.stdout.write(f"  recurring backup {DEMO_POLICY['name']!r} (see /policies)")
        made = demo_lifecycle(BackupPolicy.objects.get(name=DEMO_POLICY["name"]))
        if made:
            self.stdout.write(
                f"  {len(made)} demo backups made (restorable; the newest verified; retention keeps the last 2)"
            )

    def _ensure_admin(self, username: str) -> None:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Admin account {username!r} exists (its password was printed when created).")
            return
        given = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        password = given or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        shown = "(password from DJANGO_SUPERUSER_PASSWORD)" if given else f"password: {password}"
        self.stdout.write(self.style.SUCCESS(f"Created admin account: {username}  {shown}"))
        if not given:
            self.stdout.write("This password is shown only once; change it at /admin/password_change/.")
