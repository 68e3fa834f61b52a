"""Admin: webhooks (configured here; the secret is write-only), alerts and every delivery attempt."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from alerts.delivery import redact_url
from alerts.models import ALL_KINDS, CHOICES, Alert, AlertPreference, Delivery, DeliveryAttempt, Webhook
from alerts.services import send_test_alert

MIN_SECRET = 16


class WebhookForm(forms.ModelForm):
    """The secret is never rendered back: blank on an existing webhook keeps the stored one."""

    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=f"HMAC-SHA256 key shared with the receiver, at least {MIN_SECRET} characters. "
        "Never shown again; leave blank to keep the current one.",
    )
    url = forms.URLField(
        max_length=1000, assume_scheme="https", help_text="http(s) URL that receives the JSON POST"
    )
    kinds = forms.MultipleChoiceField(
        choices=CHOICES, widget=forms.CheckboxSelectMultiple, help_text="alerts it receives"
    )

    class Meta:
        model = Webhook
        fields = ("name", "url", "secret", "kinds", "active")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("the URL must start with http:// or https://")
        return url

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret") or ""
        if not secret:
            if self.instance.pk and self.instance.secret:
                return self.instance.secret  # kept
            raise forms.ValidationError("a new webhook needs a secret")
        if len(secret) < MIN_SECRET:
            raise forms.ValidationError(f"the secret must be at least {MIN_SECRET} characters")
        return secret


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("at", "ok", "status_code", "error", "duration_ms")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ("name", "where", "kinds", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name",)
    actions = ["send_test"]

    @admin.action(description="Send a test alert to the selected webhooks")
    def send_test(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for hook in queryset:
            send_test_alert(hook, by=request.user.get_username())
        self.message_user(
            request,
            f"Test alert queued for {queryset.count()} webhook(s); its delivery attempts are under Deliveries.",
        )

    @admin.display(description="URL (host)")
    def where(self, obj: Webhook) -> str:
        return redact_url(obj.url)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "alert", "channel", "to", "status", "attempts", "next_attempt_at", "delivered_at")
    list_filter = ("status", "channel", "alert__kind")
    search_fields = ("recipient", "alert__subject", "alert__key")
    list_select_related = ("alert", "webhook")
    readonly_fields = (
        "alert",
        "channel",
        "webhook",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "delivered_at",
        "last_error",
        "created_at",
    )
    inlines = [DeliveryAttemptInline]

    @admin.display(description="to")
    def to(self, obj: Delivery) -> str:
        return obj.recipient if obj.channel == Delivery.Channel.EMAIL else str(obj.webhook or "(deleted)")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("channel", "webhook", "recipient", "status", "attempts", "next_attempt_at", "last_error")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "subject")
    list_filter = ("kind",)
    search_fields = ("subject", "key")
    readonly_fields = ("kind", "key", "subject", "body", "payload", "job", "created_at")
    inlines = [DeliveryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AlertPreference)
class AlertPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", *ALL_KINDS)
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)
