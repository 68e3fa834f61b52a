"""API authentication: `X-API-Key`, `Authorization: Bearer <token from POST /api/login>`, and the
browser session (CSRF enforced on unsafe methods by DRF's SessionAuthentication).

A header that is present but wrong is a 401, even where anonymous access is allowed: a caller who
meant to authenticate should hear that it failed, not silently get the anonymous view.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import services


class APIKeyAuthentication(authentication.BaseAuthentication):
    header = "X-API-Key"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
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
    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = request.headers.get("Authorization", "").split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'")
        token = services.token_for_bearer(parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed(
                "invalid, expired or revoked token; POST /api/login for a new one"
            )
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="hyperweb"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The dashboard's login session; DRF checks the CSRF token on unsafe methods."""


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "hyperweb.api.authentication.APIKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key created by an admin (admin site or `manage.py apikey create`).",
        }


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "hyperweb.api.authentication.BearerTokenAuthentication"
    name = "Bearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from POST /api/login; expires after API_TOKEN_HOURS, revoked by POST /api/logout.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "hyperweb.api.authentication.SessionAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The dashboard's login session; unsafe methods also need the X-CSRFToken header.",
        }
