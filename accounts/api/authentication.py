"""API authentication: `X-API-Key`, `Authorization: Bearer <token from POST /api/login>` or
`Authorization: Bearer <API key>` (HyperSDK's clients send keys that way), and the browser session
(CSRF enforced on unsafe methods by DRF's SessionAuthentication).

A header that is present but wrong is a 401, even where anonymous access is allowed: a caller who
meant to authenticate should hear that it failed, not silently get the anonymous view.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import services
from accounts.models import KEY_PREFIX, APIKey, APIToken


class APIKeyAuthentication(authentication.BaseAuthentication):
    header = "X-API-Key"

    def authenticate(self, request: Request) -> tuple[User, APIKey] | None:
        plain = request.headers.get(self.header)
        if plain is None:
            return None
        key = services.user_for_api_key(plain.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        # Any value makes DRF answer 401 (not 403) to an unauthenticated call.
        return 'ApiKey realm="hyperweb", header="X-API-Key"'


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """A login token, or an API key: keys always start with KEY_PREFIX, so a value with that prefix
    is looked up as a key first, then (a token may happen to start so too) as a login token."""

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[User, APIKey | APIToken] | None:
        parts = request.headers.get("Authorization", "").split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token or API key>'")
        plain = parts[1]
        if plain.startswith(KEY_PREFIX):
            key = services.user_for_api_key(plain)
            if key is not None:
                return key.user, key
        token = services.token_for_bearer(plain)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "invalid, expired or revoked token or API key; POST /api/login for a new token"
            )
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="hyperweb"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The dashboard's login session; DRF checks the CSRF token on unsafe methods."""


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.APIKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key created by an admin (admin site or `manage.py apikey create`).",
        }


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.BearerTokenAuthentication"
    name = "Bearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A token from POST /api/login (expires after API_TOKEN_HOURS, revoked by POST /api/logout), "
                "or an API key (hwk_...) sent the way HyperSDK's clients send it."
            ),
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.SessionAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The dashboard's login session; unsafe methods also need the X-CSRFToken header.",
        }
