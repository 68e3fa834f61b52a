"""Parsing and validating HyperSDK JobDefinitions (`POST /jobs/submit`, docs/API.md), secrets kept apart."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePath
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
from scheduler.models import BackupJob
from scheduler.uncertainty import RISK_LEVELS
from scheduler.vocabulary import BACKUP_FORMATS, EXPORT_METHODS

# Keys whose values are never stored in the definition nor echoed back to any client. A key that
# ends with one of them counts too: clients send `vcenter_password`, `access_token`, `client_secret`.
SECRET_KEYS = frozenset({"password", "passwd", "secret", "token", "api_key", "apikey", "private_key"})
MAX_ID_LENGTH = 128
# The longest a carbon-aware job may wait (carbon_max_delay, a policy's window_hours): far beyond
# any forecast, and small enough that adding it to a datetime never overflows.
MAX_DELAY = timedelta(days=14)
# A file or folder name longer than this fails when the backup writes it (Linux's NAME_MAX).
NAME_MAX_BYTES = 255


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


def check_text(value: Any, what: str, max_length: int | None, *, required: bool = False) -> str:
    """A string of at most `max_length` characters (the column it is stored in; None: any length)."""
    if required and (value is None or (isinstance(value, str) and not value.strip())):
        raise malformed(f"{what} is required", what)
    if not isinstance(value, str):  # 42 is not missing: say what is wrong with it
        raise malformed(f"{what} must be a string, got {type(value).__name__}", what)
    if max_length is not None and len(value) > max_length:
        raise malformed(f"{what} must be at most {max_length} characters, got {len(value)}", what)
    return value


@dataclass(frozen=True)
class Rule:
    """One key of a JobDefinition, or of its ``metadata``: the shape the validator accepts.

    :data:`DEFINITION_RULES` and :data:`METADATA_RULES` are the one statement of that shape:
    :func:`parse_definition` checks every key against them (a type, a length, an enum, a range;
    the message names the key), and the OpenAPI request schemas (scheduler.api.schemas) and the
    JobDefinition serializer (scheduler.api.serializers) are generated from them, so what the
    schema says and what the server accepts cannot drift. Rules between keys, on stored data or on
    configuration (a zone when carbon-aware, paths inside the roots, not_before's horizon) are
    code in parse_definition and words in the descriptions.

    ``kind``: ``text`` (a string; ``column``: the BackupJob column whose max_length caps it),
    ``id`` (a caller-chosen id, "" = choose one), ``enum`` ("" = not set), ``bool`` (true, false,
    or the strings "true" / "false"), ``object``, ``number`` (finite, in [minimum, maximum]) or
    ``timestamp`` (ISO 8601). null means "not set" unless ``nullable`` is False.
    """

    key: str
    kind: str
    required: bool = False
    nullable: bool = True
    column: str = ""
    choices: tuple[str, ...] = ()
    minimum: float = 0
    maximum: float | None = None
    too_large: str = ""  # what the message says past ``maximum`` (default: "must be at most ...")
    unknown: str = ""  # the message for a value outside ``choices``: {what}, {value!r}, {choices}
    description: str = ""  # for the schema; {max_length} is the column's


# The longest carbon_max_delay, in its unit (nanoseconds, as the HyperSDK Python client sends it).
MAX_DELAY_NS = MAX_DELAY / timedelta(microseconds=1) * 1000

METADATA_RULES: tuple[Rule, ...] = (
    Rule("carbon_aware", "bool", nullable=False, description="needs carbon_zone"),
    Rule("carbon_zone", "text", description="a zone id of GET /carbon/zones"),
    Rule(
        "carbon_max_intensity",
        "number",
        maximum=MAX_INTENSITY,
        description="gCO2/kWh: start at once at or below it",
    ),
    Rule(
        "carbon_max_delay",
        "number",
        maximum=MAX_DELAY_NS,
        too_large="is more than 14 days (it is in nanoseconds)",
        description="nanoseconds the job may wait (at most 14 days)",
    ),
    *(
        Rule(key, "number", minimum=MIN_DURATION_HOURS, maximum=MAX_DURATION_HOURS)
        for key in ("expected_duration_hours", "carbon_duration_hours")
    ),
    Rule("data_size_gb", "number", maximum=MAX_DATA_SIZE_GB),
    Rule(
        "not_before",
        "timestamp",
        description=f"start no earlier (at most {MAX_NOT_BEFORE_DAYS} days ahead)",
    ),
    Rule(
        "executor",
        "enum",
        choices=EXECUTOR_NAMES,
        unknown="{what}: unknown executor {value!r}; choose one of: {choices}",
    ),
    Rule("carbon_risk", "enum", choices=RISK_LEVELS),
)

DEFINITION_RULES: tuple[Rule, ...] = (
    Rule(
        "vm_path",
        "text",
        required=True,
        nullable=False,
        column="vm_path",
        description="file executor: inside BACKUP_SOURCE_ROOTS (relative paths are taken from there)",
    ),
    Rule("id", "id"),
    Rule("name", "text", column="name"),
    *(
        Rule(
            key,
            "text",
            column="target",
            description="file executor: inside BACKUP_TARGET_ROOT; at most {max_length} characters "
            f"once resolved there, each name at most {NAME_MAX_BYTES} bytes",
        )
        for key in ("output_dir", "output_path")
    ),
    Rule("format", "enum", choices=BACKUP_FORMATS),
    Rule("export_method", "enum", choices=EXPORT_METHODS),
    Rule("compress", "bool"),
    Rule("thin", "bool"),
    Rule("insecure", "bool"),
    Rule("vcenter", "object", description="server, username, password, insecure"),
    Rule("options", "object"),
    *(Rule(key, "text") for key in ("vcenter_url", "username", "datacenter", "method", "created_at")),
    Rule("metadata", "object"),
)

# hyperweb's scheduling keys sent beside vm_path instead of inside `metadata` (and the names a
# caller may use for them: `/schedules` takes `zone`, HyperSDK's Python client `max_delay_hours`).
# Other unknown keys are kept as given, as HyperSDK's daemon ignores them; these would be kept and
# never read, so the job would run at once instead of in the window asked for: refused, saying
# where they go.
MISPLACED_KEYS: dict[str, str] = {
    **{rule.key: f"metadata.{rule.key}" for rule in METADATA_RULES},
    "zone": "metadata.carbon_zone",
    "max_delay_hours": "metadata.carbon_max_delay (in nanoseconds)",
    "max_intensity": "metadata.carbon_max_intensity",
}


def misplaced_key_message(key: str) -> str:
    return f"{key}: not a JobDefinition key; it goes in {MISPLACED_KEYS[key]}"


# The BackupJob columns text rules name (their max_length caps the text).
TEXT_COLUMNS = ("name", "vm_path", "target")


def check_rule(rule: Rule, value: Any, what: str, columns: dict[str, int]) -> None:
    """Raise MalformedDefinition (naming ``what``) if ``value`` breaks ``rule``. null, and "" for
    an enum or an id, mean "not set" and pass unless the key is required or not nullable."""
    if rule.kind == "text":
        if value is None and not rule.required and rule.nullable:
            return
        check_text(value, what, columns[rule.column] if rule.column else None, required=rule.required)
    elif value is None and rule.nullable:
        return
    elif rule.kind == "id":
        if value != "":
            check_id(value, MAX_ID_LENGTH)
    elif rule.kind == "enum":
        if value != "" and value not in rule.choices:
            template = rule.unknown or "{what} must be one of {choices}, got {value!r}"
            raise malformed(template.format(what=what, value=value, choices=", ".join(rule.choices)), what)
    elif rule.kind == "bool":
        _bool(value, what)
    elif rule.kind == "object":
        if not isinstance(value, dict):
            raise malformed(f"{what} must be an object", what)
    elif rule.kind == "number":
        if rule.too_large and rule.maximum is not None:
            if _number(value, what, minimum=rule.minimum) > rule.maximum:
                raise malformed(f"{what} {rule.too_large}", what)
        else:
            _number(value, what, minimum=rule.minimum, maximum=rule.maximum)
    elif rule.kind == "timestamp":
        _timestamp(value, what)
    else:  # pragma: no cover - a rule of an unknown kind is a programming error
        raise AssertionError(f"unknown rule kind {rule.kind!r}")


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


def check_id(value: Any, max_length: int) -> str:
    """A caller-chosen id (job or schedule): it becomes a URL path segment, hence no '/'."""
    if not isinstance(value, str) or len(value) > max_length or "/" in value or not value.strip():
        raise malformed(f"id must be a string of at most {max_length} characters without '/'", "id")
    return value


def parse_definition(raw: Any, *, now: datetime, submitted: bool = True) -> ParsedDefinition:
    """Validate one JobDefinition; raise InvalidDefinition with a one-line reason. `submitted`:
    a caller's new definition (refusing MISPLACED_KEYS); False for a stored policy template, so a
    template stored before that check still runs."""
    if not isinstance(raw, dict):
        raise malformed("a job definition must be a JSON object", "body")
    definition, secrets = strip_secrets(raw)
    # null means "not set" for every key of a JobDefinition (clients send them): dropped, so the
    # stored definition (and what is echoed) carries only values of the documented types.
    definition = {key: value for key, value in definition.items() if value is not None}
    if submitted:
        for key in definition:
            if key in MISPLACED_KEYS:
                raise malformed(misplaced_key_message(key), key)
    columns = {name: column_max_length(BackupJob, name) for name in TEXT_COLUMNS}
    for rule in DEFINITION_RULES:
        if rule.key in definition or rule.required:
            check_rule(rule, definition.get(rule.key), rule.key, columns)
    metadata = definition.setdefault("metadata", {})
    for rule in METADATA_RULES:
        if rule.key in metadata:
            check_rule(rule, metadata[rule.key], f"metadata.{rule.key}", columns)
    # What the values mean, now that each has its documented shape.
    vm_path: str = definition["vm_path"]
    job_id = definition.get("id") or None
    name = definition.get("name") or ""
    for rule in DEFINITION_RULES:
        if rule.kind == "enum" and definition.get(rule.key) == "":
            del definition[rule.key]  # "" means not set; the wire contract never shows it
        elif rule.kind == "bool" and rule.key in definition:
            definition[rule.key] = _bool(definition[rule.key], rule.key)

    carbon_aware = _bool(metadata.get("carbon_aware", False), "metadata.carbon_aware")
    zone_code = metadata.get("carbon_zone") or None
    if carbon_aware and zone_code is None:
        raise InvalidDefinition(
            "metadata.carbon_zone is required when carbon_aware is true", field="metadata.carbon_zone"
        )
    threshold = metadata.get("carbon_max_intensity")
    threshold = None if is_unset_number(threshold) else float(threshold)
    risk = metadata.get("carbon_risk") or ""
    delay_ns = metadata.get("carbon_max_delay")
    if delay_ns is None:
        max_delay = timedelta(hours=settings.BACKUP_DEFAULT_MAX_DELAY_HOURS)
    else:
        # Nanoseconds (the Python client sends int(hours * 3600 * 1e9)); checked (at most 14 days)
        # before it becomes a timedelta, which overflows on absurd values.
        max_delay = timedelta(microseconds=float(delay_ns) / 1000)
    duration_hours = settings.BACKUP_DEFAULT_DURATION_HOURS
    for key in ("carbon_duration_hours", "expected_duration_hours"):  # the second wins
        if metadata.get(key) is not None:
            duration_hours = float(metadata[key])
    size = metadata.get("data_size_gb")
    data_size_gb = None if size is None else float(size)
    executor = metadata.get("executor") or settings.BACKUP_DEFAULT_EXECUTOR
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


def _inside(path: str, roots: list[Path]) -> bool:
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


def _check_path_length(resolved: str, key: str) -> None:
    """A target the job can store (its column) and the filesystem can create, said at submission
    rather than as a database error or a failed run later."""
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
