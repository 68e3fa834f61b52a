"""API keys: created by admins (command and admin site), shown once, stored hashed, revocable."""

from __future__ import annotations

import io

import pytest
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
        "/admin/accounts/apikey/add/", {"name": "dashboard export", "user": viewer_user.pk}, follow=True
    )
    assert response.status_code == 200
    key = APIKey.objects.get(name="dashboard export")
    shown = [str(m) for m in response.context["messages"] if "copy it now" in str(m)]
    assert len(shown) == 1
    plain = next(word for word in shown[0].split() if word.startswith("hwk_"))
    assert digest(plain) == key.hashed_key
    page = admin_client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert plain not in page and key.hashed_key not in page


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
