"""Quotas on totals (every 区 / 街道 ends with ≥ N stations) and per-new-site quotas by 街道."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from skillcircle._errors import InfeasibleError, InputError
from skillcircle.siting.suggest import check_plan_options
from skillcircle.siting.totals import area_quotas


def _frame(codes: list[str], names: list[str], **extra: list[float]) -> gpd.GeoDataFrame:
    n = len(codes)
    return gpd.GeoDataFrame(
        {
            "district_code": ["440104"] * n,
            "district_name": ["越秀区"] * n,
            "subdistrict_code": codes,
            "subdistrict_name": names,
            **extra,
        },
        geometry=shapely.points(range(n), range(n)),
        crs="EPSG:4547",
    )


# 街道 A (2 stations), B (1 station), C (no station), D (no station, no residents)
UNITS = _frame(
    ["A", "B", "C", "D"], ["甲街道", "乙街道", "丙街道", "丁街道"], population=[10.0, 5.0, 7.0, 0.0]
)
STATIONS = _frame(["A", "A", "B"], ["甲街道", "甲街道", "乙街道"])
CANDS = _frame(["A", "B", "B", "C", "D"], ["甲街道", "乙街道", "乙街道", "丙街道", "丁街道"])


def _quotas(**kw):
    return area_quotas(
        candidates=kw.pop("candidates", CANDS),
        units=UNITS,
        stations=STATIONS,
        has_subdistricts=True,
        **kw,
    )


def test_totals_count_existing_stations_and_skip_areas_without_residents():
    q = _quotas(add=5, min_stations_per_subdistrict=1)
    assert q.level == "subdistrict"
    assert list(q.groups) == ["A", "B", "B", "C", "D"]
    # A and B have stations already, C needs 1 - 0; D has a candidate but no residents
    assert q.min_per_group == {"C": 1}


def test_an_area_short_of_candidates_is_named_with_name_code_and_option():
    with pytest.raises(InfeasibleError) as err:
        _quotas(add=5, min_stations_per_subdistrict=2)
    assert str(err.value) == (
        "街道 丙街道 (C) has residents and 0 station(s) but 1 candidate site(s): "
        "min_stations_per_subdistrict=2 needs 2 new site(s) there"
    )


def test_totals_with_enough_candidates_and_a_per_new_site_minimum():
    cands = _frame(["B", "C", "C", "A"], ["乙街道", "丙街道", "丙街道", "甲街道"])
    q = _quotas(
        candidates=cands, add=4, min_stations_per_subdistrict=2, min_per_district={"甲街道": 1}
    )
    assert q.min_per_group == {"A": 1, "B": 1, "C": 2}  # the name 甲街道 resolved to its code
    with pytest.raises(InfeasibleError, match=r"needs 4 new sites in 3 街道, more than add=3"):
        _quotas(candidates=cands, add=3, min_stations_per_subdistrict=2, min_per_district={"A": 1})


def test_no_candidate_in_an_area_with_residents():
    cands = _frame(["A", "B"], ["甲街道", "乙街道"])
    with pytest.raises(InfeasibleError, match=r"^街道 丙街道 \(C\) has residents and 0 station"):
        _quotas(candidates=cands, add=5, min_stations_per_subdistrict=1)


def test_per_new_site_quotas_take_subdistrict_codes_and_names():
    q = _quotas(add=2, max_per_district={"乙街道": 1, "C": 1})
    assert q.level == "subdistrict"
    assert q.max_per_group == {"B": 1, "C": 1}
    q = _quotas(add=2, max_per_district={"越秀区": 1})
    assert q.level == "district"
    assert q.max_per_group == {"440104": 1}
    assert list(q.groups) == ["440104"] * 5
    with pytest.raises(InputError, match="both districts and 街道"):
        _quotas(add=2, max_per_district={"越秀区": 1, "B": 1})
    with pytest.raises(InputError, match="need 街道 polygons"):
        area_quotas(
            candidates=CANDS,
            units=UNITS,
            stations=STATIONS,
            has_subdistricts=False,
            add=2,
            min_stations_per_subdistrict=1,
        )


@pytest.mark.parametrize(
    ("kw", "param"),
    [
        ({"min_stations_per_subdistrict": -1}, "min_stations_per_subdistrict"),
        ({"min_stations_per_district": 1, "min_stations_per_subdistrict": 1}, None),
        ({"min_stations_per_subdistrict": 1, "max_per_district": 2}, "max_per_district"),
    ],
)
def test_total_quota_options_are_refused_before_any_data(kw, param):
    with pytest.raises(InputError) as err:
        check_plan_options(add=3, **kw)
    if param is not None:
        assert param in err.value.params
