"""The static map figure of the printed report and the workbook (``report_map.png``).

Drawn with matplotlib from the staged layers of an output folder (no tiles, no internet):
街道 shaded by coverage (sequential, colour-blind safe), gap zones outlined, stations as dots
and suggested sites numbered by rank. The figure object is built directly (no pyplot), so
no global matplotlib state is changed.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import geopandas as gpd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findSystemFonts
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from skillcircle._escaping import plain_text
from skillcircle.outputs import schema

__all__ = ["map_figure_png"]

logger = logging.getLogger(__name__)

_CJK_NAMES = (
    "wqy-microhei",
    "wqy-zenhei",
    "notosanscjk",
    "notosanssc",
    "msyh",
    "simhei",
    "pingfang",
)


def _cjk_font() -> FontProperties | None:
    """A font that draws Chinese, or ``None`` (labels then fall back to matplotlib's own)."""
    for path in findSystemFonts():
        if any(name in Path(path).name.lower().replace("-", "") for name in _CJK_NAMES) or any(
            name in Path(path).name.lower() for name in _CJK_NAMES
        ):
            return FontProperties(fname=path)
    return None


def _read(folder: Path, name: str) -> gpd.GeoDataFrame | None:
    path = folder / name
    if not path.is_file():
        return None
    frame = gpd.read_file(path)
    return frame if len(frame) else None


def map_figure_png(folder: str | Path, *, title: str = "", width_in: float = 7.0) -> bytes:
    """Render the report's static map from the layers written in ``folder``.

    Parameters
    ----------
    folder
        An output (or staging) folder holding the GeoJSON layers of
        :func:`~skillcircle.outputs.datafiles.write_report`.
    title
        Drawn above the map when given.
    width_in
        Figure width in inches (the height follows the layers' extent, at most 1.3 × width).

    Returns
    -------
    bytes
        A PNG image (150 dpi).
    """
    folder = Path(folder)
    subs = _read(folder, schema.SUBDISTRICTS_GEOJSON)
    districts = _read(folder, schema.DISTRICTS_GEOJSON)
    stations = _read(folder, schema.STATIONS_GEOJSON)
    gaps = _read(folder, schema.GAPS_GEOJSON)
    sugg = _read(folder, schema.SUGGESTIONS_GEOJSON)
    frames = [f for f in (subs, districts, stations, gaps, sugg) if f is not None]
    crs = next((f.estimate_utm_crs() for f in frames), None)
    font = _cjk_font()
    fig = Figure(figsize=(width_in, width_in))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 0.74, 0.94 if title else 1.0))
    ax.set_axis_off()
    handles: list[Patch | Line2D] = []
    if crs is not None:
        if subs is not None and "coverage_pct" in subs.columns:
            subs = subs.to_crs(crs)
            subs.plot(
                ax=ax,
                column="coverage_pct",
                cmap="YlGnBu",
                vmin=0,
                vmax=100,
                edgecolor="#666666",
                linewidth=0.5,
            )
            handles += [
                Patch(facecolor=c, edgecolor="#666", label=lab)
                for c, lab in (
                    ("#ffffd9", "覆盖率 coverage 0 %"),
                    ("#41b6c4", "50 %"),
                    ("#081d58", "100 %"),
                )
            ]
        if districts is not None:
            districts.to_crs(crs).boundary.plot(ax=ax, color="#222222", linewidth=1.2)
        if gaps is not None:
            # drawn as one union, so overlapping zones do not stack up
            union = gpd.GeoSeries([gaps.to_crs(crs).union_all()], crs=crs)
            union.plot(ax=ax, facecolor="#d7301f", alpha=0.18, edgecolor="none")
            union.boundary.plot(ax=ax, color="#d7301f", linewidth=0.6)
            handles.append(
                Patch(facecolor="#f4c5bd", edgecolor="#d7301f", label="服务空白区 gap zones")
            )
        if stations is not None:
            stations.to_crs(crs).plot(
                ax=ax, color="#2b8cbe", markersize=9, edgecolor="white", linewidth=0.4
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    color="none",
                    markerfacecolor="#2b8cbe",
                    label="站点 stations",
                )
            )
        if sugg is not None:
            pts = sugg.to_crs(crs)
            pts.plot(
                ax=ax, color="#e66101", markersize=60, marker="*", edgecolor="black", linewidth=0.4
            )
            for (_, row), geom in zip(pts.iterrows(), pts.geometry, strict=True):
                ax.annotate(
                    str(row.get("rank", "")),
                    (geom.x, geom.y),
                    xytext=(4, 4),
                    textcoords="offset points",
                    fontsize=7,
                    fontweight="bold",
                )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="*",
                    color="none",
                    markerfacecolor="#e66101",
                    markeredgecolor="black",
                    markersize=10,
                    label="建议新增 suggested (rank)",
                )
            )
        ax.set_aspect("equal")
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        ratio = min(1.3, max(0.5, (y1 - y0) / max(x1 - x0, 1e-9)))
        fig.set_size_inches(width_in, width_in * ratio)
    if handles:
        prop = font.copy() if font is not None else FontProperties()
        prop.set_size(7)
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), prop=prop, frameon=False
        )
    if title:
        # the title names the study's areas (data): no control character reaches the font
        fig.suptitle(plain_text(title), fontproperties=font, fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", pad_inches=0.05)
    return buf.getvalue()
