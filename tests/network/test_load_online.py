"""The online loader changes osmnx's global settings only while it downloads (no internet here)."""

from __future__ import annotations

import types

import geopandas as gpd
import networkx as nx
import pytest
import shapely
from pyproj import Transformer

from skillcircle.network.load import load_network
from skillcircle.network.online import _temporary_attrs
from skillcircle.settings import Settings


def _osmnx_settings() -> dict[str, object]:
    """Every public value of ``osmnx.settings`` (a module of plain values in osmnx 2)."""
    import osmnx as ox

    return {
        k: v
        for k, v in vars(ox.settings).items()
        if not k.startswith("_") and not isinstance(v, types.ModuleType | type)
    }


def _street() -> nx.MultiDiGraph:
    """One two-way footway of about 102 m in lon/lat, as osmnx returns it."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_node(1, x=113.2600, y=23.1300)
    G.add_node(2, x=113.2610, y=23.1300)
    G.add_edge(1, 2, highway="footway", osmid=7)
    G.add_edge(2, 1, highway="footway", osmid=7)
    return G


@pytest.fixture
def user_osmnx(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The osmnx settings a user chose before calling skillcircle (not osmnx's defaults)."""
    import osmnx as ox

    monkeypatch.setattr(ox.settings, "use_cache", False)
    monkeypatch.setattr(ox.settings, "cache_folder", "/somewhere/the/user/chose")
    return _osmnx_settings()


def test_download_restores_osmnx_settings(
    settings: Settings, user_osmnx: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import osmnx as ox

    during: list[tuple[object, object]] = []

    def fake(query: str, **kwargs: object) -> nx.MultiDiGraph:
        during.append((ox.settings.use_cache, ox.settings.cache_folder))
        return _street()

    monkeypatch.setattr(ox, "graph_from_place", fake)
    net = load_network("place:Ersha Island", settings=settings)
    assert during == [(True, str(settings.cache_dir / "osmnx"))]
    assert _osmnx_settings() == user_osmnx
    assert (net.n_nodes, net.n_edges) == (2, 1)


def test_failed_download_restores_osmnx_settings(
    settings: Settings, user_osmnx: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import osmnx as ox

    def offline(query: str, **kwargs: object) -> nx.MultiDiGraph:
        assert ox.settings.use_cache is True
        raise ConnectionError("no internet in tests")

    monkeypatch.setattr(ox, "graph_from_place", offline)
    with pytest.raises(ConnectionError, match="no internet"):
        load_network("place:Ersha Island", settings=settings)
    assert _osmnx_settings() == user_osmnx
    assert ox.settings.cache_folder == "/somewhere/the/user/chose"
    assert ox.settings.use_cache is False


def test_boundary_download_restores_osmnx_settings(
    settings: Settings, user_osmnx: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import osmnx as ox

    # a 200 m square in EPSG:4547 (metres) around the street, asked for with a 100 m margin
    to_metres = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    x, y = to_metres.transform(113.2600, 23.1300)
    x0, y0 = x - 50.0, y - 50.0
    square = gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x0 + 200, y0 + 200)], crs="EPSG:4547")
    polygons: list[object] = []

    def fake(polygon: object, **kwargs: object) -> nx.MultiDiGraph:
        polygons.append(polygon)
        return _street()

    monkeypatch.setattr(ox, "graph_from_polygon", fake)
    load_network("online", settings=settings, boundary=square, buffer_m=100.0, retain_all=True)
    assert _osmnx_settings() == user_osmnx
    # osmnx got the buffered square in lon/lat: its projected bounds are the square ± 100 m
    (polygon,) = polygons
    xs, ys = to_metres.transform(*shapely.get_coordinates(polygon).T)
    assert (min(xs), max(xs)) == (
        pytest.approx(x0 - 100, abs=0.01),
        pytest.approx(x0 + 300, abs=0.01),
    )
    assert (min(ys), max(ys)) == (
        pytest.approx(y0 - 100, abs=0.01),
        pytest.approx(y0 + 300, abs=0.01),
    )


def test_temporary_attrs_restores_and_removes() -> None:
    target = types.SimpleNamespace(kept="before")
    with pytest.raises(RuntimeError), _temporary_attrs(target, kept="during", new=1):
        assert (target.kept, target.new) == ("during", 1)
        raise RuntimeError
    assert vars(target) == {"kept": "before"}  # changed value restored, added one removed
