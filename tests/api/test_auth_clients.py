"""Authentication as HyperSDK's clients send it: an API key as `Authorization: Bearer <key>` as
well as `X-API-Key`, login tokens still as Bearer (issue 10, item 3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import APIKey, APIToken, digest
from accounts.roles import set_role
from tests.api.test_conventions import assert_error


def bearer(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
    return client


@pytest.mark.django_db
def test_it_accepts_an_api_key_as_a_bearer_credential_and_records_its_use(viewer_user, api_key_for):
    plain = api_key_for(viewer_user)
    response = bearer(plain).get("/status")
    assert response.status_code == 200, response.content
    assert APIKey.objects.get(user=viewer_user).last_used_at is not None


@pytest.mark.django_db
def test_it_gives_a_bearer_key_its_users_role_and_no_more(viewer_user, operator_user, api_key_for):
    job = {"name": "vm1", "vm_path": "/vms/vm1", "output_path": "/backups/vm1"}
    assert_error(bearer(api_key_for(viewer_user)).post("/jobs/submit", job, format="json"), 403, "operator")
    assert bearer(api_key_for(operator_user)).get("/jobs/query").status_code == 200


@pytest.mark.django_db
def test_it_refuses_a_wrong_revoked_or_orphaned_key_sent_as_bearer(viewer_user, api_key_for):
    plain = api_key_for(viewer_user)
    assert_error(bearer(plain + "x").get("/status"), 401, "invalid, expired or revoked token or API key")
    APIKey.objects.get(user=viewer_user).revoke()
    assert_error(bearer(plain).get("/status"), 401)

    other = api_key_for(viewer_user, "second")
    viewer_user.is_active = False
    viewer_user.save()
    assert_error(bearer(other).get("/status"), 401)


@pytest.mark.django_db
def test_it_still_takes_login_tokens_as_bearer_even_one_that_looks_like_a_key(django_user_model):
    user = django_user_model.objects.create_user(username="tess", password="tess-s3cret-pass")
    set_role(user, "viewer")
    login = (
        APIClient()
        .post("/api/login", {"username": "tess", "password": "tess-s3cret-pass"}, format="json")
        .json()
    )
    assert bearer(login["token"]).get("/status").status_code == 200

    # A token is random text and may start like a key: it is still found as a token.
    lookalike = "hwk_" + "A" * 40
    APIToken.objects.create(
        user=user, hashed_token=digest(lookalike), expires_at=timezone.now() + timedelta(hours=1)
    )
    assert bearer(lookalike).get("/status").status_code == 200


@pytest.mark.django_db
def test_it_refuses_to_log_out_a_key_sent_as_bearer(viewer_user, api_key_for):
    plain = api_key_for(viewer_user)
    assert_error(bearer(plain).post("/api/logout"), 403, "bearer token")
    assert bearer(plain).get("/status").status_code == 200  # the key is untouched


@pytest.mark.django_db
def test_it_documents_the_key_as_a_bearer_credential(client):
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert "API key" in schemes["Bearer"]["description"]
    assert schemes["ApiKey"]["name"] == "X-API-Key"
