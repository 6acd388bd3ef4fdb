"""Shared pytest fixtures: the real-data folder and small settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skillcircle.settings import Settings


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real-data folder named by SKILLCIRCLE_DATA (tests using it are marked ``data``)."""
    env = os.environ.get("SKILLCIRCLE_DATA")
    if not env or not Path(env).is_dir():
        pytest.skip("SKILLCIRCLE_DATA is not set to the shared data folder")
    return Path(env).resolve()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with a throw-away cache folder."""
    return Settings(cache_dir=tmp_path / "cache")


@pytest.fixture(scope="session")
def yuexiu_demo(data_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demo (report + suggest --add 10) on the real Yuexiu data, run once per session."""
    from skillcircle.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, data_root=data_root)
