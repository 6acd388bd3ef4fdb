"""Gap zones: where the residents no station reaches live in clusters big enough to act on.

The uncovered demand units are clustered with a *population-weighted* DBSCAN
(:class:`sklearn.cluster.DBSCAN` with ``sample_weight=population``): a unit is a core of a zone
when at least ``min_cluster_population`` uncovered residents (itself included) live within
``eps_m`` of it, and a zone is everything density-connected to its cores. With the default
``eps_m = 300`` m and ``min_cluster_population = 500``, a zone is a patch where every core unit
has 500 or more unserved residents within a 300 m radius (about four minutes on foot), a
density (≈ 1 800 residents per km²) that a single new station could serve. scikit-learn wants
an integer ``min_samples``; the same rule is applied exactly by passing ``min_samples=1`` and
weights ``population / min_cluster_population``.

On a dense population grid every uncovered cell touches the next, so DBSCAN alone can chain
a whole uncovered quarter into one zone of tens of km² — too big to act on. A zone wider than
``max_radius_m`` (default 600 m: about what one station reaches along 1 000 m of real,
winding streets) is therefore split in two by population-weighted k-means, again and again,
until every zone fits: each zone is then a place one new station could serve.

Units in no zone are "noise": scattered unserved residents. They are not dropped silently:
their population is stored in ``attrs["noise_population"]`` (and their count in
``attrs["noise_units"]``) of the result and logged.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from sklearn.cluster import DBSCAN, KMeans

from skillcircle._errors import InputError
from skillcircle._validate import positive
from skillcircle.inputs.areas import AREA_COLUMNS
from skillcircle.profiles import metric_crs_of

__all__ = ["ZONE_COLUMNS", "gap_zones"]

logger = logging.getLogger(__name__)

#: Columns of the frame :func:`gap_zones` returns (besides ``geometry``).
ZONE_COLUMNS = [
    "zone_id",
    "population",
    "units",
    "area_km2",
    "district_code",
    "district_name",
    "subdistrict_code",
    "subdistrict_name",
    "centre_x",
    "centre_y",
]


def _majority(labels: npt.NDArray[np.int64], values: pd.Series, weights: Any) -> list[str]:
    """Per label 0..n-1, the value carrying the most population (ties: the smallest value)."""
    frame = pd.DataFrame(
        {"label": labels, "value": values.fillna("").astype(str).to_numpy(), "w": weights}
    )
    sums = frame.groupby(["label", "value"], sort=True)["w"].sum().reset_index()
    sums = sums.sort_values(["label", "w", "value"], ascending=[True, False, True], kind="stable")
    best = sums.drop_duplicates("label").set_index("label")["value"]
    n = int(labels.max()) + 1 if labels.size else 0
    return [str(best.get(i, "")) for i in range(n)]


def _join_polygons(
    points: gpd.GeoSeries, polygons: gpd.GeoDataFrame, columns: tuple[str, str], what: str
) -> dict[str, list[str]]:
    """Codes and names of the polygons holding each point (empty strings when none)."""
    if not isinstance(polygons, gpd.GeoDataFrame) or polygons.crs is None:
        raise InputError(f"{what} must be a GeoDataFrame with a CRS")
    missing = [c for c in columns if c not in polygons.columns]
    if missing:
        raise InputError(f"{what} lack the column(s) {', '.join(missing)}", field=missing[0])
    poly = polygons[[*columns, "geometry"]].to_crs(points.crs).reset_index(drop=True)
    pts = gpd.GeoDataFrame(geometry=points.reset_index(drop=True))
    hit = gpd.sjoin(pts, poly, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")].reindex(range(len(pts)))
    return {c: hit[c].fillna("").astype(str).tolist() for c in columns}


def _split_wide(
    xy: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    max_radius_m: float,
) -> npt.NDArray[np.int64]:
    """Bisect every cluster wider than ``max_radius_m`` with weighted 2-means until none is.

    Noise (label −1) is left alone. Deterministic (fixed k-means seed).
    """
    out = labels.astype(np.int64).copy()
    pending = [int(k) for k in np.unique(out) if k >= 0]
    next_label = int(out.max()) + 1 if out.size else 0
    while pending:
        k = pending.pop()
        idx = np.flatnonzero(out == k)
        w = weight[idx]
        centre = (xy[idx] * w[:, None]).sum(axis=0) / w.sum()
        if idx.size < 2 or np.hypot(*(xy[idx] - centre).T).max() <= max_radius_m:
            continue
        halves = KMeans(n_clusters=2, n_init=3, random_state=0).fit_predict(
            xy[idx], sample_weight=w
        )
        if halves.min() == halves.max():  # identical points: cannot split further
            continue
        out[idx[halves == 1]] = next_label
        pending += [k, next_label]
        next_label += 1
    return out


def _disjoint(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Make zone polygons non-overlapping: each loses what a more populous zone already holds."""
    out = np.asarray(geoms, dtype=object).copy()
    taken = None
    for k in range(len(out)):
        if taken is not None:
            out[k] = shapely.make_valid(shapely.difference(out[k], taken))
        taken = out[k] if taken is None else shapely.union(taken, out[k])
    return out


def gap_zones(
    units: gpd.GeoDataFrame,
    *,
    covered: npt.ArrayLike,
    eps_m: float = 300.0,
    min_population: float = 0.0,
    min_cluster_population: float = 500.0,
    max_radius_m: float | None = 600.0,
    unit_area_m2: float | None = None,
    districts: gpd.GeoDataFrame | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
    metric_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Cluster the uncovered demand units into gap zones.

    Parameters
    ----------
    units
        Demand units with a ``population`` column (points; other geometries count at their
        centroid), optionally with ``district_code``, ``district_name``, ``subdistrict_code``,
        ``subdistrict_name``. Not modified.
    covered
        Boolean per unit: ``True`` when some station reaches it. Covered units never enter a
        zone.
    eps_m
        DBSCAN neighbourhood radius in metres.
    min_population
        Uncovered units with at most this many residents are left out before clustering (and
        out of the noise figure).
    min_cluster_population
        Residents (uncovered, the unit itself included) that must live within ``eps_m`` of a
        unit for it to be a zone core; see the module notes.
    max_radius_m
        Largest distance from a zone's population-weighted centre to its farthest unit; wider
        zones are split by weighted k-means (see the module notes). ``None`` keeps DBSCAN's
        zones whole.
    unit_area_m2
        Ground area one unit stands for (a raster cell: 90 m × 90 m for WorldPop). When given,
        a zone's ``area_km2`` is its units' total cell area — the land where its residents
        live; otherwise the area of the convex hull of its unit points.
    districts, subdistricts
        Optional polygons (``district_code``/``district_name``, resp.
        ``subdistrict_code``/``subdistrict_name``, any CRS). When given, a zone takes the
        area holding its population-weighted centre; otherwise the area holding most of its
        population according to the units' own columns (empty strings when neither is known).
    metric_crs
        Projected CRS used when ``units`` are in geographic coordinates; default: the UTM
        zone of their centre.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per zone, sorted by population (largest first): ``zone_id`` (1 = most
        populous), ``population``, ``units`` (unit count), ``area_km2`` (area of the convex hull
        of the zone's unit points: 0 for one or two units), the four area columns, ``centre_x``
        and ``centre_y`` (population-weighted centre, in the output CRS), and ``geometry``: with
        ``unit_area_m2``, the union of the zone's populated cells (squares of that area
        around each unit, slivers under 5 % of the side closed, so the drawn area is
        ``area_km2`` within a few per cent), otherwise the convex hull of
        the units buffered by ``eps_m / 2``; either way minus what a more populous zone
        holds, so zones never overlap. CRS: the units' CRS if projected,
        else ``metric_crs``. ``attrs["noise_population"]`` (float) and ``attrs["noise_units"]``
        (int) hold the uncovered residents and units left in no zone.

    Examples
    --------
    >>> pts = gpd.GeoDataFrame({"population": [300.0, 300.0, 50.0]},
    ...     geometry=gpd.points_from_xy([0, 100, 5000], [0, 0, 0]), crs="EPSG:32649")
    >>> z = gap_zones(pts, covered=[False, False, False])
    >>> z["zone_id"].tolist(), z["population"].tolist(), z["centre_x"].tolist()
    ([1], [600.0], [50.0])
    >>> z.attrs["noise_population"]
    50.0
    """
    if not isinstance(units, gpd.GeoDataFrame) or units.crs is None:
        raise InputError("units must be a GeoDataFrame with a CRS")
    if "population" not in units.columns:
        raise InputError("units have no 'population' column", field="population")
    eps_m = positive(eps_m, "eps_m")
    min_population = positive(min_population, "min_population", allow_zero=True)
    min_cluster_population = positive(min_cluster_population, "min_cluster_population")
    cov = np.asarray(covered)
    if cov.shape != (len(units),):
        raise InputError(
            f"covered has shape {cov.shape}, expected one flag per unit ({len(units)})",
            field="covered",
        )
    if cov.dtype != bool:
        raise InputError("covered must be a boolean array", field="covered")
    pop = pd.to_numeric(units["population"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(pop)) or np.any(pop < 0):
        bad = int(np.flatnonzero(~np.isfinite(pop) | (pop < 0))[0])
        raise InputError(
            "population must be a finite, non-negative number", row=bad + 1, field="population"
        )

    frame = (
        units
        if units.crs.is_projected
        else units.to_crs(metric_crs or metric_crs_of(tuple(units.total_bounds), units.crs))
    )
    crs = frame.crs
    geom = np.asarray(frame.geometry.array, dtype=object)
    if shapely.is_empty(geom).any() or shapely.is_missing(geom).any():
        raise InputError("some units have no geometry", field="geometry")
    pts = shapely.centroid(geom)
    xy = shapely.get_coordinates(pts)

    cand = np.flatnonzero(~cov & (pop > min_population))
    if cand.size:
        labels = DBSCAN(eps=eps_m, min_samples=1, metric="euclidean").fit_predict(
            xy[cand], sample_weight=pop[cand] / min_cluster_population
        )
    else:
        labels = np.empty(0, dtype=np.int64)
    noise = labels < 0
    if max_radius_m is not None and cand.size:
        max_radius_m = positive(max_radius_m, "max_radius_m")
        labels = _split_wide(xy[cand], pop[cand], labels, max_radius_m)
    noise_pop = float(pop[cand[noise]].sum())
    noise_units = int(noise.sum())

    member = cand[~noise]
    lab = labels[~noise].astype(np.int64)
    n_zones = int(lab.max()) + 1 if lab.size else 0
    zpop = np.bincount(lab, weights=pop[member], minlength=n_zones)
    # Rank: most populous first; ties by lowest first unit position (deterministic).
    first_unit = np.full(n_zones, np.iinfo(np.int64).max)
    np.minimum.at(first_unit, lab, member)
    rank = np.lexsort((first_unit, -zpop))
    new_id = np.empty(n_zones, dtype=np.int64)
    new_id[rank] = np.arange(n_zones, dtype=np.int64)
    lab = new_id[lab]
    zpop = zpop[rank]

    count = np.bincount(lab, minlength=n_zones)
    w = pop[member]
    # A zone's population is positive (its cores carry >= min_cluster_population) so the
    # weighted centre is defined.
    cx = np.bincount(lab, weights=w * xy[member, 0], minlength=n_zones) / zpop
    cy = np.bincount(lab, weights=w * xy[member, 1], minlength=n_zones) / zpop
    order = np.argsort(lab, kind="stable")
    if n_zones:
        bags = shapely.multipoints(pts[member][order], indices=lab[order])
        hulls = shapely.convex_hull(bags)
    else:
        hulls = np.empty(0, dtype=object)
    if unit_area_m2 is not None:
        area_km2 = count * positive(unit_area_m2, "unit_area_m2") / 1e6
    else:
        area_km2 = shapely.area(hulls) / 1e6
    if unit_area_m2 is not None and n_zones:
        # The union of the zone's populated cells: squares of the cell's side around each unit.
        half = float(np.sqrt(unit_area_m2)) / 2.0
        mxy = xy[member][order]
        cells = shapely.box(mxy[:, 0] - half, mxy[:, 1] - half, mxy[:, 0] + half, mxy[:, 1] + half)
        sorted_lab = lab[order]
        starts = np.searchsorted(sorted_lab, np.arange(n_zones + 1))
        zone_geom = np.array(
            [shapely.union_all(cells[starts[k] : starts[k + 1]]) for k in range(n_zones)],
            dtype=object,
        )
        # A raster read in another CRS is slightly rotated and stretched: neighbouring cells
        # leave slivers a metre or two wide. Closing by 5 % of the side joins them (and
        # changes nothing on an exact grid).
        close = 0.05 * 2.0 * half
        zone_geom = shapely.buffer(
            shapely.buffer(zone_geom, close, join_style="mitre"), -close, join_style="mitre"
        )
    else:
        zone_geom = shapely.buffer(hulls, eps_m / 2.0)
    zone_geom = _disjoint(zone_geom)
    centres = gpd.GeoSeries(shapely.points(cx, cy), crs=crs)

    area_cols: dict[str, list[str]] = {}
    for (code, name), polys, what in (
        (("district_code", "district_name"), districts, "districts"),
        (("subdistrict_code", "subdistrict_name"), subdistricts, "subdistricts"),
    ):
        if polys is not None:
            area_cols.update(_join_polygons(centres, polys, (code, name), what))
        else:
            for col in (code, name):
                area_cols[col] = (
                    _majority(lab, frame[col].iloc[member], w)
                    if col in frame.columns and n_zones
                    else [""] * n_zones
                )

    out = gpd.GeoDataFrame(
        {
            "zone_id": np.arange(1, n_zones + 1, dtype=np.int64),
            "population": zpop,
            "units": count.astype(np.int64),
            "area_km2": area_km2,
            **{c: pd.Series(area_cols[c], dtype=object) for c in AREA_COLUMNS},
            "centre_x": cx,
            "centre_y": cy,
        },
        geometry=gpd.GeoSeries(zone_geom, crs=crs),
        crs=crs,
    )
    out.attrs["noise_population"] = noise_pop
    out.attrs["noise_units"] = noise_units
    logger.info(
        "gap zones: %d zones hold %.0f uncovered residents; %.0f more in %d scattered units "
        "belong to no zone",
        n_zones,
        float(zpop.sum()),
        noise_pop,
        noise_units,
    )
    return out
