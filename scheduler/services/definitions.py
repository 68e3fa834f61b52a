"""Parsing and validating HyperSDK JobDefinitions (`POST /jobs/submit`, docs/API.md), secrets kept apart."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db.models import Field, Model

from hyperweb.api.limits import (
    MAX_DATA_SIZE_GB,
    MAX_DURATION_HOURS,
    MAX_INTENSITY,
    MAX_NOT_BEFORE_DAYS,
    MIN_DURATION_HOURS,
)
from hyperweb.lib.timefmt import parse_timestamp
from scheduler.executors.base import EXECUTOR_NAMES, PathNotAllowed, resolve_inside
from scheduler.uncertainty import RISK_LEVELS
from scheduler.vocabulary import BACKUP_FORMATS, EXPORT_METHODS

# Keys whose values are never stored in the definition nor echoed back to any client. A key that
# ends with one of them counts too: clients send `vcenter_password`, `access_token`, `client_secret`.
SECRET_KEYS = frozenset({"password", "passwd", "secret", "token", "api_key", "apikey", "private_key"})
MAX_ID_LENGTH = 128
# The longest a carbon-aware job may wait (carbon_max_delay, a policy's window_hours): far beyond
# any forecast, and small enough that adding it to a datetime never overflows.
MAX_DELAY = timedelta(days=14)


class InvalidDefinition(ValueError):
    """A JobDefinition that cannot be accepted; the message is returned to the client as is.

    `field` is the key it is about (`name`, `metadata.not_before`), when there is one.
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class IdTaken(InvalidDefinition):
    """A caller-chosen id that already exists (the API answers 409)."""


class MalformedDefinition(InvalidDefinition):
    """A definition that breaks the documented JobDefinition schema (a type, a length, an enum, a
    range): the API answers 400 for the whole request. A well-formed definition hyperweb cannot
    run (a path outside the roots, an unknown zone) is an InvalidDefinition: rejected in `errors`."""


def _field_of(message: str) -> str:
    head = message.split(" ", 1)[0]
    return head if head.replace(".", "").replace("_", "").isalnum() else ""


def problem_text(exc: InvalidDefinition) -> str:
    """The message without its leading field name, for `{"fields": {field: [text]}}`."""
    text = str(exc)
    for lead in (f"{exc.field}: ", f"{exc.field} "):
        if exc.field and text.startswith(lead):
            return text[len(lead) :]
    return text


def malformed(message: str, field: str = "") -> MalformedDefinition:
    return MalformedDefinition(message, field=field or _field_of(message))


def column_max_length(model: type[Model], name: str) -> int:
    """The max_length of ``model``'s text field ``name``: the longest value its column takes."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.max_length is not None  # a CharField
    return field.max_length


def check_text(value: Any, what: str, max_length: int, *, required: bool = False) -> str:
    """A string of at most `max_length` characters (the column it is stored in)."""
    if required and (value is None or (isinstance(value, str) and not value.strip())):
        raise malformed(f"{what} is required", what)
    if not isinstance(value, str):  # 42 is not missing: say what is wrong with it
        raise malformed(f"{what} must be a string, got {type(value).__name__}", what)
    if len(value) > max_length:
        raise malformed(f"{what} must be at most {max_length} characters, got {len(value)}", what)
    return value


@dataclass
class ParsedDefinition:
    """A validated JobDefinition and the scheduling inputs read from it."""

    definition: dict[str, Any]
    secrets: dict[str, Any]
    job_id: str | None
    name: str
    vm_path: str
    carbon_aware: bool
    zone_code: str | None
    threshold: float | None
    max_delay: timedelta
    expected_duration: timedelta
    data_size_gb: float | None
    executor: str
    not_before: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    risk: str = ""  # metadata.carbon_risk: cautious | balanced | greedy; "" = the policy's or default


def is_secret_key(key: Any) -> bool:
    """True for `password`, `vcenter_password`, `access-token`, `apiKey`... (see SECRET_KEYS)."""
    if not isinstance(key, str):
        return False
    name = key.lower().replace("-", "_")
    return any(name.endswith(word) for word in SECRET_KEYS)


def _without_url_password(text: str) -> str | None:
    """`https://user:pw@host/sdk` -> `https://user@host/sdk`; None when `text` holds no such password
    (govc and ovftool accept credentials inside the vCenter URL)."""
    if "@" not in text or "://" not in text:
        return None
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return None
    if not password:
        return None
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def strip_secrets(data: Any) -> tuple[Any, dict[str, Any]]:
    """A deep copy of `data` without secret keys nor URL passwords, and the removed values by
    dotted path (a URL's path maps to the whole original URL, which restore_secrets puts back)."""
    removed: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                path = f"{prefix}{key}"
                if is_secret_key(key):
                    if value not in (None, ""):
                        removed[path] = value
                    continue
                out[key] = walk(value, path + ".")
            return out
        if isinstance(node, list):
            return [walk(item, f"{prefix}{i}.") for i, item in enumerate(node)]
        if isinstance(node, str):
            redacted = _without_url_password(node)
            if redacted is not None:
                removed[prefix.removesuffix(".")] = node
                return redacted
        return copy.deepcopy(node)

    return walk(data, ""), removed


def restore_secrets(definition: dict[str, Any], secrets: dict[str, Any]) -> dict[str, Any]:
    """The definition with its secrets put back (for executors that forward the job)."""
    full = copy.deepcopy(definition)
    for path, value in (secrets or {}).items():
        node: Any = full
        parts = path.split(".")
        for part in parts[:-1]:
            if isinstance(node, list):
                node = node[int(part)]
            else:
                node = node.setdefault(part, {})
        if isinstance(node, dict):
            node[parts[-1]] = value
        elif isinstance(node, list) and parts[-1].isdigit() and int(parts[-1]) < len(node):
            node[int(parts[-1])] = value  # a URL with its password, inside a list
    return full


def is_unset_number(value: Any) -> bool:
    """None or 0 mean "not set" for thresholds (clients send 0); false is not a number."""
    return value is None or (not isinstance(value, bool) and isinstance(value, int | float) and value == 0)


def _number(value: Any, what: str, *, minimum: float = 0.0, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise malformed(f"{what} must be a number, got {value!r}", what)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or number < minimum:
        raise malformed(f"{what} must be a finite number >= {minimum:g}, got {value!r}", what)
    if maximum is not None and number > maximum:
        raise malformed(f"{what} must be at most {maximum:g}, got {value!r}", what)
    return number


def _bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise malformed(f"{what} must be true or false, got {value!r}", what)


def _enum(definition: dict[str, Any], key: str, allowed: tuple[str, ...]) -> None:
    # Clients send "" or null for "not set"; the wire contract never shows those, so drop them.
    value = definition.get(key)
    if value in (None, ""):
        definition.pop(key, None)
        return
    if value not in allowed:
        raise malformed(f"{key} must be one of {', '.join(allowed)}, got {value!r}", key)


def check_id(value: Any, max_length: int) -> str:
    """A caller-chosen id (job or schedule): it becomes a URL path segment, hence no '/'."""
    if not isinstance(value, str) or len(value) > max_length or "/" in value or not value.strip():
        raise malformed(f"id must be a string of at most {max_length} characters without '/'", "id")
    return value


def parse_definition(raw: Any, *, now: datetime) -> ParsedDefinition:
    """Validate one JobDefinition; raise InvalidDefinition with a one-line reason."""
    from scheduler.models import BackupJob

    if not isinstance(raw, dict):
        raise malformed("a job definition must be a JSON object", "body")
    definition, secrets = strip_secrets(raw)
    # null means "not set" for every key of a JobDefinition (clients send them): dropped, so the
    # stored definition (and what is echoed) carries only values of the documented types.
    definition = {key: value for key, value in definition.items() if value is not None}
    columns = {name: column_max_length(BackupJob, name) for name in ("name", "vm_path", "target")}
    vm_path = check_text(definition.get("vm_path"), "vm_path", columns["vm_path"], required=True)
    job_id = definition.get("id")
    if job_id in (None, ""):
        job_id = None
    else:
        check_id(job_id, MAX_ID_LENGTH)
    name = "" if definition.get("name") is None else check_text(definition["name"], "name", columns["name"])
    for key in ("vcenter_url", "username", "datacenter", "method", "created_at"):
        if definition.get(key) is not None and not isinstance(definition[key], str):
            raise malformed(f"{key} must be a string", key)
    _enum(definition, "format", BACKUP_FORMATS)
    _enum(definition, "export_method", EXPORT_METHODS)
    for key in ("output_dir", "output_path"):
        if definition.get(key) not in (None, ""):
            check_text(definition[key], key, columns["target"])
    for key in ("vcenter", "options", "metadata"):
        if definition.get(key) is None:
            definition.pop(key, None)
        elif not isinstance(definition[key], dict):
            raise malformed(f"{key} must be an object", key)
    for key in ("compress", "thin", "insecure"):
        if key in definition and definition[key] is not None:
            definition[key] = _bool(definition[key], key)
    metadata = definition.setdefault("metadata", {})

    carbon_aware = _bool(metadata.get("carbon_aware", False), "metadata.carbon_aware")
    zone_code = metadata.get("carbon_zone")
    if zone_code is not None and not isinstance(zone_code, str):
        raise malformed("metadata.carbon_zone must be a string")
    zone_code = zone_code or None
    if carbon_aware and zone_code is None:
        raise InvalidDefinition(
            "metadata.carbon_zone is required when carbon_aware is true", field="metadata.carbon_zone"
        )
    threshold = metadata.get("carbon_max_intensity")
    threshold = (
        None
        if is_unset_number(threshold)
        else _number(threshold, "metadata.carbon_max_intensity", maximum=MAX_INTENSITY)
    )
    risk = metadata.get("carbon_risk")
    risk = "" if risk is None else risk
    if risk not in ("", *RISK_LEVELS):
        raise malformed(
            f"metadata.carbon_risk must be one of {', '.join(RISK_LEVELS)} (or absent), not {risk!r}",
            "metadata.carbon_risk",
        )
    delay_ns = metadata.get("carbon_max_delay")
    if delay_ns is None:
        max_delay = timedelta(hours=settings.BACKUP_DEFAULT_MAX_DELAY_HOURS)
    else:
        # Nanoseconds (the Python client sends int(hours * 3600 * 1e9)); checked before it becomes a
        # timedelta, which overflows (a 500) on absurd values.
        delay_us = _number(delay_ns, "metadata.carbon_max_delay (nanoseconds)") / 1000
        if delay_us > MAX_DELAY / timedelta(microseconds=1):
            raise malformed("metadata.carbon_max_delay is more than 14 days (it is in nanoseconds)")
        max_delay = timedelta(microseconds=delay_us)
    duration_hours = settings.BACKUP_DEFAULT_DURATION_HOURS
    for key in ("carbon_duration_hours", "expected_duration_hours"):  # the second wins
        if metadata.get(key) is None:
            continue
        duration_hours = _number(metadata[key], f"metadata.{key}", minimum=0.0)
        if not MIN_DURATION_HOURS <= duration_hours <= MAX_DURATION_HOURS:
            raise malformed(f"metadata.{key} must be in [{MIN_DURATION_HOURS:g}, {MAX_DURATION_HOURS:g}]")
    size = metadata.get("data_size_gb")
    data_size_gb = None if size is None else _number(size, "metadata.data_size_gb", maximum=MAX_DATA_SIZE_GB)
    executor = metadata.get("executor")
    if executor is not None and not isinstance(executor, str):
        raise malformed("metadata.executor must be a string")
    executor = executor or settings.BACKUP_DEFAULT_EXECUTOR
    if executor not in EXECUTOR_NAMES:
        raise malformed(
            f"unknown executor {executor!r}; choose one of: {', '.join(EXECUTOR_NAMES)}", "metadata.executor"
        )
    if executor == "hypersdk" and not settings.HYPERSDK_URL:
        # Refused now rather than failing at run time: nothing on this server could run it.
        raise malformed(
            "the hypersdk executor is not configured on this server (HYPERSDK_URL is unset); "
            "use the file executor or ask an administrator to set HYPERSDK_URL",
            "metadata.executor",
        )
    not_before = _timestamp(metadata.get("not_before"), "metadata.not_before")
    if not_before is not None and not_before > now + timedelta(days=MAX_NOT_BEFORE_DAYS):
        raise InvalidDefinition(
            f"metadata.not_before is more than {MAX_NOT_BEFORE_DAYS} days ahead", field="metadata.not_before"
        )
    if executor == "file":
        _check_file_paths(definition, vm_path)
    if job_id is not None:
        definition["id"] = job_id
    return ParsedDefinition(
        definition=definition,
        secrets=secrets,
        job_id=job_id,
        name=name,
        vm_path=vm_path,
        carbon_aware=carbon_aware,
        zone_code=zone_code,
        threshold=threshold,
        risk=risk,
        max_delay=max_delay,
        expected_duration=timedelta(hours=duration_hours),
        data_size_gb=data_size_gb,
        executor=executor,
        not_before=not_before if not_before is not None and not_before > now else None,
    )


def _inside(path: str, roots: list[Any]) -> bool:
    try:
        resolve_inside(path, roots)
    except (PathNotAllowed, ValueError, OSError, RuntimeError):  # outside, NUL byte, symlink loop
        return False
    return True


def _check_file_paths(definition: dict[str, Any], vm_path: str) -> None:
    """The file executor's source and target must lie inside the configured roots.

    Checked at submission so `../../etc/passwd` is refused at once rather than failing when the
    job runs; containment only (the source may not exist yet), and the executor checks again at
    run time because the filesystem may change in between. The message names the allowed roots
    and nothing found on disk. hypersdk paths belong to the remote daemon and are not checked.
    """
    sources = list(settings.BACKUP_SOURCE_ROOTS)
    if not _inside(vm_path, sources):
        allowed = ", ".join(str(root) for root in sources)
        raise InvalidDefinition(
            f"vm_path {vm_path!r} is outside the backup source roots ({allowed})", field="vm_path"
        )
    for key in ("output_dir", "output_path"):
        value = definition.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise malformed(f"{key} must be a string", key)
        if not _inside(value, [settings.BACKUP_TARGET_ROOT]):
            raise InvalidDefinition(
                f"{key} {value!r} is outside the backup target root ({settings.BACKUP_TARGET_ROOT})",
                field=key,
            )
        _check_path_length(str(resolve_inside(value, [settings.BACKUP_TARGET_ROOT])), key)


# A file or folder name longer than this fails when the backup writes it (Linux's NAME_MAX).
NAME_MAX_BYTES = 255


def _check_path_length(resolved: str, key: str) -> None:
    """A target the job can store (its column) and the filesystem can create, said at submission
    rather than as a database error or a failed run later."""
    from scheduler.models import BackupJob

    longest = column_max_length(BackupJob, "target")
    if len(resolved) > longest:
        raise InvalidDefinition(
            f"{key} is too long: {len(resolved)} characters inside the target root, at most {longest}",
            field=key,
        )
    if any(len(part.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES for part in PurePath(resolved).parts):
        raise InvalidDefinition(
            f"{key} has a file or folder name longer than {NAME_MAX_BYTES} bytes", field=key
        )


def _timestamp(value: Any, what: str) -> datetime | None:
    """ISO 8601 in: `Z`, offsets and naive (UTC) times, as the Python client sends them."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise malformed(f"{what} must be an ISO 8601 timestamp", what)
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise malformed(f"{what}: {exc}", what) from None
