"""`manage.py apikey create --user U --name N | list [--user U] [--all] | revoke PREFIX_OR_ID`."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import APIKey
from accounts.roles import role_of
from hyperweb.lib.timefmt import format_utc

BAD_INPUT = 2  # exit status for a bad argument, as every hyperweb command uses


class Command(BaseCommand):
    help = "Create (shown once), list and revoke API keys for the X-API-Key header."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key and print it once")
        create.add_argument("--user", required=True, help="username the key acts as")
        create.add_argument("--name", required=True, help="what the key is for")
        listing = sub.add_parser("list", help="list keys (never the secrets)")
        listing.add_argument("--user", help="only this user's keys")
        listing.add_argument("--all", action="store_true", help="include revoked keys")
        revoke = sub.add_parser("revoke", help="revoke a key by its prefix or id")
        revoke.add_argument("key", help="the key's prefix (e.g. hwk_Ab12Cd34) or numeric id")

    def handle(self, *args: object, action: str, **options: object) -> None:
        getattr(self, f"_{action}")(**options)

    def _create(self, user: str, name: str, **_: object) -> None:
        try:
            owner = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {user!r}", returncode=BAD_INPUT) from None
        key, plain = APIKey.create_for(owner, name)
        role = role_of(owner) or "no role: the key will be refused until the user gets one"
        self.stderr.write(f"Created API key {key.prefix}... for {owner} ({role}). It is shown only once:")
        self.stdout.write(plain)

    def _list(self, user: str | None = None, all: bool = False, **_: object) -> None:
        keys = APIKey.objects.select_related("user").order_by("created")
        if user:
            keys = keys.filter(user__username=user)
        if not all:
            keys = keys.filter(revoked_at__isnull=True)
        for key in keys:
            used = format_utc(key.last_used_at, "seconds") if key.last_used_at else "never"
            state = f"revoked {format_utc(key.revoked_at, 'seconds')}" if key.revoked_at else "active"
            self.stdout.write(f"{key.pk}\t{key.prefix}\t{key.user}\t{key.name}\tlast used {used}\t{state}")

    def _revoke(self, key: str, **_: object) -> None:
        matches = (
            APIKey.objects.filter(pk=int(key))
            if key.isdigit() and len(key) < 19  # a longer number is no id (and overflows SQLite)
            else APIKey.objects.filter(prefix=key.rstrip("."))
        )
        found = list(matches[:2])
        if not found:
            raise CommandError(f"no API key {key!r}", returncode=BAD_INPUT)
        if len(found) > 1:
            raise CommandError(
                f"{key!r} matches several keys; use the numeric id from `apikey list`", returncode=BAD_INPUT
            )
        found[0].revoke()
        self.stdout.write(f"Revoked {found[0]}")
