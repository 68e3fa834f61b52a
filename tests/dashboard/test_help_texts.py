"""Help texts speak to users: each default is said in words (its value), the setting's name at
most in parentheses for the administrator, never instead of the value."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from scheduler.models import BackupPolicy


def _help(html: str) -> str:
    return " ".join(re.findall(r'<span class="help"[^>]*>(.*?)</span>', html, re.S))


def test_the_risk_help_says_the_default_risk_in_words(operator: Client, settings: Any) -> None:
    settings.BACKUP_RISK = "cautious"
    for url in ("/backups/new", "/policies/new"):
        html = operator.get(url).content.decode()
        helps = _help(html)
        assert "default: cautious" in helps, (url, helps)
        assert "default: BACKUP_RISK" not in helps
        assert "default (cautious)" in html  # the empty choice names it too


def test_the_retention_texts_say_the_default_rule_and_how_often_pruning_runs(
    operator: Client, settings: Any
) -> None:
    settings.BACKUP_KEEP_LAST = 7
    settings.BACKUP_KEEP_DAILY = None
    settings.BACKUP_KEEP_WEEKLY = None
    settings.BACKUP_KEEP_MONTHLY = 12
    settings.BACKUP_LIFECYCLE_MINUTES = 90
    policy = BackupPolicy.objects.create(name="nightly", schedule="0 22 * * *", job_template={"vm_path": "x"})
    detail = operator.get(f"/policies/{policy.pk}").content.decode()
    assert "the default for recurring backups (BACKUP_KEEP_* settings)" in detail
    assert "every 1.5 h (BACKUP_LIFECYCLE_MINUTES)" in detail
    assert "the BACKUP_KEEP_* default" not in detail
    form = operator.get(f"/policies/{policy.pk}/retention").content.decode()
    assert "Empty everywhere: the default rule, keep last 7, monthly 12 (BACKUP_KEEP_* settings)" in form
