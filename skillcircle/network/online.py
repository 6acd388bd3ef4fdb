"""Downloading the walking network of a place or a study area from OpenStreetMap (osmnx)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd

from skillcircle._errors import InputError
from skillcircle.network.build import _standard_attrs
from skillcircle.network.model import Network
from skillcircle.profiles import metric_crs_of
from skillcircle.settings import Settings

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


@contextlib.contextmanager
def _temporary_attrs(target: Any, **values: Any) -> Iterator[None]:
    """Set attributes of ``target`` (a dependency's settings object) for a block only.

    Every attribute is put back as it was when the block ends, also when it raises; one that
    did not exist before is deleted again.
    """
    missing = object()
    saved = {name: getattr(target, name, missing) for name in values}
    try:
        for name, value in values.items():
            setattr(target, name, value)
        yield
    finally:
        for name, old in saved.items():
            if old is missing:
                with contextlib.suppress(AttributeError):
                    delattr(target, name)
            else:
                setattr(target, name, old)


def _load_online(
    place: str | None, boundary: gpd.GeoDataFrame | None, buffer_m: float, settings: Settings
) -> Network:
    """Download the walking network with osmnx (HTTP responses cached in ``cache_dir/osmnx``).

    osmnx's global settings are changed only for the download and restored afterwards.
    """
    import osmnx as ox

    if not place and boundary is None:
        raise InputError("an online network needs place:<name> or a boundary")
    with _temporary_attrs(
        ox.settings, use_cache=True, cache_folder=str(settings.cache_dir / "osmnx")
    ):
        if place:
            G = ox.graph_from_place(place, network_type="walk", retain_all=True, simplify=True)
        else:
            area_gdf = cast(gpd.GeoDataFrame, boundary)  # not None: checked above
            crs = settings.crs or metric_crs_of(
                tuple(area_gdf.to_crs("EPSG:4326").total_bounds), "EPSG:4326"
            )
            area = _buffered_area(area_gdf, buffer_m, crs)
            polygon = gpd.GeoSeries([area], crs=crs).to_crs("EPSG:4326").iloc[0]
            G = ox.graph_from_polygon(polygon, network_type="walk", retain_all=True, simplify=True)
    return _standard_attrs(Network.from_networkx(G, crs=settings.crs))


def _buffered_area(boundary: gpd.GeoDataFrame, buffer_m: float, crs: str) -> BaseGeometry:
    """The boundary's union in ``crs``, grown by ``buffer_m`` metres."""
    area = boundary.to_crs(crs).union_all()
    return area.buffer(buffer_m) if buffer_m > 0 else area
