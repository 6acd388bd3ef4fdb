"""The per-station table (``stations.csv``): where each station lies, whom it reaches, flags.

:func:`station_table` turns the headline coverage of an analysis into one row per station with
the columns of :data:`STATION_TABLE_COLUMNS` (names kept stable: the map and the printed
report read them). Four boolean flags mark stations a planner should look at:

``off_network``
    farther than ``max_snap_m`` from any street: it reaches no one;
``cut_off_piece``
    its nearest street lies on a piece of the walking network cut off from the main one
    (incomplete OSM data, or a gated campus);
``poorly_connected``
    its walking reach is below :data:`POOR_REACH_SHARE` of the residents within the same
    straight-line radius ("check its position on the street");
``ledger_area_mismatch``
    the ledger's own 区 or 街道 differs from the area its point falls in.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from skillcircle.access.coverage import Coverage
from skillcircle.access.snapping import snap_geoseries
from skillcircle.inputs.coords import wgs84_to_gcj02
from skillcircle.inputs.datum import area_key, same_area
from skillcircle.network.model import Network

__all__ = [
    "FLAG_COLUMNS",
    "POOR_REACH_SHARE",
    "STATION_TABLE_COLUMNS",
    "cut_off_stations",
    "flagged_lines",
    "station_table",
    "straight_line_population",
]

#: A station is ``poorly_connected`` when its reach is below this share of the straight-line one.
POOR_REACH_SHARE = 0.25

#: The flag columns, in the order the terminal and the reports name them.
FLAG_COLUMNS = ("off_network", "cut_off_piece", "poorly_connected", "ledger_area_mismatch")

#: Columns of ``stations.csv`` (and properties of ``stations.geojson``), in order.
STATION_TABLE_COLUMNS = (
    "name",
    "type",
    "district_name",
    "subdistrict_name",
    "ledger_district",
    "ledger_subdistrict",
    "ledger_area_match",
    "lon",
    "lat",
    "lon_gcj02",
    "lat_gcj02",
    "snap_distance_m",
    "network_piece",
    "reach_population",
    "straight_line_population",
    "reach_share_pct",
    "nearest_station_m",
    *FLAG_COLUMNS,
)


def _area_match(ledger: pd.Series, polygon: pd.Series) -> npt.NDArray[np.object_]:
    """True/False where the ledger names an area and a polygon was found, else None."""
    out = np.full(len(ledger), None, dtype=object)
    for i, (a, b) in enumerate(zip(ledger, polygon, strict=True)):
        if area_key(a) and area_key(b):
            out[i] = same_area(a, b)
    return out


def _nearest_other_m(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> np.ndarray:
    """Straight-line distance (m) from each point to the nearest other one; NaN when alone."""
    if len(x) < 2:
        return np.full(len(x), np.nan)
    dist, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    return np.asarray(dist[:, 1], dtype=np.float64)


def straight_line_population(
    coverage: Coverage, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Residents whose unit centre lies within the walk distance, as the crow flies, of each point.

    Parameters
    ----------
    coverage
        The coverage giving the demand units and the walk distance (projected CRS, metres).
    x, y
        Points in the units' CRS.

    Returns
    -------
    population
        One figure per point.
    """
    units = coverage.units
    centres = units.geometry.centroid
    pop = units["population"].to_numpy(dtype=np.float64)
    tree = cKDTree(np.column_stack([centres.x.to_numpy(), centres.y.to_numpy()]))
    hits = tree.query_ball_point(np.column_stack([x, y]), r=coverage.walk_distance_m)
    return np.array([float(pop[h].sum()) for h in hits], dtype=np.float64)


def cut_off_stations(
    raw: Network, stations: gpd.GeoDataFrame, *, max_snap_m: float
) -> npt.NDArray[np.bool_]:
    """Per station, whether its nearest street in the unreduced network is off the main piece.

    Parameters
    ----------
    raw
        The network with every piece kept (before the largest-piece step).
    stations
        The stations (any CRS).
    max_snap_m
        Snap limit; a station beyond it is not on any piece (False).

    Returns
    -------
    cut_off
        One boolean per station.
    """
    if len(stations) == 0:
        return np.zeros(0, dtype=bool)
    snapped = snap_geoseries(raw, stations, max_snap_m=max_snap_m)
    main = raw.largest_component_mask()
    return np.asarray(snapped.on_network & ~main[raw.edge_u[snapped.edge]], dtype=bool)


def station_table(
    coverage: Coverage,
    *,
    cut_off: npt.NDArray[np.bool_] | None = None,
) -> pd.DataFrame:
    """One row per station: areas, snap, network piece, reach, nearest station and flags.

    Parameters
    ----------
    coverage
        The headline coverage (:attr:`~skillcircle.access.analysis.Analysis.headline`).
    cut_off
        Per station, whether its nearest street lies on a cut-off piece of the network
        (``None``: all on the main piece).

    Returns
    -------
    table
        Columns :data:`STATION_TABLE_COLUMNS`. ``reach_share_pct`` is the reach as a share of
        ``straight_line_population`` (NaN when nobody lives within the radius);
        ``network_piece`` is ``"main"``, ``"cut-off"`` or ``"none"`` (off the network);
        ``ledger_area_match`` is empty where the ledger names no area.
    """
    st = coverage.stations
    n = len(st)
    x = st.geometry.x.to_numpy(dtype=np.float64)
    y = st.geometry.y.to_numpy(dtype=np.float64)

    def col(name: str) -> pd.Series:
        if name in st.columns:
            return st[name].reset_index(drop=True)
        return pd.Series([None] * n, dtype=object)

    on_network = col("on_network").fillna(False).to_numpy(dtype=bool)
    known_cut = cut_off is not None and len(cut_off) == n  # another station set: unknown
    cut = np.asarray(cut_off, dtype=bool) if known_cut else np.zeros(n, dtype=bool)
    cut = cut & on_network
    reach = col("reach_population").to_numpy(dtype=np.float64)
    straight = straight_line_population(coverage, x, y)
    share = np.divide(100.0 * reach, straight, out=np.full(n, np.nan), where=straight > 0)
    match_d = _area_match(col("ledger_district"), col("district_name"))
    match_s = _area_match(col("ledger_subdistrict"), col("subdistrict_name"))
    match = np.full(n, None, dtype=object)
    for i in range(n):
        known = [m for m in (match_d[i], match_s[i]) if m is not None]
        if known:
            match[i] = all(known)
    lon = col("lon").to_numpy(dtype=np.float64)
    lat = col("lat").to_numpy(dtype=np.float64)
    glon, glat = wgs84_to_gcj02(lon, lat)
    piece = np.where(~on_network, "none", np.where(cut, "cut-off", "main"))
    table = pd.DataFrame(
        {
            "name": col("name"),
            "type": col("type"),
            "district_name": col("district_name"),
            "subdistrict_name": col("subdistrict_name"),
            "ledger_district": col("ledger_district"),
            "ledger_subdistrict": col("ledger_subdistrict"),
            "ledger_area_match": pd.Series(match, dtype=object),
            "lon": np.round(lon, 8),
            "lat": np.round(lat, 8),
            "lon_gcj02": np.round(glon, 8),
            "lat_gcj02": np.round(glat, 8),
            "snap_distance_m": np.round(col("snap_distance_m").to_numpy(dtype=np.float64), 1),
            "network_piece": piece,
            "reach_population": np.round(reach, 1),
            "straight_line_population": np.round(straight, 1),
            "reach_share_pct": np.round(share, 1),
            "nearest_station_m": np.round(_nearest_other_m(x, y), 1),
            "off_network": ~on_network,
            "cut_off_piece": cut,
            "poorly_connected": on_network & (straight > 0) & (reach < POOR_REACH_SHARE * straight),
            "ledger_area_mismatch": np.array([m is False for m in match], dtype=bool),
        }
    )
    return table[list(STATION_TABLE_COLUMNS)]


def flagged_lines(table: pd.DataFrame) -> list[str]:
    """One plain line per flag naming every station that carries it (none when no flag is set).

    Parameters
    ----------
    table
        A :func:`station_table`.

    Returns
    -------
    lines
        E.g. ``"偏离路网 off the network (2): 甲站, 乙站"``; station names are data, so the caller
        escapes them for HTML or Markdown.
    """
    labels = {
        "off_network": "偏离路网 off the network (no street within the snap limit)",
        "cut_off_piece": "位于断开路段 on a cut-off piece of the network",
        "poorly_connected": (
            "连通性差 poorly connected (reach below 25 % of the straight-line figure: "
            "check its position on the street)"
        ),
        "ledger_area_mismatch": "台账区/街道不符 ledger 区/街道 differs from the map",
    }
    lines = []
    for flag in FLAG_COLUMNS:
        names = [str(v) for v in table.loc[table[flag].to_numpy(dtype=bool), "name"]]
        if names:
            lines.append(f"{labels[flag]} ({len(names)}): {', '.join(names)}")
    return lines
