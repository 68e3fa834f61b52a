"""Dashboard plumbing shared by every page: login, logout and the role check.

Pages are login-only; what a user may see and do follows accounts.roles. An authenticated user
without the role a page needs (an "outsider", or a viewer posting an operator action) gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.roles import has_role

View = Callable[..., HttpResponse]


def role_required(role: str) -> Callable[[View], View]:
    """Anonymous users go to the login page; signed-in users without `role` get a 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, role):
                raise PermissionDenied(f"this page needs the {role} role")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): the navigation's "Log out" button is a small form."""
