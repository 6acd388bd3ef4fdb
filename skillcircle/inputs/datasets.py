"""Where the real and sample data live: one function each.

* :func:`yuexiu` — paths of the Yuexiu (越秀区) layers in the shared data folder named by
  ``$SKILLCIRCLE_DATA`` (OSM roads, 街道 polygons, district boundary, water, WorldPop,
  WorldCover). The files are never copied into the repository.
* :func:`sample_path` — the illustrative station ledger and other small samples shipped with
  the package (``skillcircle/data/``; the same files stand in the repository's ``data/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from skillcircle._errors import DataFolderError, InputFileNotFoundError
from skillcircle.inputs.files import data_dir

__all__ = ["YUEXIU_ADCODE", "YuexiuData", "sample_path", "yuexiu"]

#: NBS / AMap code of 越秀区.
YUEXIU_ADCODE = "440104"


@dataclass(frozen=True)
class YuexiuData:
    """Paths of the Yuexiu layers in the shared data folder (all EPSG:4547).

    Attributes
    ----------
    root
        The shared data folder.
    roads, subdistricts, boundary, water
        OSM layers (GeoPackage).
    worldpop, worldcover
        Rasters: population per ~90 m cell; land cover at ~9 m (50 = built-up).
    census
        The 2020 census table of Guangzhou's districts.
    """

    root: Path
    roads: Path
    subdistricts: Path
    boundary: Path
    water: Path
    worldpop: Path
    worldcover: Path
    census: Path


def yuexiu(root: str | Path | None = None) -> YuexiuData:
    """Locate the Yuexiu data.

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
        When the folder is not set or a layer is missing.
    """
    found = Path(root) if root is not None else data_dir()
    if found is None:  # pragma: no cover - data_dir() raises first
        raise DataFolderError("SKILLCIRCLE_DATA is not set")
    base = found
    y = base / "yuexiu"
    paths = YuexiuData(
        root=base,
        roads=y / "roads_osm.gpkg",
        subdistricts=y / "subdistricts_osm.gpkg",
        boundary=y / "boundary_osm.gpkg",
        water=y / "water_osm.gpkg",
        worldpop=y / "worldpop.tif",
        worldcover=y / "worldcover.tif",
        census=base / "guangzhou" / "census2020_districts.csv",
    )
    missing = [str(p) for p in (paths.roads, paths.worldpop, paths.subdistricts) if not p.is_file()]
    if missing:
        raise DataFolderError(
            f"the data folder {base} lacks {', '.join(missing)}: point SKILLCIRCLE_DATA at the "
            "shared data folder or run the demo with online=True",
            param="online",
        )
    return paths


def sample_path(name: str = "yuexiu_stations.csv") -> Path:
    """Path of a small sample file shipped with skillcircle.

    Parameters
    ----------
    name
        File name, e.g. ``"yuexiu_stations.csv"`` (the illustrative Yuexiu ledger: one site per
        街道 plus a few training schools — *not* the official list).

    Examples
    --------
    >>> sample_path().name
    'yuexiu_stations.csv'
    """
    path = Path(str(resources.files("skillcircle") / "data" / name))
    if not path.is_file():
        raise InputFileNotFoundError(path, "sample file")
    return path
