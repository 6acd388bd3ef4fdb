"""Shared pytest fixtures: throw-away caches, the real-data folder, small settings, a study."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from skillcircle.settings import Settings

#: Where pytest_configure keeps the numba cache folder it made, if any.
_NUMBA_KEY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """One numba kernel cache for the session and its subprocesses, never the user's.

    ``NUMBA_CACHE_DIR`` points at ``.pytest_cache/numba`` in the project (kept between
    sessions, so kernels are compiled once per change of their source; numba's index checks
    each source file's stamp). The tests run ``python -m skillcircle`` in subprocesses, whose
    entry point would otherwise cache kernels in ``$SKILLCIRCLE_CACHE`` — a new temporary
    folder each session, so compiled again. Set before numba is first imported (which is
    when numba reads the variable); a ``NUMBA_CACHE_DIR`` already set is left alone.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = Path(config.rootpath) / ".pytest_cache" / "numba"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only checkout: a folder for this session only
        folder = Path(tempfile.mkdtemp(prefix="skillcircle-numba-"))
    config.stash[_NUMBA_KEY] = str(folder)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Undo :func:`pytest_configure`."""
    folder = config.stash.get(_NUMBA_KEY, None)
    if folder is not None:
        os.environ.pop("NUMBA_CACHE_DIR", None)
        if Path(folder).name != "numba":  # the session-only fallback
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def isolated_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point the cache variables at a temporary folder for the session (restored after).

    No test reads or writes the user's caches, so a stale cache cannot hide a loader change.
    osmnx's HTTP cache follows ``Settings.cache_dir`` (network/load.py sets it only for a
    download). Session-scoped so that session fixtures (the Yuexiu demo) are covered too.
    """
    root = tmp_path_factory.mktemp("caches")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SKILLCIRCLE_CACHE", str(root / "skillcircle"))
        mp.setenv("XDG_CACHE_HOME", str(root / "xdg"))
        mp.setenv("SKILLCIRCLE_NO_WARMUP", "1")  # no background compilers from CLI tests
        yield root


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real-data folder named by SKILLCIRCLE_DATA (tests using it are marked ``data``)."""
    env = os.environ.get("SKILLCIRCLE_DATA")
    if not env:
        if os.environ.get("CI"):
            pytest.fail("CI must set SKILLCIRCLE_DATA (the shared data folder)")
        pytest.skip("SKILLCIRCLE_DATA is not set to the shared data folder")
    if not Path(env).is_dir():  # set but wrong: fail loudly instead of skipping silently
        pytest.fail(f"SKILLCIRCLE_DATA={env!r} is not a folder")
    return Path(env).resolve()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with a throw-away cache folder."""
    return Settings(crs=HAND_CRS, cache_dir=tmp_path / "cache")


@pytest.fixture(scope="session")
def yuexiu_demo(data_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demo (report + suggest --add 10) on the real Yuexiu data, run once per session."""
    from skillcircle.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, data_root=data_root)


HAND_CRS = "EPSG:4547"
#: Origin of the hand-made study (EPSG:4547, central Guangzhou); see tests/test_analysis.py.
X0, Y0 = 426_000.0, 2_560_000.0


@pytest.fixture
def hand_study(tmp_path: Path) -> dict:
    """A 3 x 3 footway grid, a 3 x 3 population raster and three stations (files)."""
    lines = []
    for k in (0.0, 100.0, 200.0):
        lines.append(shapely.LineString([(X0, Y0 + k), (X0 + 200, Y0 + k)]))
        lines.append(shapely.LineString([(X0 + k, Y0), (X0 + k, Y0 + 200)]))
    # split the long lines at the grid nodes (shared vertices)
    pieces = []
    for line in lines:
        (ax, ay), (bx, by) = line.coords
        for t in (0.0, 0.5):
            pieces.append(
                shapely.LineString(
                    [
                        (ax + (bx - ax) * t, ay + (by - ay) * t),
                        (ax + (bx - ax) * (t + 0.5), ay + (by - ay) * (t + 0.5)),
                    ]
                )
            )
    roads = gpd.GeoDataFrame({"highway": ["footway"] * len(pieces)}, geometry=pieces, crs=HAND_CRS)
    roads_path = tmp_path / "roads.geojson"
    roads.to_file(roads_path)

    pop = np.array([[10, 20, 30], [40, 50, 60], [70, 80, 90]], dtype="float32")
    tif = tmp_path / "pop.tif"
    transform = Affine(100, 0, X0 - 50, 0, -100, Y0 + 250)
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=3,
        height=3,
        count=1,
        dtype="float32",
        crs=HAND_CRS,
        transform=transform,
        nodata=-9999,
    ) as dst:
        dst.write(pop, 1)

    pts = gpd.GeoSeries(
        shapely.points([(X0 + 50, Y0), (X0 + 210, Y0 + 180), (X0 - 300, Y0 - 300)]), crs=HAND_CRS
    ).to_crs("EPSG:4326")
    ledger = pd.DataFrame(
        {
            "名称": ["A站", "B站", "C站"],
            "类型": ["社区型", "园区型", "院校机构型"],
            "经度": pts.x,
            "纬度": pts.y,
        }
    )
    ledger_path = tmp_path / "ledger.csv"
    ledger.to_csv(ledger_path, index=False)
    return {
        "stations": ledger_path,
        "network": str(roads_path),
        "population": str(tif),
        "districts": "none",
        "crs": HAND_CRS,  # the grid's own CRS (the default would be the stations' UTM zone)
        "minutes": 2.4,
        "max_snap_m": 100.0,
    }


@pytest.fixture
def hand_origin() -> tuple[float, float]:
    """Origin (EPSG:4547) of the hand-made study's grid."""
    return X0, Y0
