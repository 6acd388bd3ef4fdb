"""Column headers in the planner's terms: Chinese with English, for the report and workbook.

Machine files (CSV, GeoJSON) keep their snake_case names; what a planner reads shows these.
"""

from __future__ import annotations

__all__ = ["HEADERS", "header_label", "labelled"]

import pandas as pd

#: Chinese-with-English header of each machine column name (others are shown as they are).
HEADERS: dict[str, str] = {
    "district_code": "区代码 district code",
    "district_name": "区 district",
    "subdistrict_code": "街道代码 sub-district code",
    "subdistrict_name": "街道 sub-district",
    "population": "常住人口 residents",
    "covered_population": "覆盖人口 covered",
    "uncovered_population": "未覆盖人口 not covered",
    "offnetwork_population": "离网人口 off-network",
    "coverage_pct": "覆盖率 % coverage",
    "stations": "站点数 stations",
    "population_per_station": "人口/站 residents per station",
    "rank": "序号 rank",
    "phase": "阶段 phase",
    "lon": "经度 WGS84 lon",
    "lat": "纬度 WGS84 lat",
    "lon_gcj02": "经度 GCJ-02 lon",
    "lat_gcj02": "纬度 GCJ-02 lat",
    "added_population": "新增覆盖 added residents",
    "cumulative_covered_population": "累计覆盖 cumulative covered",
    "cumulative_coverage_pct": "累计覆盖率 % cumulative coverage",
    "added_served_demand": "新增服务人次/年 added trainings served a year",
    "cumulative_served_demand": "累计服务人次/年 cumulative trainings served a year",
    "zone_id": "空白区 zone",
    "units": "网格数 cells",
    "area_km2": "面积 km² area",
    "centre_lon": "中心经度 centre lon",
    "centre_lat": "中心纬度 centre lat",
    "name": "名称 name",
    "station_type": "类型 type",
    "snap_distance_m": "接入距离 m snap distance",
    "on_network": "在路网 on network",
    "reach_population": "可达人口 reach",
    "next_station_m": "最近他站 m next station",
    "nearest_station_m": "最近他站 m nearest station",
    "reach_share_pct": "可达比例 % reach / straight line",
    "straight_line_population": "直线距离内人口 within the walk distance, straight line",
    "network_piece": "路网片段 network piece",
    "row": "行 row",
    "reason": "原因 reason",
    "field": "字段 field",
    "value": "值 value",
    "item": "项目 item",
    "path": "路径 path",
    "sha256": "SHA-256",
    "coverage_pct_main": "覆盖率 % 主路网 main network",
    "coverage_pct_all_pieces": "覆盖率 % 保留全部断开路段 every piece kept",
    "coverage_pct_bridged": "覆盖率 % 断口连通 gaps joined",
    "spread_pp": "差值 百分点 spread, points",
    "group_population": "人群人口 group residents",
    "group_covered_population": "人群覆盖 group covered",
    "group_coverage_pct": "人群覆盖率 % group coverage",
    "trainings_per_1000": "每千人年培训供给 trainings a year per 1 000",
    "access_per_1000": "每千人年培训供给 trainings a year per 1 000",
    "capacity_used": "年培训容量 capacity a year",
    "trainings_wanted": "步行范围内需求 trainings wanted within the walk",
    "supply_ratio": "供需比 supply / demand",
    "oversubscribed": "超额 over-subscribed",
}


def header_label(column: str) -> str:
    """The Chinese-with-English header of a column (speed-suffixed columns included).

    Parameters
    ----------
    column
        A machine column name, e.g. ``coverage_pct_3kmh``.

    Returns
    -------
    label
        E.g. ``覆盖率 % coverage @ 3 km/h``; the name itself when unknown.

    Examples
    --------
    >>> header_label("covered_population_3.5kmh")
    '覆盖人口 covered @ 3.5 km/h'
    """
    if column in HEADERS:
        return HEADERS[column]
    base, _, speed = column.rpartition("_")
    if base in HEADERS and speed.endswith("kmh"):
        return f"{HEADERS[base]} @ {speed[:-3]} km/h"
    return column


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its columns renamed by :func:`header_label`.

    Parameters
    ----------
    frame
        A table with machine column names.

    Returns
    -------
    pandas.DataFrame
        The same values under the planner's headers.
    """
    return frame.rename(columns={c: header_label(str(c)) for c in frame.columns})
