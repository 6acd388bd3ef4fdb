"""The compact walking-network object every later step works on.

A :class:`Network` is an undirected graph stored as flat NumPy arrays: node coordinates in a
projected CRS (metres), one row per undirected edge (``edge_u``, ``edge_v``, ``edge_length``,
edge shapes as one flat coordinate array ``edge_coords`` cut by ``edge_offsets``, each drawn
from ``u`` to ``v``), and a CSR adjacency in which every edge appears
twice (``u → v`` and ``v → u``) with ``csr_edge`` giving the edge row of each entry. That
layout is what the routing kernels in :mod:`skillcircle.access.routing` walk. Shapely
LineStrings (``edge_geometry``) are built only when a step asks for them: a million edges as
Python objects cost about half a gigabyte, as coordinates about 60 MB.

:meth:`Network.from_networkx` and :meth:`Network.to_networkx` convert to and from networkx
(osmnx) graphs; networkx and pandas are imported only when those are called.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse import csgraph

from skillcircle._errors import NetworkError
from skillcircle.profiles import metric_crs_of

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Network"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: networkx edge attributes not carried into ``edge_attrs`` (recomputed or meaningless here).
_OSMNX_DROPPED_ATTRS = frozenset({"geometry", "length", "reversed", "key", "merged_edges"})


@dataclass(frozen=True, eq=False)
class Network:
    """An undirected walking network in a projected CRS.

    Build one with :meth:`from_edges`, :meth:`from_networkx` or a loader such as
    ``skillcircle.load_network``; the fields are read-only arrays.

    Attributes
    ----------
    x, y
        Node coordinates, metres, shape ``(n_nodes,)``.
    edge_u, edge_v
        End nodes of each undirected edge, shape ``(n_edges,)``. The shape of edge ``i`` runs
        from ``edge_u[i]`` to ``edge_v[i]``.
    edge_length
        Edge length in metres (the geometric length of the edge's shape).
    edge_coords, edge_offsets
        Edge shapes: the vertices of edge ``i`` are
        ``edge_coords[edge_offsets[i]:edge_offsets[i + 1]]`` (shape ``(n_coords, 2)``; at least
        two per edge). :attr:`edge_geometry` and :meth:`edge_lines` give them as LineStrings.
    crs
        The projected CRS of every coordinate (e.g. ``"EPSG:32650"``).
    indptr, indices, csr_length, csr_edge
        CSR adjacency: the neighbours of node ``i`` are ``indices[indptr[i]:indptr[i+1]]``,
        reached over edge ``csr_edge[k]`` of length ``csr_length[k]``.
    edge_attrs
        Extra per-edge columns (``highway``, ``name``, ``osmid`` …), each an array of length
        ``n_edges``.
    node_id
        Original node ids (OSM ids when known), shape ``(n_nodes,)``.
    meta
        Free-form provenance (source, what the loader dropped), JSON-serialisable.
    """

    x: FloatArray
    y: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_length: FloatArray
    edge_coords: FloatArray
    edge_offsets: IntArray
    crs: str
    indptr: IntArray
    indices: IntArray
    csr_length: FloatArray
    csr_edge: IntArray
    edge_attrs: Mapping[str, npt.NDArray[Any]] = field(default_factory=dict)
    node_id: IntArray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_edges(
        cls,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        edge_u: npt.ArrayLike,
        edge_v: npt.ArrayLike,
        *,
        crs: str,
        edge_geometry: npt.ArrayLike | None = None,
        edge_coords: npt.ArrayLike | None = None,
        edge_offsets: npt.ArrayLike | None = None,
        edge_length: npt.ArrayLike | None = None,
        edge_attrs: Mapping[str, npt.ArrayLike] | None = None,
        node_id: npt.ArrayLike | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Network:
        """Build a network from node coordinates and an edge list.

        Parameters
        ----------
        x, y
            Node coordinates in ``crs`` (metres).
        edge_u, edge_v
            Node indices (0-based) of each edge's ends.
        crs
            Projected CRS of the coordinates.
        edge_geometry
            LineStrings from ``u`` to ``v``; straight segments when omitted (and no
            ``edge_coords``). Only their vertices are kept.
        edge_coords, edge_offsets
            The same shapes as flat arrays (see the class attributes), instead of
            ``edge_geometry``: what another network's fields give without building objects.
        edge_length
            Edge lengths in metres; the geometric length of each shape when omitted.
        edge_attrs
            Extra per-edge columns.
        node_id
            Original node ids; ``0..n-1`` when omitted.
        meta
            Provenance to carry along.

        Returns
        -------
        Network

        Examples
        --------
        >>> net = Network.from_edges([0, 100, 100], [0, 0, 50], [0, 1], [1, 2], crs="EPSG:32649")
        >>> net.n_nodes, net.n_edges, float(net.edge_length.sum())
        (3, 2, 150.0)
        """
        xs = np.ascontiguousarray(x, dtype=np.float64)
        ys = np.ascontiguousarray(y, dtype=np.float64)
        u = np.ascontiguousarray(edge_u, dtype=np.int64)
        v = np.ascontiguousarray(edge_v, dtype=np.int64)
        n = xs.shape[0]
        if ys.shape != xs.shape or u.shape != v.shape or xs.ndim != 1 or u.ndim != 1:
            raise NetworkError("node coordinates and edge ends must be 1-D arrays of equal length")
        if n == 0 or u.size == 0:
            raise NetworkError("the walking network is empty (no nodes or no edges)")
        if u.min() < 0 or v.min() < 0 or max(u.max(), v.max()) >= n:
            raise NetworkError("an edge refers to a node that does not exist")
        coords, offsets, geom_length = _edge_shapes(
            xs, ys, u, v, edge_geometry, edge_coords, edge_offsets, need_length=edge_length is None
        )
        length = (
            geom_length
            if edge_length is None
            else np.ascontiguousarray(edge_length, dtype=np.float64)
        )
        if length.shape != u.shape:
            raise NetworkError("edge lengths must have one value per edge")
        if not np.all(np.isfinite(length)) or np.any(length < 0):
            raise NetworkError("edge lengths must be finite and non-negative")
        attrs = {k: np.asarray(val) for k, val in (edge_attrs or {}).items()}
        for k, val in attrs.items():
            if val.shape[0] != u.size:
                raise NetworkError(f"edge attribute {k!r} has the wrong length")
        indptr, indices, csr_length, csr_edge = _build_csr(n, u, v, length)
        ids = (
            np.arange(n, dtype=np.int64)
            if node_id is None
            else np.ascontiguousarray(node_id, dtype=np.int64)
        )
        return cls(
            x=xs,
            y=ys,
            edge_u=u,
            edge_v=v,
            edge_length=length,
            edge_coords=coords,
            edge_offsets=offsets,
            crs=crs,
            indptr=indptr,
            indices=indices,
            csr_length=csr_length,
            csr_edge=csr_edge,
            edge_attrs=attrs,
            node_id=ids,
            meta=dict(meta or {}),
        )

    @classmethod
    def from_networkx(cls, G: nx.Graph, *, crs: str | None = None) -> Network:
        """Build a network from a networkx graph, e.g. one made by osmnx.

        Nodes need ``x`` and ``y``; the graph attribute ``crs`` (or ``crs``) names their CRS.
        Directed graphs (osmnx MultiDiGraphs) are made undirected: reciprocal edges ``u → v`` and
        ``v → u`` with the same geometry become one edge (a one-way street stays one edge).
        Edges without ``geometry`` are straight lines. An unprojected graph is projected to
        ``crs`` (default: the UTM zone of the graph's centre); lengths are always the
        geometric lengths in metres,
        whatever ``length`` the graph carried. Other edge attributes become ``edge_attrs``
        (lists are joined as sorted distinct values with ``";"``).

        Parameters
        ----------
        G
            A networkx (Multi)(Di)Graph.
        crs
            Target projected CRS; by default the graph's own CRS if projected, else the UTM
            zone of the graph's centre.

        Returns
        -------
        Network
        """
        graph_crs = G.graph.get("crs")
        if graph_crs is None and crs is None:
            raise NetworkError("the networkx graph has no 'crs' attribute: pass crs=")
        source = CRS.from_user_input(graph_crs if graph_crs is not None else crs)
        nodes = list(G.nodes)
        if not nodes or G.number_of_edges() == 0:
            raise NetworkError("the networkx graph is empty (no nodes or no edges)")
        index = {n: i for i, n in enumerate(nodes)}
        try:
            x = np.array([float(G.nodes[n]["x"]) for n in nodes])
            y = np.array([float(G.nodes[n]["y"]) for n in nodes])
        except KeyError as exc:
            raise NetworkError("every node of the networkx graph needs 'x' and 'y'") from exc
        if crs is None:
            bounds = (float(x.min()), float(y.min()), float(x.max()), float(y.max()))
            crs = metric_crs_of(bounds, source)
        target = CRS.from_user_input(crs)
        if not target.is_projected:
            raise NetworkError(f"{crs!r} is not a projected (metric) CRS")
        node_id: npt.NDArray[np.int64] | None = None
        osmids = [G.nodes[n].get("osmid") for n in nodes]
        if all(isinstance(o, int | np.integer) for o in osmids):
            node_id = np.asarray(osmids, dtype=np.int64)
        elif all(isinstance(n, int | np.integer) for n in nodes):
            node_id = np.asarray(nodes, dtype=np.int64)

        edges = (
            list(G.edges(keys=True, data=True)) if G.is_multigraph() else list(G.edges(data=True))
        )
        u = np.array([index[e[0]] for e in edges], dtype=np.int64)
        v = np.array([index[e[1]] for e in edges], dtype=np.int64)
        datas: list[dict[str, Any]] = [e[-1] for e in edges]
        geom = np.array([d.get("geometry") for d in datas], dtype=object)
        missing = np.array([g is None for g in geom])
        if missing.any():
            pts = np.stack(
                [
                    np.column_stack([x[u[missing]], y[u[missing]]]),
                    np.column_stack([x[v[missing]], y[v[missing]]]),
                ],
                axis=1,
            )
            geom[missing] = shapely.linestrings(pts)
        # orient every geometry from u to v (undirected graphs may list an edge either way)
        start = shapely.get_coordinates(shapely.get_point(geom, 0))
        d_u = np.hypot(start[:, 0] - x[u], start[:, 1] - y[u])
        d_v = np.hypot(start[:, 0] - x[v], start[:, 1] - y[v])
        flip = d_v < d_u
        geom[flip] = shapely.reverse(geom[flip])
        keep = _collapse_reciprocal(u, v, geom) if G.is_directed() else np.ones(u.size, bool)
        u, v, geom = u[keep], v[keep], geom[keep]
        datas = [d for d, k in zip(datas, keep, strict=True) if k]
        if not source.equals(target):
            tr = Transformer.from_crs(source, target, always_xy=True)
            x, y = tr.transform(x, y)
            geom = shapely.transform(
                geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
            )
        names = sorted({k for d in datas for k in d} - _OSMNX_DROPPED_ATTRS)
        attrs = {k: _attr_array([d.get(k) for d in datas]) for k in names}
        return cls.from_edges(
            np.asarray(x, dtype=float),
            np.asarray(y, dtype=float),
            u,
            v,
            crs=str(crs),
            edge_geometry=geom,
            edge_attrs=attrs,
            node_id=node_id,
            meta={"graph_crs": str(graph_crs if graph_crs is not None else crs)},
        )

    def to_networkx(self) -> nx.MultiGraph:
        """Return an undirected ``networkx.MultiGraph`` with osmnx-like attributes.

        Nodes are ``0 … n-1`` with ``x``, ``y`` and ``osmid`` (the node id); edges carry
        ``length``, ``geometry`` and every ``edge_attrs`` column; the graph attribute ``crs``
        is the network's CRS.

        Examples
        --------
        >>> net = Network.from_edges([0, 100, 100], [0, 0, 50], [0, 1], [1, 2], crs="EPSG:32649")
        >>> G = net.to_networkx()
        >>> G.number_of_nodes(), G.number_of_edges(), G.graph["crs"], G.edges[1, 2, 0]["length"]
        (3, 2, 'EPSG:32649', 50.0)
        """
        import networkx as nx

        G = nx.MultiGraph(crs=self.crs)
        ids = self.node_id if self.node_id is not None else np.arange(self.n_nodes)
        G.add_nodes_from(
            (i, {"x": float(x), "y": float(y), "osmid": int(o)})
            for i, (x, y, o) in enumerate(zip(self.x, self.y, ids, strict=True))
        )
        attr_lists = {k: v.tolist() for k, v in self.edge_attrs.items()}
        lengths = self.edge_length.tolist()
        G.add_edges_from(
            (
                int(u),
                int(v),
                {
                    "length": lengths[i],
                    "geometry": self.edge_geometry[i],
                    **{k: vals[i] for k, vals in attr_lists.items()},
                },
            )
            for i, (u, v) in enumerate(zip(self.edge_u, self.edge_v, strict=True))
        )
        return G

    # ------------------------------------------------------------------ basic facts
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.edge_u.shape[0])

    @property
    def total_length_m(self) -> float:
        """Sum of edge lengths in metres."""
        return float(self.edge_length.sum())

    @functools.cached_property
    def edge_geometry(self) -> npt.NDArray[np.object_]:
        """Shapely LineStrings, one per edge from ``u`` to ``v`` (built on first use, then kept).

        Steps that need only some edges should use :meth:`edge_lines`, which does not build
        the others.
        """
        return self.edge_lines(None)

    def edge_lines(self, edges: npt.ArrayLike | None) -> npt.NDArray[np.object_]:
        """LineStrings of the given edge rows (every edge when ``None``), in that order.

        Taken from :attr:`edge_geometry` when it was already built, else made from the
        coordinates of those edges only.
        """
        built = self.__dict__.get("edge_geometry")
        if edges is None:
            if built is not None:
                return built
            coords, offsets = self.edge_coords, self.edge_offsets
        else:
            idx = np.asarray(edges, dtype=np.int64)
            if built is not None:
                return built[idx]
            picked = self.edge_shapes(idx)
            coords, offsets = picked["edge_coords"], picked["edge_offsets"]
        out = np.empty(offsets.size - 1, dtype=object)
        if out.size:
            owner = np.repeat(np.arange(out.size, dtype=np.int64), np.diff(offsets))
            out[:] = shapely.linestrings(coords, indices=owner)
        return out

    def edge_shapes(self, edges: npt.ArrayLike) -> dict[str, npt.NDArray[Any]]:
        """The shapes of some edge rows as ``{"edge_coords": …, "edge_offsets": …}``.

        Ready to pass to :meth:`from_edges` for a network of those edges, in that order.
        """
        idx = np.asarray(edges, dtype=np.int64)
        start = self.edge_offsets[idx]
        count = self.edge_offsets[idx + 1] - start
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(count, out=offsets[1:])
        take = np.arange(int(offsets[-1]), dtype=np.int64) + np.repeat(start - offsets[:-1], count)
        return {"edge_coords": self.edge_coords[take], "edge_offsets": offsets}

    def edge_vertex_owner(self) -> IntArray:
        """Edge row of every row of :attr:`edge_coords` (what ``return_index`` gives in shapely)."""
        return np.repeat(np.arange(self.n_edges, dtype=np.int64), np.diff(self.edge_offsets))

    def shape_lengths(self) -> FloatArray:
        """Geometric length of each edge's shape in metres (``edge_length`` may differ).

        Summed segment by segment from :attr:`edge_coords`, as shapely's ``length``, to within
        rounding.
        """
        return _polyline_length(self.edge_coords, self.edge_offsets)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (e.g. to Dask workers) without the LineStrings: they are rebuilt on demand."""
        state = dict(self.__dict__)
        state.pop("edge_geometry", None)
        return state

    @functools.cached_property
    def fingerprint(self) -> str:
        """Identity of the network's topology: ``"<nodes>n-<edges>e-<hash>"``.

        The hash (BLAKE2b, 96 bits) covers node coordinates, edge ends and edge lengths, so two
        networks with the same rows (a copy, the same file loaded again, the cache) share it
        and any other network almost surely does not. Computed once per object, on first use
        (about 0.1 s per million edges), then a string comparison: snapped point sets record
        it (:class:`~skillcircle.access.snapping.Snapped`) and routing refuses a set snapped
        to another network.
        """
        h = hashlib.blake2b(digest_size=12)
        for arr, dtype in (
            (self.x, np.float64),
            (self.y, np.float64),
            (self.edge_u, np.int64),
            (self.edge_v, np.int64),
            (self.edge_length, np.float64),
        ):
            h.update(np.ascontiguousarray(arr, dtype=dtype).tobytes())
        return f"{self.n_nodes}n-{self.n_edges}e-{h.hexdigest()}"

    def adjacency(self) -> sparse.csr_array:
        """Return the symmetric weighted adjacency as a SciPy CSR array (for csgraph)."""
        return sparse.csr_array(
            (self.csr_length, self.indices, self.indptr), shape=(self.n_nodes, self.n_nodes)
        )

    def component_labels(self) -> tuple[int, IntArray]:
        """Connected components: their count and each node's label."""
        n, labels = csgraph.connected_components(self.adjacency(), directed=False)
        return int(n), labels.astype(np.int64)

    def degree(self) -> IntArray:
        """Number of edge ends at each node (a self-loop counts twice)."""
        return np.diff(self.indptr).astype(np.int64)

    # ------------------------------------------------------------------ sub-networks
    def subnetwork(self, keep_nodes: npt.ArrayLike) -> Network:
        """Return the network induced by a boolean node mask (edges with both ends kept)."""
        keep = np.asarray(keep_nodes, dtype=bool)
        if keep.shape != (self.n_nodes,):
            raise NetworkError("node mask has the wrong length")
        new_index = np.full(self.n_nodes, -1, dtype=np.int64)
        new_index[keep] = np.arange(int(keep.sum()), dtype=np.int64)
        ekeep = keep[self.edge_u] & keep[self.edge_v]
        return Network.from_edges(
            self.x[keep],
            self.y[keep],
            new_index[self.edge_u[ekeep]],
            new_index[self.edge_v[ekeep]],
            crs=self.crs,
            **self.edge_shapes(np.flatnonzero(ekeep)),
            edge_length=self.edge_length[ekeep],
            edge_attrs={k: v[ekeep] for k, v in self.edge_attrs.items()},
            node_id=None if self.node_id is None else self.node_id[keep],
            meta=dict(self.meta),
        )

    def edge_subnetwork(
        self, keep_edges: npt.ArrayLike, *, meta: dict[str, Any] | None = None
    ) -> Network:
        """Return the network of a boolean edge mask and the nodes those edges use.

        ``meta`` replaces the provenance (a copy of this network's by default).
        """
        keep = np.asarray(keep_edges, dtype=bool)
        if keep.shape != (self.n_edges,):
            raise NetworkError("edge mask has the wrong length")
        used = np.zeros(self.n_nodes, dtype=bool)
        used[self.edge_u[keep]] = True
        used[self.edge_v[keep]] = True
        new = np.cumsum(used) - 1
        return Network.from_edges(
            self.x[used],
            self.y[used],
            new[self.edge_u[keep]],
            new[self.edge_v[keep]],
            crs=self.crs,
            **self.edge_shapes(np.flatnonzero(keep)),
            edge_length=self.edge_length[keep],
            edge_attrs={k: v[keep] for k, v in self.edge_attrs.items()},
            node_id=None if self.node_id is None else self.node_id[used],
            meta=dict(self.meta) if meta is None else meta,
        )

    def largest_component_label(self, labels: tuple[int, IntArray] | None = None) -> int:
        """Label of the largest connected piece: the one with the most nodes (osmnx's rule).

        This is skillcircle's one definition of "largest component": the network quality
        report, :meth:`largest_component` and the loaders' ``retain_all=False`` all use it.
        Pieces with as many nodes are ordered by total edge length, then by lowest label.

        Parameters
        ----------
        labels
            The result of :meth:`component_labels`, if already computed.

        Returns
        -------
        int
            A label of ``component_labels()[1]``; ``-1`` for a network without nodes.
        """
        n, lab = self.component_labels() if labels is None else labels
        if n == 0:
            return -1
        length = np.bincount(lab[self.edge_u], weights=self.edge_length, minlength=n)
        nodes = np.bincount(lab, minlength=n)
        # lexsort: last key first; -label so that, all else equal, the lowest label is last.
        return int(np.lexsort((-np.arange(n), length, nodes))[-1])

    def largest_component_mask(self) -> npt.NDArray[np.bool_]:
        """Boolean node mask of the largest piece (see :meth:`largest_component_label`)."""
        n, labels = self.component_labels()
        return labels == self.largest_component_label((n, labels))

    def largest_component(self) -> Network:
        """Return the largest piece (most nodes; see :meth:`largest_component_label`)."""
        mask = self.largest_component_mask()
        return self if mask.all() else self.subnetwork(mask)


def _join_values(values: Iterable[Any]) -> str:
    """Sorted distinct non-empty values joined by ``;`` (how merged edges carry tags)."""
    texts = sorted({str(v) for v in values if _present(v)})
    return ";".join(texts)


def _present(value: Any) -> bool:
    """True for a real tag value (not None, NaN, pandas NA or an empty string)."""
    if value is None:
        return False
    pd = sys.modules.get("pandas")  # pandas' NA can only exist once pandas is imported
    if pd is not None and value is pd.NA:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return not (isinstance(value, str) and value == "")


def _attr_array(values: list[Any]) -> npt.NDArray[Any]:
    """One plain NumPy column from per-edge networkx attribute values."""
    flat = [_join_values(v) if isinstance(v, list | tuple | set) else v for v in values]
    present = [v for v in flat if _present(v)]
    if (
        present
        and all(isinstance(v, bool | np.bool_) for v in present)
        and len(present) == len(flat)
    ):
        return np.asarray(flat, dtype=bool)
    if present and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in present
    ):
        if len(present) == len(flat):
            return np.asarray(flat, dtype=np.int64)
        return np.asarray([v if _present(v) else np.nan for v in flat], dtype=np.float64)
    if present and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        for v in present
    ):
        return np.asarray([v if _present(v) else np.nan for v in flat], dtype=np.float64)
    return np.asarray([str(v) if _present(v) else "" for v in flat], dtype=str)


def _collapse_reciprocal(
    u: npt.NDArray[np.int64], v: npt.NDArray[np.int64], geom: npt.NDArray[np.object_]
) -> npt.NDArray[np.bool_]:
    """Keep one undirected edge per pair of reciprocal directed edges with the same geometry.

    Edges are grouped by their end nodes and geometry (ignoring direction); a group with ``f``
    edges one way and ``b`` the other keeps ``max(f, b)`` edges.
    """
    import pandas as pd

    rev = shapely.reverse(geom)
    wkb_fwd = shapely.to_wkb(geom)
    wkb_rev = shapely.to_wkb(rev)
    forward = np.where(u == v, wkb_fwd <= wkb_rev, u < v)
    canon = np.where(forward, wkb_fwd, wkb_rev)
    frame = pd.DataFrame({"a": np.minimum(u, v), "b": np.maximum(u, v), "w": canon, "fwd": forward})
    group = frame.groupby(["a", "b", "w"], sort=False).ngroup().to_numpy()
    n_fwd = np.bincount(group, weights=forward.astype(float)).astype(np.int64)
    rank_back = frame.assign(g=group)[~forward].groupby("g").cumcount()
    keep = forward.copy()
    back_idx = np.flatnonzero(~forward)
    keep[back_idx] = rank_back.to_numpy() >= n_fwd[group[back_idx]]
    return keep


def _build_csr(
    n: int, u: IntArray, v: IntArray, length: FloatArray
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Symmetric CSR arrays with each undirected edge stored in both directions."""
    m = u.shape[0]
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    w = np.concatenate([length, length])
    eid = np.concatenate([np.arange(m, dtype=np.int64), np.arange(m, dtype=np.int64)])
    order = np.lexsort((dst, src))
    counts = np.bincount(src, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return (
        indptr,
        np.ascontiguousarray(dst[order]),
        np.ascontiguousarray(w[order]),
        np.ascontiguousarray(eid[order]),
    )


def _edge_shapes(
    x: FloatArray,
    y: FloatArray,
    u: IntArray,
    v: IntArray,
    geometry: npt.ArrayLike | None,
    coords: npt.ArrayLike | None,
    offsets: npt.ArrayLike | None,
    *,
    need_length: bool,
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Edge shapes as ``(coords, offsets, geometric length)`` from any of the three inputs.

    The length is computed (as shapely does: the sum of each segment's ``sqrt(dx² + dy²)``)
    only when ``need_length``; otherwise an empty array.
    """
    n = u.size
    if geometry is not None and (coords is not None or offsets is not None):
        raise NetworkError("give edge_geometry or edge_coords + edge_offsets, not both")
    if geometry is not None:
        geom = np.asarray(geometry, dtype=object)
        if geom.shape != (n,):
            raise NetworkError("edge_geometry must have one LineString per edge")
        kinds = shapely.get_type_id(geom)
        if np.any((kinds != 1) & (kinds != 2)):  # LineString or LinearRing
            bad = int(np.flatnonzero((kinds != 1) & (kinds != 2))[0])
            raise NetworkError(f"edge geometry {bad} is not a LineString")
        xy, owner = shapely.get_coordinates(geom, return_index=True)
        count = np.bincount(owner, minlength=n)
        length = shapely.length(geom).astype(np.float64) if need_length else np.zeros(0)
    elif coords is not None or offsets is not None:
        if coords is None or offsets is None:
            raise NetworkError("edge_coords and edge_offsets go together")
        xy = np.asarray(coords, dtype=np.float64)
        off = np.ascontiguousarray(offsets, dtype=np.int64)
        if xy.ndim != 2 or xy.shape[1] != 2 or off.shape != (n + 1,):
            raise NetworkError("edge_coords must be (n, 2) and edge_offsets one longer than edges")
        if off[0] != 0 or off[-1] != xy.shape[0]:
            raise NetworkError("edge_offsets must start at 0 and end at len(edge_coords)")
        count = np.diff(off)
        length = np.zeros(0)
        if need_length:
            length = _polyline_length(xy, off)
    else:
        xy = np.empty((2 * n, 2))
        xy[0::2, 0], xy[0::2, 1] = x[u], y[u]
        xy[1::2, 0], xy[1::2, 1] = x[v], y[v]
        count = np.full(n, 2, dtype=np.int64)
        length = _polyline_length(xy, np.arange(0, 2 * n + 1, 2, dtype=np.int64))
    if np.any(count < 2):
        bad = int(np.flatnonzero(count < 2)[0])
        raise NetworkError(f"edge {bad} has fewer than two vertices (an empty geometry)")
    out = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(count, out=out[1:])
    return np.ascontiguousarray(xy, dtype=np.float64), out, length


def _polyline_length(xy: FloatArray, offsets: IntArray) -> FloatArray:
    """Length of each polyline ``xy[offsets[i]:offsets[i+1]]``, summed segment by segment."""
    d = np.diff(xy, axis=0)
    seg = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
    if offsets.size < 2:
        return np.zeros(0)
    seg[offsets[1:-1] - 1] = 0.0  # the step from one line's last vertex to the next line's first
    return np.add.reduceat(seg, offsets[:-1]).astype(np.float64)
