"""The login backend: Django's, reading each request's user with their preferences in the same
query (a join), so the display timezone is read afresh at every request at no extra cost.

settings.AUTHENTICATION_BACKENDS keeps Django's ModelBackend after it only so that sessions
signed in before it existed stay signed in (a session names its backend); a failed password stops
here instead of being hashed a second time by ModelBackend.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


class PreferenceModelBackend(ModelBackend):
    """ModelBackend whose get_user (every request of a signed-in session) joins UserPreference."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            raise PermissionDenied  # authenticate() tries no further backend: one hash per attempt
        return user

    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            user = model._default_manager.select_related("preference").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
