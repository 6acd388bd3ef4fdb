"""Write every output of a run at once: files, web map and HTML report.

``skillcircle report``, ``skillcircle suggest`` and the demo all end here, so the folder a
planner receives is the same whichever command made it.
"""

from __future__ import annotations

from pathlib import Path

from skillcircle.access.analysis import Analysis
from skillcircle.outputs.datafiles import write_report
from skillcircle.outputs.html import write_html_report
from skillcircle.outputs.webmap import map_from_dir, write_map
from skillcircle.siting.suggest import Plan

__all__ = ["publish"]


def publish(
    analysis: Analysis,
    out_dir: str | Path,
    *,
    plan: Plan | None = None,
    basemap: str = "osm",
) -> dict[str, Path]:
    """Write the data files, ``map.html`` and ``report.html`` into ``out_dir``.

    Parameters
    ----------
    analysis
        The coverage analysis.
    out_dir
        Output folder (created if missing).
    plan
        A siting plan, when there is one.
    basemap
        Base map of the web map: ``osm``, ``amap``, ``tianditu`` or a tile URL template.

    Returns
    -------
    dict
        Output name → path.
    """
    out = Path(out_dir)
    files = write_report(analysis, out, plan=plan)
    files["map.html"] = write_map(map_from_dir(out, basemap=basemap), out / "map.html")
    files["report.html"] = write_html_report(
        out / "report.html",
        analysis,
        plan=plan,
        map_html=files["map.html"].read_text(encoding="utf-8"),
    )
    return files
