"""Guangzhou (广州市): the city defaults of the 羊城技能加油站 programme.

This is the only module of skillcircle that names Guangzhou's codes, coordinate system,
targets or place names; everything else receives them through a :class:`CityProfile`.
"""

from __future__ import annotations

from skillcircle.profiles.base import CityProfile

__all__ = ["GUANGZHOU", "PROFILE", "YUEXIU_ADCODE", "YUEXIU_PLACE"]

#: NBS / AMap code of 越秀区, the district of the shipped sample and the demo.
YUEXIU_ADCODE = "440104"
#: Place name osmnx geocodes for the online demo.
YUEXIU_PLACE = "Yuexiu District, Guangzhou, Guangdong, China"

GUANGZHOU = CityProfile(
    key="guangzhou",
    name="广州市 Guangzhou",
    adcode="4401",
    districts="cnmaps:4401",
    # CGCS2000 / 3-degree Gauss-Kruger CM 114E: metres, used by Guangzhou's planning bureau.
    crs="EPSG:4547",
    # 羊城技能加油站: ≥250 stations by end 2025, ≥300 by 2026, ≥350 by 2027.
    phases=((2025, 250), (2026, 300), (2027, 350)),
    name_prefixes=("广东省", "广州市"),
    centre=(23.13, 113.26),
    census_file="census2020_guangzhou_districts.csv",
    # 1 000 000 person-trainings over 2025-2027; every district covered in the first batch.
    trainings_target=1_000_000,
    every_district_by=2025,
    # 第七次全国人口普查公报（第四号）: 15-59 years 74.72 % of 18 676 605 residents.
    age_file="census2020_guangzhou_age.csv",
)

#: The profile of this module, as listed in :data:`skillcircle.profiles.PROFILES`.
PROFILE = GUANGZHOU
