"""hyperweb.lib.durations: the one duration grammar, and the commands that all speak it."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class

from hyperweb.lib.durations import HELP, parse_duration, parse_hours

H, M, S, D = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1), timedelta(days=1)

ACCEPTED = [
    ("90", 90 * H),  # a bare number is hours (the commands' unit)
    ("1.5", 1.5 * H),
    ("0", timedelta(0)),
    ("90m", 90 * M),
    ("90min", 90 * M),
    ("90 min", 90 * M),
    ("90 minutes", 90 * M),
    ("2h", 2 * H),
    ("2H", 2 * H),
    ("1.5h", 1.5 * H),
    ("2 hours", 2 * H),
    ("2hr", 2 * H),
    ("1h30m", 90 * M),
    ("1h 30m", 90 * M),
    ("1h30min", 90 * M),
    ("1h30m0s", 90 * M),  # Go's time.Duration.String(), as HyperSDK writes durations
    ("3h2m1s", 3 * H + 2 * M + S),
    ("45s", 45 * S),
    ("1d", D),
    ("2 days", 2 * D),
    ("1d12h", 36 * H),
    ("1w", 7 * D),
    ("  2h  ", 2 * H),
]

REJECTED = [
    "",
    "   ",
    "soon",
    "two",
    "2x",
    "1h30",  # a unitless part after a unit
    "h",
    "-1",
    "-2h",
    "+2h",
    "1e3",
    "inf",
    "nan",
    "1_000",
    ".5h",
    "PT2H",  # ISO 8601 durations were never accepted anywhere
    "1h,30m",
    "8 fortnights",
    "1ms",
    "99999999999999999d",  # too long for a timedelta
]


@pytest.mark.parametrize("text, expected", ACCEPTED)
def test_it_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_hours(text) == pytest.approx(expected.total_seconds() / 3600)


@pytest.mark.parametrize("text", REJECTED)
def test_it_rejects_naming_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration") as info:
        parse_duration(text)
    assert repr(text) in str(info.value)


def test_a_bare_number_is_in_the_unit_the_option_names() -> None:
    assert parse_duration("90", bare_unit="s") == 90 * S
    assert parse_duration("90", bare_unit="m") == 90 * M
    assert parse_duration("90m", bare_unit="s") == 90 * M  # a unit always wins


def test_positive_refuses_zero() -> None:
    assert parse_duration("0") == timedelta(0)
    for text in ("0", "0h", "0m0s"):
        with pytest.raises(ValueError, match=f"bad duration '{text}': it must be more than 0"):
            parse_duration(text, positive=True)


def _option_help(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, str]:
    """Every option's help, subcommands' included: {"estimate --hours": "..."}."""
    found: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_option_help(sub, f"{prefix}{name} "))
        elif action.option_strings:
            found[prefix + action.option_strings[-1]] = action.help or ""
    return found


def test_every_duration_option_points_to_the_one_documentation() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "OPERATIONS.md").read_text()
    assert "## Durations and times" in text and "docs/OPERATIONS.md, 'Durations and times'" in HELP
    options = {
        "carbon": ["estimate --hours", "estimate --max-delay", "forecast --every"],
        "backtest": ["--duration", "--max-delay", "--every", "--replan-every"],
        "backup": ["submit --duration", "submit --max-delay", "plan --duration", "plan --max-delay"],
    }
    for name, wanted in options.items():
        command = load_command_class(get_commands()[name], name)
        helps = _option_help(command.create_parser("manage.py", name))
        for option in wanted:
            assert HELP in helps[option], (name, option, helps[option])


# -- every command that takes a duration accepts and refuses the same spellings -------------------
# Each command is run so that it fails right after parsing its durations (an unknown zone, a
# missing file): an accepted duration gets that far, a refused one stops at "bad duration".
# `--option=value`, so argparse does not take `-2h` for an option.

COMMANDS = {
    "carbon estimate --hours": lambda d: (
        "carbon",
        "estimate",
        "--zone",
        "XX",
        "--data",
        "5",
        f"--hours={d}",
    ),
    "carbon estimate --max-delay": lambda d: (
        "carbon",
        "estimate",
        "--zone",
        "XX",
        "--data",
        "5",
        f"--max-delay={d}",
    ),
    "carbon forecast --every": lambda d: ("carbon", "forecast", "--zone", "XX", f"--every={d}"),
    "backtest --duration": lambda d: ("backtest", "--csv", "/nonexistent.csv", f"--duration={d}"),
    "backtest --max-delay": lambda d: ("backtest", "--csv", "/nonexistent.csv", f"--max-delay={d}"),
    "backtest --every": lambda d: ("backtest", "--csv", "/nonexistent.csv", f"--every={d}"),
    "backup submit --duration": lambda d: ("backup", "submit", "a.img", "--zone", "XX", f"--duration={d}"),
    "backup plan --max-delay": lambda d: ("backup", "plan", "a.img", "--zone", "XX", f"--max-delay={d}"),
}
# Durations that must be more than 0 refuse 0 (the backtest's job length and step, an estimate's
# hours); the rest take every accepted spelling.
POSITIVE = {"carbon estimate --hours", "backtest --duration", "backtest --every"}


def _error(args: tuple[str, ...]) -> str:
    with pytest.raises(CommandError) as info:
        call_command(*args)
    assert info.value.returncode == 2
    return str(info.value)


@pytest.mark.django_db
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_accepts_the_same_spellings(command: str) -> None:
    for text, value in ACCEPTED:
        if value == timedelta(0) and command in POSITIVE:
            assert "must be more than 0" in _error(COMMANDS[command](text))
            continue
        message = _error(COMMANDS[command](text))
        assert "bad duration" not in message and "not a duration" not in message, (command, text, message)


@pytest.mark.django_db
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_refuses_the_same_spellings(command: str) -> None:
    for text in REJECTED:
        if not text.strip():
            continue  # argparse hands an empty option on; covered by the table above
        message = _error(COMMANDS[command](text))
        assert f"bad duration {text!r}" in message, (command, text, message)


# -- the API and the forms take hours as numbers: the commands' spellings mean the same hours ----


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", ["1h30m", "90min", "90m", "1.5", "1.5h", "1h30m0s"])
def test_a_command_duration_is_the_hours_the_api_takes(
    spelling, operator_api, settings, tmp_path, monkeypatch
):
    from scheduler.models import BackupJob

    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    monkeypatch.setattr("scheduler.dispatch.enqueue_jobs", lambda ids, **kw: None)
    call_command("backup", "submit", "a.img", "--now", f"--duration={spelling}", "--id", "from-command")
    response = operator_api.post(
        "/jobs/submit",
        {"id": "from-api", "vm_path": "a.img", "metadata": {"expected_duration_hours": 1.5}},
        format="json",
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.json()
    durations = {job.pk: job.expected_duration for job in BackupJob.objects.all()}
    assert durations == {"from-command": 90 * M, "from-api": 90 * M}
