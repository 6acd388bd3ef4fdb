"""Quotas per 区 or 街道: totals counting existing stations, and per-new-site quotas by area.

"每个街道至少一个站点" is a quota on the *total*: every 街道 (or 区) with residents ends with at
least N stations, the existing ones counted. It becomes a minimum of new sites per area,
``max(0, N − existing stations in it)``, solved by the per-group quotas of
:mod:`skillcircle.siting.problem`. Candidates, stations and residents are put in their 区 and
街道 by the one point-in-area rule of :mod:`skillcircle.inputs.areas`, so a station counts in
the same 街道 as the residents next to it.

The per-new-site quotas (``min_per_district`` / ``max_per_district``) name areas by code or
name, districts or 街道; the plan's groups are 街道 as soon as a quota names one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from skillcircle._errors import InfeasibleError, InputError

__all__ = ["AreaQuotas", "area_quotas"]

ObjArray = npt.NDArray[np.object_]

_LEVEL_WORD = {"district": "区 (district)", "subdistrict": "街道 (sub-district)"}


@dataclass(frozen=True)
class AreaQuotas:
    """The siting problem's groups and quotas for a study.

    Attributes
    ----------
    level
        ``"district"`` or ``"subdistrict"``: what a group is.
    groups
        Area code of each candidate (``""`` outside every area).
    min_per_group, max_per_group
        Quotas of new sites per area code, as :meth:`CoverageProblem.solve` takes them.
    """

    level: str
    groups: ObjArray
    min_per_group: int | dict[str, int] | None
    max_per_group: int | dict[str, int] | None


def _areas(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """Codes and names of the areas in ``frame`` (``<level>_code``, ``<level>_name``)."""
    code, name = f"{level}_code", f"{level}_name"
    out = pd.DataFrame(
        {
            "code": frame[code].fillna("").astype(str) if code in frame else "",
            "name": frame[name].fillna("").astype(str) if name in frame else "",
        }
    )
    return out.loc[out["code"] != ""].drop_duplicates("code")


def _resolve_keys(
    spec: int | Mapping[str, int] | None, lookup: dict[str, dict[str, str]]
) -> tuple[int | dict[str, int] | None, set[str]]:
    """A per-new-site quota with its keys (codes or names) written as codes, and their levels."""
    if spec is None or not isinstance(spec, Mapping):
        return spec, set()
    out: dict[str, int] = {}
    levels: set[str] = set()
    for key, value in spec.items():
        key = str(key).strip()
        for level in ("district", "subdistrict"):
            if key in lookup[level]:
                out[lookup[level][key]] = value
                levels.add(level)
                break
        else:  # not an area of the study: the quota rules report it as before
            out[key] = value
    return out, levels


def area_quotas(
    *,
    candidates: gpd.GeoDataFrame,
    units: pd.DataFrame,
    stations: pd.DataFrame,
    has_subdistricts: bool,
    add: int | None,
    min_per_district: int | Mapping[str, int] | None = None,
    max_per_district: int | Mapping[str, int] | None = None,
    min_stations_per_district: int | None = None,
    min_stations_per_subdistrict: int | None = None,
) -> AreaQuotas:
    """Groups and per-area minimum / maximum new sites for :meth:`CoverageProblem.solve`.

    Parameters
    ----------
    candidates, units, stations
        Candidate sites, demand units (``population``) and existing stations, each with the
        area columns of :func:`~skillcircle.inputs.areas.assign_areas`.
    has_subdistricts
        Whether the study has 街道 polygons.
    add
        Number of new sites (``None`` for a coverage target: no total to check).
    min_per_district, max_per_district
        Per-new-site quotas: one number for every area, or ``{code or name: N}`` naming
        districts or 街道.
    min_stations_per_district, min_stations_per_subdistrict
        Every 区 / 街道 with residents ends with at least this many stations, existing
        ones counted.

    Returns
    -------
    AreaQuotas

    Raises
    ------
    InputError
        When 街道 quotas are asked without 街道 polygons, or district and 街道 quotas are mixed.
    InfeasibleError
        With one line naming the area (name and code) and the option: an area with residents
        short of stations and without (enough) candidates, or minimums adding up to more than
        ``add``.
    """
    lookup: dict[str, dict[str, str]] = {}
    for level in ("district", "subdistrict"):
        found = pd.concat([_areas(f, level) for f in (units, stations, candidates)])
        found = found.drop_duplicates("code")
        names = {n: c for n, c in zip(found["name"], found["code"], strict=True) if n}
        lookup[level] = {**names, **{c: c for c in found["code"]}}
    low, low_levels = _resolve_keys(min_per_district, lookup)
    high, high_levels = _resolve_keys(max_per_district, lookup)
    levels = low_levels | high_levels
    if min_stations_per_subdistrict is not None:
        levels.add("subdistrict")
    if min_stations_per_district is not None:
        levels.add("district")
    if len(levels) > 1:
        raise InputError(
            "quotas name both districts and 街道: give them for one level",
            param=("min_per_district", "max_per_district"),
        )
    level = levels.pop() if levels else "district"
    if level == "subdistrict":
        if not has_subdistricts:
            raise InputError(
                "quotas per 街道 need 街道 polygons (subdistricts)", param="subdistricts"
            )
        for spec, param in ((low, "min_per_district"), (high, "max_per_district")):
            if isinstance(spec, int):
                raise InputError(
                    f"{param}={spec} counts per district; with 街道 quotas give it per 街道 "
                    "as CODE=N",
                    param=param,
                )
    code_col = f"{level}_code"
    groups = candidates[code_col].fillna("").astype(str).to_numpy(dtype=object)
    total = min_stations_per_subdistrict if level == "subdistrict" else min_stations_per_district
    if total is None:
        return AreaQuotas(level, groups, low, high)
    param = f"min_stations_per_{level}"
    people = units.loc[units["population"].to_numpy(dtype=float) > 0]
    areas = _areas(people, level).sort_values("code")
    existing = stations[code_col].fillna("").astype(str).value_counts()
    n_cand = pd.Series(groups).value_counts()
    need: dict[str, int] = {}
    if isinstance(low, int):
        need = {c: low for c in pd.unique(groups) if c}
    elif low:
        need = dict(low)
    for code, name in zip(areas["code"], areas["name"], strict=True):
        have = int(existing.get(code, 0))
        short = max(0, total - have)
        if short == 0:
            continue
        where = f"{name} ({code})" if name else code
        cands = int(n_cand.get(code, 0))
        if cands < short:
            raise InfeasibleError(
                f"{_LEVEL_WORD[level].split()[0]} {where} has residents and {have} station(s) "
                f"but {cands} candidate site(s): {param}={total} needs {short} new site(s) there",
                param=param,
            )
        need[code] = max(need.get(code, 0), short)
    needed = sum(need.values())
    if add is not None and needed > add:
        raise InfeasibleError(
            f"{param}={total} needs {needed} new sites in {len(need)} "
            f"{_LEVEL_WORD[level].split()[0]}, more than add={add}",
            param=(param, "add"),
        )
    return AreaQuotas(level, groups, need, high)
