"""Side constraints of the siting problem: per-group quotas and the minimum spacing rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from skillcircle._errors import InfeasibleError, InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_NO_LIMIT = np.iinfo(np.int64).max // 4


def _spacing_neighbours(
    xy: FloatArray | None, min_spacing_m: float | None, n: int
) -> tuple[IntArray, IntArray]:
    """CSR of candidate pairs closer than ``min_spacing_m`` (empty when no spacing rule)."""
    if xy is None or not min_spacing_m or n == 0:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pairs = cKDTree(xy).query_pairs(np.nextafter(min_spacing_m, 0.0), output_type="ndarray")
    a = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.int64)
    b = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.int64)
    m = sparse.csr_array((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    m.sort_indices()
    return m.indptr.astype(np.int64), m.indices.astype(np.int64)


@dataclass(frozen=True)
class _Quotas:
    """Group codes and per-group minimum / maximum new stations."""

    gid: IntArray  # per original candidate, -1 = no group
    names: npt.NDArray[np.object_]
    gmin: IntArray
    gmax: IntArray

    @classmethod
    def build(
        cls,
        groups: npt.NDArray[Any] | None,
        min_per_group: int | Mapping[Any, int] | None,
        max_per_group: int | Mapping[Any, int] | None,
        k: int | None,
    ) -> _Quotas | None:
        if min_per_group is None and max_per_group is None:
            return None
        if groups is None:
            raise InputError("min_per_group / max_per_group need candidate_group")
        codes, uniques = pd.factorize(pd.Series(groups, dtype=object), sort=True)
        names = np.asarray(uniques, dtype=object)
        gid = np.asarray(codes, dtype=np.int64)
        index = {name: g for g, name in enumerate(names.tolist())}
        size = np.bincount(gid[gid >= 0], minlength=names.size)

        def table(spec: int | Mapping[Any, int] | None, default: int, what: str) -> IntArray:
            out = np.full(names.size, default, dtype=np.int64)
            if spec is None:
                return out
            if isinstance(spec, Mapping):
                for name, value in spec.items():
                    value = _count(value, what, name)
                    if name in index:
                        out[index[name]] = value
                    elif what == "min_per_group" and value > 0:
                        raise InfeasibleError(
                            f"group {name!r} has a minimum of {value} but no candidate"
                        )
                return out
            out[:] = _count(spec, what, None)
            return out

        gmin = table(min_per_group, 0, "min_per_group")
        gmax = table(max_per_group, _NO_LIMIT, "max_per_group")
        for g in range(names.size):
            if gmax[g] < gmin[g]:
                raise InfeasibleError(
                    f"group {names[g]!r}: maximum {gmax[g]} is below minimum {gmin[g]}"
                )
            if gmin[g] > size[g]:
                raise InfeasibleError(
                    f"group {names[g]!r} needs {gmin[g]} station(s) but has {size[g]} candidate(s)"
                )
        if k is not None and gmin.sum() > k:
            raise InfeasibleError(
                f"the per-group minimums add up to {gmin.sum()} stations, more than add={k}"
            )
        return cls(gid, names, gmin, gmax)


def _count(value: Any, what: str, name: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        where = f" for group {name!r}" if name is not None else ""
        raise InputError(f"{what}{where} must be a non-negative integer, got {value!r}")
    return int(value)
