"""Admin pages for API keys (created here, shown once) and login tokens (revocable)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from accounts.models import APIKey, APIToken, digest


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "created", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = ("name", "user", "prefix", "created", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created", "last_used_at", "revoked_at")
    actions = ["revoke_keys"]

    def get_readonly_fields(self, request: HttpRequest, obj: APIKey | None = None) -> tuple[str, ...]:
        # A key's owner cannot change after creation: the key was handed to someone for that user.
        return self.readonly_fields + (("user",) if obj is not None else ())

    def save_model(self, request: HttpRequest, obj: APIKey, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # Generate the secret here; response_add shows it exactly once, in its own response.
        key, plain = APIKey.create_for(obj.user, obj.name)
        obj.pk, obj.prefix, obj.hashed_key, obj.created = key.pk, key.prefix, digest(plain), key.created
        obj._state.adding = False
        obj._plain_key = plain  # type: ignore[attr-defined]  # lives for this request only

    def response_add(self, request: HttpRequest, obj: APIKey, post_url_continue: str | None = None) -> HttpResponse:
        """The new key, rendered into this response only: never into a message (the messages cookie
        is signed but readable, and a stored message outlives the page), never cached."""
        plain = getattr(obj, "_plain_key", None)
        if plain is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            "subtitle": None,
            "opts": self.opts,
            "key": obj,
            "plain": plain,
        }
        response = TemplateResponse(request, "admin/accounts/apikey/created.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke the selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"Revoked {count} key(s).")


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created", "expires_at", "last_used_at", "revoked")
    list_filter = ("revoked",)
    search_fields = ("user__username",)
    list_select_related = ("user",)
    readonly_fields = ("user", "created", "expires_at", "last_used_at", "revoked")
    actions = ["revoke_tokens"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens come from POST /api/login only

    @admin.action(description="Revoke the selected tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[APIToken]) -> None:
        messages.success(request, f"Revoked {queryset.update(revoked=True)} token(s).")
