"""Settings that guard the site: the generated SECRET_KEY."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hyperweb import settings as site_settings


def test_it_generates_one_private_secret_key_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(site_settings, "DATA_DIR", tmp_path)
    old_umask = os.umask(0)  # the most permissive umask: the file must still be private
    try:
        first = site_settings._secret_key()
    finally:
        os.umask(old_umask)
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 50 and site_settings._secret_key() == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary left behind


def test_it_keeps_a_key_another_process_wrote_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(site_settings, "DATA_DIR", tmp_path)
    real_link = os.link

    def lose_the_race(src: str, dst: str) -> None:
        Path(dst).write_text("the-other-process-key")
        real_link(src, dst)  # raises FileExistsError, as a real lost race does

    monkeypatch.setattr(os, "link", lose_the_race)
    assert site_settings._secret_key() == "the-other-process-key"
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_it_prefers_the_environment_and_keeps_debug_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert site_settings._secret_key() == "from-env"
    assert site_settings.DEBUG is False or os.environ.get("DEBUG")


def test_it_still_writes_the_key_where_hard_links_are_not_supported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(site_settings, "DATA_DIR", tmp_path)

    def no_links(src: str, dst: str) -> None:
        raise PermissionError("operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    key = site_settings._secret_key()
    assert len(key) >= 50 and stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]
