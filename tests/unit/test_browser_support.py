"""The browser-test set-up decides correctly whether a Chromium is there."""

from __future__ import annotations

from pathlib import Path

from tests.support import browser


def test_a_configured_chromium_that_is_not_executable_counts_as_missing(monkeypatch, tmp_path: Path):
    missing = tmp_path / "chromium"
    missing.write_text("not a program")
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(missing))
    assert browser.find_chromium() is None
    reason = browser.unavailable_reason()
    assert reason is not None and "no Chromium found" in reason


def test_a_configured_executable_is_used(monkeypatch, tmp_path: Path):
    program = tmp_path / "chromium"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(program))
    assert browser.find_chromium() == str(program)


def test_required_only_when_the_variable_is_set_and_not_zero(monkeypatch):
    monkeypatch.delenv(browser.REQUIRE_ENV, raising=False)
    assert not browser.required()
    monkeypatch.setenv(browser.REQUIRE_ENV, "0")
    assert not browser.required()
    monkeypatch.setenv(browser.REQUIRE_ENV, "1")
    assert browser.required()
