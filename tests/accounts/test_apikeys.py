"""API keys: created by admins (command and admin site), shown once, stored hashed, revocable."""

from __future__ import annotations

import base64
import io
import json
import re
import zlib
from urllib.parse import unquote

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import APIKey, digest


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("apikey", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_the_command_creates_a_key_prints_it_once_and_stores_only_its_hash(operator_user):
    out, err = run("create", "--user", operator_user.username, "--name", "cron on host7")
    plain = out.strip()
    key = APIKey.objects.get()
    assert plain.startswith(key.prefix) and key.hashed_key == digest(plain)
    assert "shown only once" in err and "operator" in err
    assert plain not in run("list")[0]
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=plain)
    assert client.get("/status").status_code == 200


@pytest.mark.django_db
def test_the_command_lists_and_revokes_keys(viewer_user):
    run("create", "--user", viewer_user.username, "--name", "one")
    key = APIKey.objects.get()
    listing = run("list")[0]
    assert key.prefix in listing and "never" in listing and "active" in listing
    run("revoke", key.prefix)
    key.refresh_from_db()
    assert key.revoked
    assert key.prefix not in run("list")[0]
    assert "revoked" in run("list", "--all")[0]


@pytest.mark.django_db
def test_the_command_refuses_unknown_users_and_keys():
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        run("create", "--user", "ghost", "--name", "x")
    with pytest.raises(CommandError, match="no API key"):
        run("revoke", "hwk_nothing")


@pytest.mark.django_db
def test_the_admin_creates_a_key_and_shows_it_once(admin_client, viewer_user):
    response = admin_client.post(
        "/admin/accounts/apikey/add/", {"name": "dashboard export", "user": viewer_user.pk}
    )
    # Shown in this response (not after a redirect), and the page is not kept by any cache.
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = APIKey.objects.get(name="dashboard export")
    page = response.content.decode()
    assert "copy it now" in page
    plain = re.search(r'value="(hwk_[^"]+)"', page).group(1)
    assert digest(plain) == key.hashed_key
    assert str(viewer_user) in page
    later = admin_client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert plain not in later and key.hashed_key not in later
    assert plain not in admin_client.get("/admin/accounts/apikey/").content.decode()


def _readable(value: str) -> str:
    """A cookie's value as anyone holding it can read it: a signed value is base64 of (possibly
    zlib-compressed) JSON followed by its signature, which protects it from change, not reading."""
    value = unquote(value).strip('"')
    payload = value.split(":", 1)[0]
    compressed = payload.startswith(".")
    try:
        data = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
        decoded = (zlib.decompress(data) if compressed else data).decode("utf-8", "replace")
    except (ValueError, zlib.error):
        decoded = ""
    return value + "\n" + decoded


@pytest.mark.django_db
def test_the_admin_never_stores_a_new_key_client_side_or_in_the_session(admin_client, viewer_user):
    response = admin_client.post(
        "/admin/accounts/apikey/add/", {"name": "cookie check", "user": viewer_user.pk}
    )
    if response.status_code == 302:  # (how it was: the key in a message shown after a redirect)
        shown = admin_client.get(response["Location"]).content.decode()
    else:
        shown = response.content.decode()
    plain = re.search(r"hwk_[A-Za-z0-9_\-]{20,}", shown).group(0)
    secret = plain[len("hwk_") :]
    # No cookie the browser received carries the key (Django's messages cookie is signed, not
    # encrypted: anything in it is readable).
    for cookie in response.cookies.values():
        readable = _readable(cookie.value)
        assert secret not in readable, cookie.key
        assert "API key" not in readable, cookie.key
    # Nor does the server-side session keep it (it would outlive the page).
    for session in Session.objects.all():
        assert secret not in json.dumps(session.get_decoded())


def test_messages_never_travel_in_a_cookie():
    from django.conf import settings

    assert settings.MESSAGE_STORAGE == "django.contrib.messages.storage.session.SessionStorage"


@pytest.mark.django_db
def test_the_admin_revokes_keys_in_bulk(admin_client, viewer_user):
    key, _ = APIKey.create_for(viewer_user, "old")
    admin_client.post(
        "/admin/accounts/apikey/", {"action": "revoke_keys", "_selected_action": [key.pk]}, follow=True
    )
    key.refresh_from_db()
    assert key.revoked


@pytest.mark.django_db
def test_it_exits_2_with_one_line_on_an_unknown_user_or_key():
    for args in (
        ("create", "--user", "ghost", "--name", "x"),
        ("revoke", "hwk_nothing"),
        ("revoke", "9" * 30),  # a number too long to be an id: not found, not a database overflow
    ):
        with pytest.raises(CommandError) as caught:
            run(*args)
        assert caught.value.returncode == 2 and "\n" not in str(caught.value)
