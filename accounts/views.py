"""Page plumbing shared by every app's pages (login, logout and the role checks) and the
preferences page, where each signed-in user chooses the timezone pages show times in.

Pages are login-only; what a user may see and do follows accounts.roles. An authenticated user
without the role a page needs (an "outsider", or a viewer posting an operator action) gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import services as accounts
from accounts.forms import PreferencesForm
from accounts.models import KEY_PREFIX, APIKey, APIToken
from accounts.preferences import save_timezone, timezone_of
from accounts.roles import VIEWER, has_role
from hyperweb.api.errors import error_body

View = Callable[..., HttpResponseBase]  # HttpResponse, or a StreamingHttpResponse for downloads


def role_required(role: str) -> Callable[[View], View]:
    """Anonymous users go to the login page; signed-in users without `role` get a 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, role):
                raise PermissionDenied(f"this page needs the {role} role")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def download_role_required(role: str) -> Callable[[View], View]:
    """role_required for file downloads (CSV, PDF) that scripts fetch too: an `X-API-Key` or an
    `Authorization: Bearer <token>` header authenticates the request instead of the session, and a
    bad one gets a JSON 401 (never a redirect to the login page, which a script would save as the
    file). Without either header it is role_required: a browser goes to the login page."""

    def decorator(view: View) -> View:
        page_view = role_required(role)(view)

        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            key = request.headers.get("X-API-Key")
            authorization = request.headers.get("Authorization")
            if key is None and authorization is None:
                return page_view(request, *args, **kwargs)
            found: APIKey | APIToken | None
            if key is not None:
                found = accounts.user_for_api_key(key.strip())
                problem = "invalid or revoked API key"
            else:
                assert authorization is not None  # one of the two headers is there
                found = _bearer_credential(authorization)
                problem = (
                    "Authorization must be 'Bearer <token or API key>' with a valid one; POST /api/login for a token"
                )
            if found is None or not found.user.is_active:
                return _json_error(
                    401, problem, www_authenticate='ApiKey realm="hyperweb", header="X-API-Key"'
                )
            if not has_role(found.user, role):
                return _json_error(403, f"this download needs the {role} role")
            request.user = found.user
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _bearer_credential(authorization: str) -> APIKey | APIToken | None:
    """The API key or login token in `Authorization: Bearer <value>` (None if neither), looked up as
    the API's BearerTokenAuthentication does: a value with the key prefix is a key first."""
    parts = authorization.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    plain = parts[1]
    found = accounts.user_for_api_key(plain) if plain.startswith(KEY_PREFIX) else None
    return found if found is not None else accounts.token_for_bearer(plain)


def _json_error(status: int, message: str, *, www_authenticate: str = "") -> HttpResponse:
    response = JsonResponse(error_body(message), status=status)
    if www_authenticate:
        response["WWW-Authenticate"] = www_authenticate
    return response


if TYPE_CHECKING:
    from django.contrib.auth.models import User

    _LoginForm = AuthenticationForm  # what the mixin is mixed into (it is a plain class at run time)
else:
    _LoginForm = object


class ThrottledLoginMixin(_LoginForm):
    """Checks the password of a Django login form through accounts.services.check_password, so
    every login form (dashboard, Django admin) shares /api/login's failure counters (per address
    and per username): guessing passwords on one form is no way around another's limit."""

    throttled: accounts.LoginThrottled | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            address = accounts.client_ip(self.request.META if self.request else {})
            try:
                # authenticate() is typed AbstractBaseUser; it returns the AUTH_USER_MODEL (User).
                self.user_cache = cast("User", accounts.check_password(username, password, client_ip=address))
            except accounts.LoginThrottled as exc:
                self.throttled = exc
                raise forms.ValidationError(
                    "Too many failed logins; try again in %(seconds)d s",
                    code="throttled",
                    params={"seconds": exc.retry_after},
                ) from None
            except accounts.LoginFailed:
                raise self.get_invalid_login_error() from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The dashboard's login form."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The Django admin's login form (staff accounts only), through the same throttle."""


def _throttled_status(response: HttpResponse) -> HttpResponse:
    """A login page whose form was refused by the throttle answers 429 with Retry-After."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    throttled = getattr(form, "throttled", None)
    if throttled is not None:
        response.status_code = 429
        response["Retry-After"] = str(throttled.retry_after)
    return response


@require_http_methods(["GET", "POST"])
def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """/admin/login/ (routed before the admin's own URLs): Django's admin login, whose form
    hyperweb/urls.py sets to ThrottledAdminAuthenticationForm, answering 429 when throttled."""
    return _throttled_status(admin.site.login(request, extra_context))


class LoginView(auth_views.LoginView):
    """The dashboard's login; a throttled attempt answers 429 with Retry-After, like /api/login."""

    http_method_names = ["get", "post", "head", "options"]  # a form: PUT is no way to log in (405)
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form: ThrottledAuthenticationForm) -> HttpResponse:  # type: ignore[override]
        return _throttled_status(super().form_invalid(form))


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): the navigation's "Log out" button is a small form."""


@role_required(VIEWER)
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = cast("User", request.user)  # role_required: signed in
    form = PreferencesForm(request.POST or None, initial={"timezone": timezone_of(user)})
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["timezone"]
        save_timezone(request, name)
        messages.success(request, f"Times are now shown in {name or 'your browser’s timezone'}.")
        return redirect("preferences")
    return render(request, "accounts/preferences.html", {"form": form}, status=400 if form.errors else 200)
