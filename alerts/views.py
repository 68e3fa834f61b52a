"""The alert preferences page: each signed-in user chooses which alerts they receive by email."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.roles import VIEWER
from accounts.views import role_required
from alerts import services
from alerts.forms import PreferencesForm


@role_required(VIEWER)
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    assert request.user.is_authenticated  # role_required
    current = services.preferences_for(request.user)
    form = PreferencesForm(request.POST or None, instance=current, initial={"email": request.user.email})
    if request.method == "POST" and form.is_valid():
        services.save_preferences(request.user, form.save(commit=False), form.cleaned_data["email"])
        messages.success(request, "Alert preferences saved.")
        return redirect("alert-preferences")
    context = {
        "form": form,
        "email_enabled": services.email_enabled(),
        "from_email": settings.DEFAULT_FROM_EMAIL,
    }
    return render(request, "alerts/preferences.html", context, status=400 if form.errors else 200)
