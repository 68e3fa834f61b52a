"""The preferences page: each signed-in user chooses the timezone pages show times in."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import PreferencesForm
from accounts.preferences import save_timezone, timezone_of
from accounts.roles import VIEWER
from hyperweb.views import role_required


@role_required(VIEWER)
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, initial={"timezone": timezone_of(request.user)})
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["timezone"]
        save_timezone(request, name)
        messages.success(request, f"Times are now shown in {name or 'your browser’s timezone'}.")
        return redirect("preferences")
    return render(request, "accounts/preferences.html", {"form": form}, status=400 if form.errors else 200)
