"""Write every output of a run at once: files, web map and HTML report.

``skillcircle report``, ``skillcircle suggest`` and the demo all end here, so the folder a
planner receives is the same whichever command made it. The run is written into a staging
folder and moved into place only when every file is complete
(:class:`~skillcircle.outputs.folder.RunFolder`): an error or an interruption leaves the
previous run as it was, and no file the tool did not write is ever replaced or deleted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from skillcircle._errors import InputError
from skillcircle.access.analysis import Analysis
from skillcircle.outputs import schema
from skillcircle.outputs.datafiles import write_report
from skillcircle.outputs.figure import map_figure_png
from skillcircle.outputs.folder import RunFolder
from skillcircle.outputs.geopackage import gpkg_layers, write_geopackage
from skillcircle.outputs.html import write_html_report
from skillcircle.outputs.webmap import map_from_dir, map_titles, write_map
from skillcircle.outputs.webmap.walktime import write_walk_grid
from skillcircle.outputs.workbook import workbook_sheets, write_workbook
from skillcircle.siting.suggest import Plan

__all__ = ["publish"]


def publish(
    analysis: Analysis,
    out_dir: str | Path,
    *,
    plan: Plan | None = None,
    basemap: str = "osm",
    note: str | None = None,
    centre: tuple[float, float] | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the data files, ``map.html`` and ``report.html`` into ``out_dir``.

    Every name written is one of :data:`skillcircle.outputs.schema.OUTPUT_FILES`.

    Parameters
    ----------
    analysis
        The coverage analysis.
    out_dir
        Output folder (created if missing). The previous run's files there (those its
        manifest lists) are replaced; any other file is left alone.
    plan
        A siting plan, when there is one.
    basemap
        Base map of the web map: ``osm``, ``amap``, ``tianditu`` or a tile URL template.
    note
        A line shown on the map and reports and stored in ``summary.json`` (e.g. "Illustrative
        stations, not the official list"); the summaries' own ``note`` when omitted.
    centre
        ``(lat, lon)`` the map opens on when it has no feature at all (e.g. the city profile's
        centre); a world view when omitted.

    Returns
    -------
    dict
        Output name → path.
    """
    if note is not None:
        analysis = dataclasses.replace(
            analysis, summary=dataclasses.replace(analysis.summary, note=note)
        )
        if plan is not None:
            plan = dataclasses.replace(plan, summary=dataclasses.replace(plan.summary, note=note))
    run = RunFolder(
        out_dir,
        names=schema.OUTPUT_FILES,
        inputs=analysis.inputs.study.input_paths(),
        overwrite=overwrite,
    )
    run.check()
    staging = run.stage()
    try:
        written = write_report(analysis, staging, plan=plan)
        written.update(write_walk_grid(analysis, staging))
        # titled after the study's districts and settings (the planner's folder without them)
        title, subtitle = map_titles(staging)
        if subtitle is None:
            title = f"skillcircle · {run.target.name}"
        page = map_from_dir(
            staging, basemap=basemap, centre=centre, title=None if subtitle else title
        )
        written[schema.MAP_HTML] = write_map(page, staging / schema.MAP_HTML)
        map_png = map_figure_png(staging, title=title)
        written[schema.REPORT_XLSX] = write_workbook(
            staging / schema.REPORT_XLSX, workbook_sheets(staging), image_png=map_png
        )
        written[schema.GPKG] = write_geopackage(staging / schema.GPKG, gpkg_layers(staging))
        written[schema.REPORT_HTML] = write_html_report(
            staging / schema.REPORT_HTML,
            analysis,
            plan=plan,
            map_html=written[schema.MAP_HTML].read_text(encoding="utf-8"),
            map_png=map_png,
        )
        unknown = set(written) - set(schema.OUTPUT_FILES)
        if unknown:  # a writer added a file the contract does not name
            raise RuntimeError(f"files outside the output contract: {sorted(unknown)}")
        run.commit()
    except OSError as exc:  # a full disk, a folder made read-only meanwhile: nothing is kept
        raise InputError(
            f"cannot write the outputs ({exc.strerror or exc}); nothing was written",
            path=run.target,
        ) from exc
    finally:
        run.abort()  # no-op after a commit
    return {name: run.target / name for name in written}
