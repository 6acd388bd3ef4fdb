"""Save and load built walking networks, and cache them by input file and options.

A network is stored in one NumPy ``.npz`` file (no pickle): the node and edge arrays, the edge
geometries as WKB, the edge attributes, a JSON header (format version, CRS, cache key, ``meta``)
and a SHA-256 checksum over all of it. A cache file that is truncated, fails its checksum, has
another format version or was built from another input or options is never trusted: it is
logged and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from skillcircle._errors import CacheError, InputError, InputFileNotFoundError, SkillcircleError
from skillcircle.inputs.files import sha256_file, write_with
from skillcircle.network.model import Network
from skillcircle.settings import Settings

__all__ = [
    "FORMAT_VERSION",
    "cache_key",
    "cached_network",
    "is_network_file",
    "load_network_file",
    "save_network",
]

logger = logging.getLogger(__name__)

#: Version of the ``.npz`` layout written; files of a version not in :data:`_CORES` are rebuilt.
#: Version 2 stores edge shapes as flat coordinates (``edge_coords`` + ``edge_offsets``);
#: version 1 (skillcircle 0.2) stored them as WKB and is still read.
FORMAT_VERSION = 2

_NODES_EDGES = ("x", "y", "edge_u", "edge_v", "edge_length", "node_id")
#: The arrays every file of each readable version holds.
_CORES = {
    1: (*_NODES_EDGES, "geom_wkb", "geom_offsets"),
    2: (*_NODES_EDGES, "edge_coords", "edge_offsets"),
}
_ATTR_PREFIX = "attr__"


def _checksum(arrays: Mapping[str, npt.NDArray[Any]]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes (in name order)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _plain(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """An attribute column NumPy can store without pickle (objects become text)."""
    if values.dtype.kind == "O":
        return np.asarray(["" if v is None else str(v) for v in values.tolist()], dtype=str)
    return values


def save_network(net: Network, path: str | os.PathLike[str], *, key: str | None = None) -> Path:
    """Write a network to one ``.npz`` file, atomically.

    Parameters
    ----------
    net
        The network.
    path
        Target file (any name; ``.npz`` is customary).
    key
        Cache key to record (used by :func:`cached_network`).

    Returns
    -------
    pathlib.Path
        The target path.
    """
    node_id = net.node_id if net.node_id is not None else np.arange(net.n_nodes, dtype=np.int64)
    arrays: dict[str, npt.NDArray[Any]] = {
        "x": net.x,
        "y": net.y,
        "edge_u": net.edge_u,
        "edge_v": net.edge_v,
        "edge_length": net.edge_length,
        "node_id": node_id,
        "edge_coords": net.edge_coords,
        "edge_offsets": net.edge_offsets,
    }
    for name, values in net.edge_attrs.items():
        arrays[_ATTR_PREFIX + name] = _plain(np.asarray(values))
    header = {
        "format_version": FORMAT_VERSION,
        "crs": net.crs,
        "key": key,
        "attrs": list(net.edge_attrs),
        "meta": net.meta,
    }
    text = json.dumps(header, ensure_ascii=False, sort_keys=True, default=str)
    arrays["header"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    arrays["checksum"] = np.frombuffer(_checksum(arrays).encode("ascii"), dtype=np.uint8)

    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)

    return write_with(path, writer)


#: First bytes of a ZIP archive (an ``.npz`` file is one); the second form is an empty archive.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def is_network_file(path: str | os.PathLike[str]) -> bool:
    """Whether a file looks like a network written by :func:`save_network`.

    Checks the ZIP signature and that the archive holds the arrays of a network file, without
    reading them (a quick test before overwriting, not a validation: see
    :func:`load_network_file`).

    Parameters
    ----------
    path
        Any file.

    Returns
    -------
    bool
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            if fh.read(4) not in _ZIP_MAGIC:
                return False
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return any(
        all(f"{name}.npy" in names for name in (*core, "header", "checksum"))
        for core in _CORES.values()
    )


def load_network_file(path: str | os.PathLike[str], *, expected_key: str | None = None) -> Network:
    """Read a network written by :func:`save_network`.

    Parameters
    ----------
    path
        The ``.npz`` file.
    expected_key
        If given, the file must have been saved with this cache key.

    Returns
    -------
    Network
        Arrays, geometries, attributes and ``meta`` exactly as saved.

    Raises
    ------
    InputFileNotFoundError
        No such file.
    CacheError
        The file is not a network file, is truncated or corrupted (checksum), has another
        format version, or another cache key.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(path, "network file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise CacheError(f"{path}: not a readable network file ({exc})") from exc
    if magic not in _ZIP_MAGIC:
        raise CacheError(f"{path}: not a readable network file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        text = " ".join(str(exc).split())
        raise CacheError(f"{path}: not a readable network file ({text})") from exc
    core = _CORES[2] if "edge_coords" in arrays else _CORES[1]
    missing = [n for n in (*core, "header", "checksum") if n not in arrays]
    if missing:
        raise CacheError(f"{path}: not a network file (missing {', '.join(missing)})")
    stored = arrays.pop("checksum").tobytes().decode("ascii", errors="replace")
    if _checksum(arrays) != stored:
        raise CacheError(f"{path}: checksum mismatch (the file is corrupted)")
    try:
        header = json.loads(arrays["header"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CacheError(f"{path}: unreadable header ({exc})") from exc
    version = header.get("format_version")
    if version not in _CORES or not all(n in arrays for n in _CORES.get(version, ())):
        readable = " or ".join(str(v) for v in _CORES)
        raise CacheError(f"{path}: format version {version!r}, expected {readable}")
    if expected_key is not None and header.get("key") != expected_key:
        raise CacheError(f"{path}: built from another input or options (stale cache)")
    try:  # a consistent checksum does not make a hand-made file complete
        if version == 1:
            blob = arrays["geom_wkb"].tobytes()
            off = arrays["geom_offsets"]
            geoms = shapely.from_wkb([blob[off[i] : off[i + 1]] for i in range(off.size - 1)])
            shapes: dict[str, Any] = {"edge_geometry": np.asarray(geoms, dtype=object)}
        else:
            shapes = {"edge_coords": arrays["edge_coords"], "edge_offsets": arrays["edge_offsets"]}
        return Network.from_edges(
            arrays["x"],
            arrays["y"],
            arrays["edge_u"],
            arrays["edge_v"],
            crs=header["crs"],
            **shapes,
            edge_length=arrays["edge_length"],
            edge_attrs={name: arrays[_ATTR_PREFIX + name] for name in header["attrs"]},
            node_id=arrays["node_id"],
            meta=header["meta"],
        )
    except (KeyError, TypeError, IndexError, ValueError, shapely.errors.ShapelyError) as exc:
        if isinstance(exc, SkillcircleError):
            raise
        text = " ".join(str(exc).split())
        raise CacheError(f"{path}: not a consistent network file ({text})") from exc


def cache_key(
    source_path: str | os.PathLike[str],
    settings: Settings,
    options: Mapping[str, Any] | None = None,
) -> str:
    """SHA-256 key of a network build: input bytes, CRS, format version and loader options."""
    payload = {
        "source_sha256": sha256_file(source_path),
        "crs": settings.crs,
        "format_version": FORMAT_VERSION,
        "options": dict(options or {}),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached_network(
    source_path: str | os.PathLike[str],
    settings: Settings,
    build_fn: Callable[[], Network],
    *,
    options: Mapping[str, Any] | None = None,
) -> Network:
    """Return the cached network for this input and options, building (and caching) it if needed.

    The cache lives in ``settings.cache_dir / "networks"``, one file per key (see
    :func:`cache_key`: SHA-256 of the source file, CRS, format version and ``options`` such as
    ``retain_all``, buffer, boundary hash, gap bridging and loader version). A corrupted or
    stale file is logged and rebuilt; a cache that cannot be written is logged and skipped.

    Parameters
    ----------
    source_path
        The input file the network is built from.
    settings
        Supplies the CRS and the cache folder.
    build_fn
        Builds the network when the cache cannot be used.
    options
        Everything else that changes the result (JSON-serialisable).

    Returns
    -------
    Network
    """
    key = cache_key(source_path, settings, options)
    target = settings.cache_dir / "networks" / f"{Path(source_path).name}.{key[:16]}.npz"
    if target.is_file():
        try:
            net = load_network_file(target, expected_key=key)
        except CacheError as exc:
            logger.warning("network cache not usable, rebuilding: %s", exc)
        else:
            logger.info("network loaded from cache %s", target)
            return net
    net = build_fn()
    try:
        save_network(net, target, key=key)
    except (OSError, InputError) as exc:  # a read-only or blocked cache folder
        logger.warning("could not write the network cache %s: %s", target, exc)
    else:
        logger.info("network cached in %s", target)
    return net
