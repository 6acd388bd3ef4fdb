"""Blocks of work on threads: compiled kernels that release the GIL, run side by side.

The hot loops are serial numba functions compiled with ``nogil=True``; this module runs one
call per block on a thread pool. Compared with numba's ``parallel=True`` (``prange``) this
gives the same parallelism over blocks while the kernels compile several times faster (no
parfors pass), which is most of a first run's cost (issue 15).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba

__all__ = ["block_bounds", "n_threads", "run_blocks"]


def n_threads() -> int:
    """Threads to use: numba's thread count (``NUMBA_NUM_THREADS``), at least 1."""
    return max(1, int(numba.get_num_threads()))


def block_bounds(n_items: int, n_blocks: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` of each of ``n_blocks`` contiguous blocks of ``n_items`` (as even as can be).

    Examples
    --------
    >>> block_bounds(10, 3)
    [(0, 3), (3, 6), (6, 10)]
    """
    n_blocks = max(1, n_blocks)
    return [(b * n_items // n_blocks, (b + 1) * n_items // n_blocks) for b in range(n_blocks)]


def run_blocks(n_blocks: int, task: Callable[[int], object]) -> None:
    """Call ``task(b)`` for ``b`` in ``range(n_blocks)``, one thread per block.

    Exceptions raised by a block are raised here (the first one, after every block ended).
    """
    if n_blocks <= 0:
        return
    if n_blocks == 1:
        task(0)
        return
    with ThreadPoolExecutor(max_workers=n_blocks, thread_name_prefix="skillcircle") as pool:
        futures = [pool.submit(task, b) for b in range(n_blocks)]
        for f in futures:
            f.result()
