"""The program keeps numba's compiled kernels in the cache folder, keyed by version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from skillcircle import __version__

PROBE = (
    "from skillcircle.cli import _use_kernel_cache; _use_kernel_cache(); "
    "import numba; print(numba.config.CACHE_DIR)"
)


def _probe(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_kernels_go_to_the_cache_folder_by_version(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["SKILLCIRCLE_CACHE"] = str(tmp_path)
    expected = tmp_path / "numba" / __version__
    assert _probe(env) == str(expected)
    assert expected.is_dir()


def test_a_numba_cache_dir_set_by_the_user_wins(tmp_path: Path) -> None:
    env = dict(os.environ, SKILLCIRCLE_CACHE=str(tmp_path / "c"), NUMBA_CACHE_DIR=str(tmp_path))
    assert _probe(env) == str(tmp_path)
    assert not (tmp_path / "c").exists()
