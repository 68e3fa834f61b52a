"""POST /api/login (username + password -> expiring bearer token) and POST /api/logout."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.models import APIToken
from hyperweb.api.errors import api_error
from hyperweb.api.fields import TimestampField, non_blank
from hyperweb.api.timestamps import now_iso
from hyperweb.api.views import APIView


class LoginSerializer(serializers.Serializer):
    username = non_blank(max_length=150)
    password = serializers.CharField(
        min_length=1, max_length=1024, trim_whitespace=False, style={"input_type": "password"}
    )


class LoginResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="send as `Authorization: Bearer <token>`")
    username = serializers.CharField()
    expires_at = TimestampField()
    timestamp = TimestampField()


class LogoutResponseSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"logged out"')
    timestamp = TimestampField()


class LoginView(APIView):
    authentication_classes: list = []  # a login must not depend on (or be refused for) old credentials
    permission_classes = [AllowAny]
    throttled_responses = True  # for the schema: 429
    extra_error_codes = ("401",)  # wrong username or password

    @extend_schema(
        operation_id="login",
        request=LoginSerializer,
        responses=LoginResponseSerializer,
        summary="Get a bearer token",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        """Exchange a username and password for a bearer token that expires after API_TOKEN_HOURS.
        Repeated failures from one address or for one username are refused with 429."""
        data = self.body(LoginSerializer)
        try:
            login = services.login(
                data["username"], data["password"], client_ip=services.client_ip(request.META)
            )
        except services.LoginThrottled as exc:
            error = api_error(429, str(exc))
            error.wait = exc.retry_after
            raise error from None
        except services.LoginFailed as exc:
            raise api_error(401, str(exc)) from None
        return Response(
            {
                "token": login.token,
                "username": login.username,
                "expires_at": login.expires_at,
                "timestamp": now_iso(),
            }
        )


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="logout",
        request=None,
        responses=LogoutResponseSerializer,
        summary="Revoke this bearer token",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        """Revoke the bearer token this request was made with. Other credentials (an API key, a
        browser session) cannot be revoked here: 403."""
        if not isinstance(request.auth, APIToken):
            raise api_error(
                403, "logout revokes a bearer token from POST /api/login; this request did not use one"
            )
        services.logout(request.auth)
        return Response({"status": "logged out", "timestamp": now_iso()})
