"""The server's half of the one rule for times (hyperweb/lib/zonetext.py; static/js/localtime.js
writes the same in the browser, tests/dashboard/test_e2e_time_format.py compares the two)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hyperweb.lib import zonetext

BERLIN, LA, UTC_ZONE = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles"), ZoneInfo("UTC")
AT = datetime(2026, 12, 3, 10, 0, 5, tzinfo=UTC)


def test_an_instant_has_the_day_in_words_a_24_hour_clock_and_the_zones_abbreviation() -> None:
    assert zonetext.instant(AT, BERLIN) == "Thu 3 Dec 2026 11:00 CET"
    assert zonetext.instant(AT, BERLIN, "seconds") == "Thu 3 Dec 2026 11:00:05 CET"
    assert zonetext.instant(AT, LA, "time") == "02:00 PST"
    assert zonetext.instant(AT.replace(month=7), BERLIN) == "Fri 3 Jul 2026 12:00 CEST"
    assert zonetext.instant(AT.replace(hour=22), UTC_ZONE) == "Thu 3 Dec 2026 22:00 UTC"


def test_a_zone_without_an_abbreviation_is_named_by_its_offset() -> None:
    assert zonetext.instant(AT, ZoneInfo("America/Sao_Paulo"), "time") == "07:00 GMT-3"
    assert zonetext.instant(AT, ZoneInfo("Asia/Kathmandu"), "time") == "15:45 GMT+5:45"
    assert zonetext.labels(BERLIN, AT) == "3600=CET 7200=CEST"
    assert zonetext.labels(ZoneInfo("Asia/Kathmandu"), AT) == "20700=GMT+5:45"


def test_a_range_names_its_day_once_within_a_day_and_both_ends_across_midnight() -> None:
    end = AT.replace(hour=12)
    assert zonetext.span(AT, end, BERLIN) == "Thu 3 Dec 2026 11:00-13:00 CET"
    late, next_day = AT.replace(hour=22), AT.replace(day=4, hour=6)
    assert zonetext.span(late, next_day, BERLIN) == "Thu 3 Dec 2026 23:00 CET - Fri 4 Dec 2026 07:00 CET"


def test_a_services_utc_text_is_rewritten_by_the_same_rule() -> None:
    text = "Best 2 h window 10:00-12:00 UTC; start at 2026-12-03 10:00 UTC, at 22:00 UTC."
    assert zonetext.rewrite(text, BERLIN, AT) == (
        "Best 2 h window 11:00-13:00 CET; start at Thu 3 Dec 2026 11:00 CET, at 23:00 CET."
    )
    assert zonetext.rewrite("start at 2026-12-03 10:00 UTC", UTC_ZONE) == "start at Thu 3 Dec 2026 10:00 UTC"
    assert (
        zonetext.rewrite("at 01:30 UTC, on Monday", LA, AT, days=True)
        == "at 17:30 PST the day before, on Monday"
    )
