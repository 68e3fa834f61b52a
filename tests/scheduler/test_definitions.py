"""Parsing JobDefinitions: secrets kept apart, bounds, the executor rule (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.services.definitions import InvalidDefinition, parse_definition, restore_secrets, strip_secrets

NOW = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def test_it_keeps_keys_that_end_with_a_secret_word_out_of_the_definition() -> None:
    raw = {
        "vm_path": "a",
        "options": {"vcenter_password": "pw1", "access-token": "tk2", "clientSecret": "cs3", "thin": True},
    }
    parsed = parse_definition(raw, now=NOW)
    text = str(parsed.definition)
    assert "pw1" not in text and "tk2" not in text and "cs3" not in text
    assert parsed.definition["options"] == {"thin": True}
    assert restore_secrets(parsed.definition, parsed.secrets)["options"] == raw["options"]


def test_it_keeps_a_password_inside_a_vcenter_url_out_of_the_definition() -> None:
    raw = {"vm_path": "a", "vcenter_url": "https://root:hunter2@vc.example/sdk", "urls": ["https://u:p9@h/x"]}
    parsed = parse_definition(raw, now=NOW)
    assert parsed.definition["vcenter_url"] == "https://root@vc.example/sdk"
    assert parsed.definition["urls"] == ["https://u@h/x"]
    assert "hunter2" not in str(parsed.definition) and "p9" not in str(parsed.definition)
    restored = restore_secrets(parsed.definition, parsed.secrets)
    assert restored["vcenter_url"] == raw["vcenter_url"]
    assert restored["urls"] == raw["urls"]


def test_it_leaves_urls_without_a_password_and_plain_text_alone() -> None:
    data = {"vcenter_url": "https://vc.example/sdk", "name": "a@b: c", "mail": "ops@example.com"}
    stripped, removed = strip_secrets(data)
    assert stripped == data and removed == {}


def test_it_refuses_an_absurd_carbon_max_delay_with_a_message_not_an_overflow() -> None:
    raw = {"vm_path": "a", "metadata": {"carbon_aware": True, "carbon_zone": "DE", "carbon_max_delay": 1e30}}
    with pytest.raises(InvalidDefinition, match="more than 14 days"):
        parse_definition(raw, now=NOW)


def test_it_reads_not_before_by_the_wire_timestamp_rules_lowercase_z_and_offsets_included() -> None:
    for text in ("2026-03-01T22:00:00z", "2026-03-01T23:00:00+01:00", "2026-03-01T22:00:00"):
        parsed = parse_definition({"vm_path": "a", "metadata": {"not_before": text}}, now=NOW)
        assert parsed.not_before == datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    with pytest.raises(InvalidDefinition, match="metadata.not_before"):
        parse_definition({"vm_path": "a", "metadata": {"not_before": "tomorrow"}}, now=NOW)


def test_it_formats_job_times_like_every_other_wire_timestamp() -> None:
    from hyperweb.api.timestamps import format_timestamp
    from scheduler.services.jobs import format_ts

    moment = datetime(2026, 3, 1, 22, 0, 0, 5, tzinfo=UTC)
    assert format_ts(moment) == format_timestamp(moment) == "2026-03-01T22:00:00.000005Z"
    assert format_ts(datetime(2026, 3, 1, 22)) == "2026-03-01T22:00:00Z" and format_ts(None) is None
