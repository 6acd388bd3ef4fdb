"""The command line compiles the kernels ahead in a background process, once per cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from skillcircle import warmup


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    class FakePopen:
        def __init__(self, argv: list[str], **kwargs: object) -> None:
            calls.append(argv)
            assert kwargs["start_new_session"] is True  # detached: the command never waits
            assert kwargs["env"]["SKILLCIRCLE_NO_WARMUP"] == "1"  # type: ignore[index]

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    monkeypatch.delenv("SKILLCIRCLE_NO_WARMUP", raising=False)
    return calls


def test_started_once_per_cache_folder(
    spawned: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert warmup.start_in_background() is True
    assert spawned == [[sys.executable, "-m", "skillcircle.warmup"]]
    assert (tmp_path / warmup.STARTED).is_file()
    assert warmup.start_in_background() is False  # one is compiling now
    (tmp_path / warmup.MARKER).write_text("done")
    (tmp_path / warmup.STARTED).unlink()
    assert warmup.start_in_background() is False  # done for this version
    assert len(spawned) == 1


def test_not_started_when_switched_off_or_without_a_cache_folder(
    spawned: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert warmup.start_in_background() is False
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SKILLCIRCLE_NO_WARMUP", "1")
    assert warmup.start_in_background() is False
    assert spawned == []


def test_an_abandoned_start_is_retried(
    spawned: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    old = tmp_path / warmup.STARTED
    old.write_text("123")
    os.utime(old, (1.0, 1.0))  # long ago, and no marker: that process died
    assert warmup.start_in_background() is True
    assert len(spawned) == 1
