"""Dashboard forms: the backup filters, a new backup, a recurring backup (policy).

Forms only parse what a person typed into the JobDefinition / ScheduledJob JSON that the API
also accepts; scheduler.services validates and decides, and its messages are put back on the
fields they are about. `describe_cron` turns a cron expression into words for the policy page.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from croniter import croniter
from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from carbon.models import Zone
from hyperweb.api.limits import MAX_DATA_SIZE_GB, MAX_DURATION_HOURS, MAX_INTENSITY
from hyperweb.lib.timefmt import EARLIEST, LATEST
from scheduler.cron import cron_problem, next_fire
from scheduler.executors import EXECUTOR_NAMES, PathNotAllowed, resolve_inside
from scheduler.models import BackupJob, BackupJobQuerySet, BackupPolicy
from scheduler.services.policies import flexible_window
from scheduler.uncertainty import RISK_LEVELS

NS_PER_HOUR = 3600 * 10**9
SORTS = {
    "-requested_at": "newest first",
    "requested_at": "oldest first",
    "planned_start": "planned start, soonest",
    "-planned_start": "planned start, latest",
    "status": "status",
    "zone__code": "zone",
    "-saving_kg": "largest saving",
}


def risk_choices() -> list[tuple[str, str]]:
    """"" first: the default setting (BACKUP_RISK), named so the choice is clear."""
    return [("", f"default ({settings.BACKUP_RISK})"), *[(r, r) for r in RISK_LEVELS]]


def risk_help() -> str:
    """The risk field's help: the default said by its value (read at each form, as settings may
    change), the setting's name only in parentheses for the administrator."""
    return (
        "cautious: wait only for sure savings; greedy: trust the forecast; "
        f"default: {settings.BACKUP_RISK} (set by the administrator: BACKUP_RISK)"
    )


RISK_FORM_CHOICES = risk_choices()


def _say_risk_default(form: forms.Form) -> None:
    field = form.fields["risk"]
    assert isinstance(field, forms.ChoiceField)
    field.choices = risk_choices()
    field.help_text = risk_help()


class ZoneChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Zone) -> str:
        return f"{obj.code} – {obj.name}"


class PolicyChoice(forms.ModelChoiceField):
    """Labelled by name alone: the label must not read a field the choices query did not load
    (a deferred field costs one query per policy, and fails if the policy was deleted meanwhile)."""

    def label_from_instance(self, obj: BackupPolicy) -> str:
        return obj.name


def _zones() -> QuerySet[Zone]:
    return Zone.objects.filter(active=True).only("code", "name")


class BackupFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *BackupJob.Status.choices])
    operation = forms.ChoiceField(
        required=False,
        label="Run",
        choices=[("", "backups, restores, verifications"), *BackupJob.Operation.choices],
    )
    integrity = forms.ChoiceField(
        required=False,
        label="Archive",
        choices=[("", "any archive"), ("verified", "verified"), ("damaged", "damaged"), ("pruned", "pruned")],
    )
    zone = forms.ModelChoiceField(
        required=False,
        queryset=Zone.objects.only("code", "name"),
        to_field_name="code",
        empty_label="any zone",
    )
    policy = PolicyChoice(
        required=False, queryset=BackupPolicy.objects.only("id", "name"), empty_label="any policy"
    )
    since = forms.DateField(
        required=False, label="Requested from", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Requested until", widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(required=False, choices=list(SORTS.items()))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name in ("since", "until"):
            day = data.get(name)
            # The same range as every timestamp hyperweb takes in; 9999-12-31 would overflow below.
            if day is not None and not EARLIEST.date() <= day < LATEST.date():
                self.add_error(name, f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
        return data

    def apply(self, jobs: BackupJobQuerySet) -> BackupJobQuerySet:
        """The jobs filtered and sorted as the (valid) form says."""
        data = self.cleaned_data
        if data.get("status"):
            jobs = jobs.filter(status=data["status"])
        if data.get("operation"):
            jobs = jobs.filter(operation=data["operation"])
        if data.get("integrity") == "pruned":
            jobs = jobs.filter(pruned_at__isnull=False)
        elif data.get("integrity"):
            jobs = jobs.filter(integrity=data["integrity"], pruned_at__isnull=True)
        if data.get("zone"):
            jobs = jobs.filter(zone=data["zone"])
        if data.get("policy"):
            jobs = jobs.filter(policy=data["policy"])
        if data.get("since"):
            jobs = jobs.filter(requested_at__gte=datetime.combine(data["since"], time.min, tzinfo=UTC))
        if data.get("until"):
            jobs = jobs.filter(
                requested_at__lt=datetime.combine(data["until"], time.min, tzinfo=UTC) + timedelta(days=1)
            )
        sort = data.get("sort") or "-requested_at"
        return jobs.order_by(sort, "-pk")


def _field_for(message: str, fields: tuple[str, ...], aliases: dict[str, str]) -> str | None:
    """The form field a service's error message is about (its messages name the JSON key)."""
    lowered = message.lower()
    for key, field in aliases.items():
        if key in lowered:
            return field
    for field in fields:
        if field in lowered:
            return field
    return None


class BackupForm(forms.Form):
    """A new backup; carbon-aware by default, as a person at the dashboard would want."""

    name = forms.CharField(required=False, max_length=255, help_text="optional, e.g. nightly web-01")
    vm_path = forms.CharField(
        label="VM path",
        max_length=1024,
        help_text="the disk image or VM folder to back up (file executor: inside the source folders)",
    )
    zone = ZoneChoice(queryset=_zones(), to_field_name="code", help_text="the grid the backup runs on")
    data_size_gb = forms.FloatField(
        label="Data size (GB)",
        required=False,
        min_value=0.001,
        max_value=MAX_DATA_SIZE_GB,
        help_text="for the estimate and the energy; empty: measured from the source",
    )
    expected_duration_hours = forms.FloatField(
        label="Expected duration (hours)",
        min_value=0.01,
        max_value=MAX_DURATION_HOURS,
        initial=settings.BACKUP_DEFAULT_DURATION_HOURS,
    )
    carbon_aware = forms.BooleanField(
        required=False, initial=True, help_text="wait for the cleanest hours within the maximum delay"
    )
    max_delay_hours = forms.FloatField(
        label="May wait up to (hours)",
        min_value=0,
        max_value=336,
        initial=settings.BACKUP_DEFAULT_MAX_DELAY_HOURS,
        help_text="the latest start is this long after now",
    )
    threshold = forms.FloatField(
        label="Run at once below (gCO2/kWh)",
        required=False,
        min_value=0,
        max_value=MAX_INTENSITY,
        help_text="optional: start now if the grid is at or below this",
    )
    executor = forms.ChoiceField(choices=[], initial=settings.BACKUP_DEFAULT_EXECUTOR)
    risk = forms.ChoiceField(
        label="Forecast risk",
        required=False,
        choices=RISK_FORM_CHOICES,
        help_text="cautious: wait only for sure savings; greedy: trust the forecast",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        executor = self.fields["executor"]
        assert isinstance(executor, forms.ChoiceField)
        executor.choices = [(name, name) for name in EXECUTOR_NAMES]
        _say_risk_default(self)

    def clean_vm_path(self) -> str:
        path = self.cleaned_data["vm_path"].strip()
        if self.data.get("executor", settings.BACKUP_DEFAULT_EXECUTOR) == "file":
            try:
                resolved = resolve_inside(path, settings.BACKUP_SOURCE_ROOTS)
            except PathNotAllowed as exc:
                raise forms.ValidationError(str(exc)) from None
            if not resolved.exists():
                raise forms.ValidationError(f"{path} does not exist")
        return path

    def definition(self) -> dict[str, Any]:
        """The HyperSDK JobDefinition the API would receive for the same backup."""
        data = self.cleaned_data
        metadata: dict[str, Any] = {
            "carbon_aware": bool(data["carbon_aware"]),
            "carbon_zone": data["zone"].code,
            "carbon_max_delay": int(data["max_delay_hours"] * NS_PER_HOUR),
            "expected_duration_hours": data["expected_duration_hours"],
            "executor": data["executor"],
            "submitted_from": "dashboard",
        }
        if data.get("data_size_gb"):
            metadata["data_size_gb"] = data["data_size_gb"]
        if data.get("threshold"):
            metadata["carbon_max_intensity"] = data["threshold"]
        if data.get("risk"):
            metadata["carbon_risk"] = data["risk"]
        definition: dict[str, Any] = {"vm_path": data["vm_path"], "metadata": metadata}
        if data.get("name"):
            definition["name"] = data["name"]
        return definition

    def add_service_error(self, message: str) -> None:
        field = _field_for(
            message,
            tuple(self.fields),
            {
                "carbon_zone": "zone",
                "carbon_max_delay": "max_delay_hours",
                "executor": "executor",
                "expected_duration": "expected_duration_hours",
                "carbon_max_intensity": "threshold",
                "carbon_risk": "risk",
            },
        )
        self.add_error(field, message.split(": ", 1)[-1] if field else message)


class PolicyForm(forms.Form):
    """A recurring backup; the words next to the cron and window fields come from describe_cron."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    schedule = forms.CharField(
        label="Schedule (cron, UTC)",
        max_length=120,
        initial="0 22 * * *",
        help_text="minute hour day month weekday",
    )
    window_start = forms.TimeField(
        label="Window opens at (UTC)",
        required=False,
        # Text, not type="time": the browser's time input follows its locale (10:00 PM in en-US),
        # and every time hyperweb shows is on a 24-hour clock.
        widget=forms.TimeInput(
            attrs={
                "pattern": "([01][0-9]|2[0-3]):[0-5][0-9]",
                "placeholder": "HH:MM",
                "inputmode": "numeric",
            },
            format="%H:%M",
        ),
        help_text="optional, HH:MM on a 24-hour clock (UTC): empty means the window opens when the schedule fires",
    )
    window_hours = forms.FloatField(
        label="Flexible window (hours)",
        min_value=0,
        max_value=336,
        initial=8.0,
        help_text="how long after the window opens a run may start",
    )
    zone = ZoneChoice(queryset=_zones(), to_field_name="code")
    vm_path = forms.CharField(label="VM path", max_length=1024)
    data_size_gb = forms.FloatField(
        label="Data size (GB)", required=False, min_value=0, max_value=MAX_DATA_SIZE_GB
    )
    expected_duration_hours = forms.FloatField(
        label="Expected duration (hours)", min_value=0.01, max_value=MAX_DURATION_HOURS, initial=1.0
    )
    threshold = forms.FloatField(
        label="Run at once below (gCO2/kWh)", required=False, min_value=0, max_value=MAX_INTENSITY
    )
    carbon_aware = forms.BooleanField(required=False, initial=True)
    enabled = forms.BooleanField(required=False, initial=True)
    risk = forms.ChoiceField(
        label="Forecast risk",
        required=False,
        choices=RISK_FORM_CHOICES,
        help_text="cautious: wait only for sure savings; greedy: trust the forecast",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _say_risk_default(self)

    def clean_schedule(self) -> str:
        schedule = " ".join(self.cleaned_data["schedule"].split())
        if not croniter.is_valid(schedule):
            raise forms.ValidationError(
                "not a cron expression: use five fields, e.g. '0 22 * * *' (22:00 UTC daily)"
            )
        field = self.fields["schedule"]
        assert isinstance(field, forms.CharField) and field.max_length is not None
        problem = cron_problem(schedule, max_length=field.max_length, now=timezone.now())
        if problem:
            raise forms.ValidationError(problem)
        return schedule

    @classmethod
    def initial_for(cls, policy: BackupPolicy) -> dict[str, Any]:
        template = policy.job_template or {}
        return {
            "name": policy.name,
            "description": policy.description,
            "schedule": policy.schedule,
            "window_start": policy.window_start,
            "window_hours": policy.window_hours,
            "zone": policy.zone.code if policy.zone else None,
            "vm_path": template.get("vm_path", ""),
            "data_size_gb": policy.data_size_gb or None,
            "expected_duration_hours": policy.expected_duration.total_seconds() / 3600,
            "threshold": policy.threshold,
            "risk": policy.risk,
            "carbon_aware": policy.carbon_aware,
            "enabled": policy.enabled,
        }

    def schedule_data(self, template: dict[str, Any] | None = None) -> dict[str, Any]:
        """ScheduledJob JSON for scheduler.services.save_policy (the API's shape)."""
        data = self.cleaned_data
        job_template = dict(template or {})
        job_template["vm_path"] = data["vm_path"]
        job_template.setdefault("name", data["name"])
        metadata = dict(job_template.get("metadata") or {})
        metadata["carbon_zone"] = data["zone"].code
        job_template["metadata"] = metadata
        return {
            "name": data["name"],
            "description": data["description"],
            "schedule": data["schedule"],
            "job_template": job_template,
            "window_start": data["window_start"].strftime("%H:%M") if data["window_start"] else None,
            "window_hours": data["window_hours"],
            "zone": data["zone"].code,
            "expected_duration_hours": data["expected_duration_hours"],
            "data_size_gb": data["data_size_gb"] or 0.0,
            "threshold": data["threshold"],
            "risk": data.get("risk") or None,
            "carbon_aware": bool(data["carbon_aware"]),
            "enabled": bool(data["enabled"]),
        }

    def add_service_error(self, message: str) -> None:
        field = _field_for(message, tuple(self.fields), {"cron": "schedule", "unknown zone": "zone"})
        self.add_error(field, message)


# --- cron in words ---------------------------------------------------------------------------------

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _field_words(value: str, names: tuple[str, ...] | None = None, offset: int = 0) -> str | None:
    """`1-5` -> "Monday to Friday", `1,3` -> "Monday and Wednesday"; None for anything fancier."""

    def name(token: str) -> str:
        number = int(token)
        if names is None:
            return str(number)
        return names[(number - offset) % len(names)] if names is DAYS else names[number]

    parts = []
    for item in value.split(","):
        if "/" in item:
            return None
        if "-" in item:
            a, b = item.split("-", 1)
            if not (a.isdigit() and b.isdigit()):
                return None
            parts.append(f"{name(a)} to {name(b)}")
        elif item.isdigit():
            parts.append(name(item))
        else:
            return None
    return _list(parts)


def describe_cron(expression: str) -> str:
    """A cron expression in plain words ("at 22:00 UTC, every day"); simple rules, honest fallback."""
    expression = " ".join((expression or "").split())
    if not croniter.is_valid(expression):
        return "not a valid cron expression"
    if next_fire(expression, timezone.now()) is None:
        return "never (no such date)"
    fields = expression.split(" ")
    if len(fields) != 5:
        return f"cron '{expression}'"
    minute, hour, dom, month, dow = fields
    if minute.isdigit() and hour.isdigit():
        when = f"at {int(hour):02d}:{int(minute):02d} UTC"
    elif minute.isdigit() and hour == "*":
        when = f"every hour at minute {int(minute)}"
    elif minute.isdigit() and hour.startswith("*/") and hour[2:].isdigit():
        when = f"every {hour[2:]} hours at minute {int(minute)}"
    elif minute.startswith("*/") and minute[2:].isdigit() and hour == "*":
        when = f"every {minute[2:]} minutes"
    elif minute == "*" and hour == "*":
        when = "every minute"
    elif minute.isdigit() and _field_words(hour) is not None:
        hours = [f"{int(h):02d}:{int(minute):02d}" for h in hour.split(",") if h.isdigit()]
        when = (
            f"at {_list(hours)} UTC"
            if len(hours) == len(hour.split(","))
            else f"at minute {minute} of hours {hour}"
        )
    else:
        when = f"at minute '{minute}' of hour '{hour}'"
    days = []
    if dom != "*":
        words = _field_words(dom)
        days.append(f"on day {words} of the month" if words else f"on days '{dom}' of the month")
    if month != "*":
        words = _field_words(month, MONTHS)
        days.append(f"in {words}" if words else f"in months '{month}'")
    if dow != "*":
        words = _field_words(dow.replace("7", "0"), DAYS)
        days.append(f"on {words}" if words else f"on weekdays '{dow}'")
    return f"{when}, {' '.join(days) if days else 'every day'}"


def next_runs(expression: str, *, now: datetime, count: int = 3) -> list[datetime]:
    """The next `count` firings; [] for an invalid expression or one that never fires."""
    runs: list[datetime] = []
    while len(runs) < count:
        fired = next_fire(expression, runs[-1] if runs else now)
        if fired is None:
            return runs
        runs.append(fired)
    return runs


def describe_window(window_start: time | None, window_hours: float, fired_at: datetime | None) -> str:
    """The flexible window in words, using the scheduler's own rule for the next firing."""
    if fired_at is None:
        return ""
    policy = BackupPolicy(window_start=window_start, window_hours=window_hours)
    earliest, latest = flexible_window(policy, fired_at)
    opens = "when the schedule fires" if window_start is None else f"at {window_start:%H:%M} UTC"
    return (
        f"Each run may start from {earliest:%Y-%m-%d %H:%M} UTC to {latest:%Y-%m-%d %H:%M} UTC "
        f"(the window opens {opens} and stays open {window_hours:g} h); "
        "hyperweb picks the cleanest start inside."
    )


class RestoreForm(forms.Form):
    """Where to restore a backup; scheduler.services.lifecycle decides whether it may."""

    target = forms.CharField(
        label="Restore into folder",
        max_length=1024,
        required=False,
        help_text="inside the restore root; relative to it, or absolute inside it",
    )
    overwrite = forms.BooleanField(
        label="Overwrite files that already exist there",
        required=False,
        help_text="without it, a restore never replaces a file",
    )
    defer = forms.BooleanField(
        label="Wait for a clean window instead of restoring now",
        required=False,
    )


class RetentionForm(forms.Form):
    """A policy's own retention counts; all empty = the BACKUP_KEEP_* defaults."""

    keep_last = forms.IntegerField(label="Keep the last", required=False, min_value=0, max_value=10000)
    keep_daily = forms.IntegerField(label="Daily (days)", required=False, min_value=0, max_value=10000)
    keep_weekly = forms.IntegerField(label="Weekly (weeks)", required=False, min_value=0, max_value=10000)
    keep_monthly = forms.IntegerField(label="Monthly (months)", required=False, min_value=0, max_value=10000)

    @classmethod
    def initial_for(cls, policy: BackupPolicy) -> dict[str, Any]:
        return {name: getattr(policy, name) for name in cls.base_fields}
