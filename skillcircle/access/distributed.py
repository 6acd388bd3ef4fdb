"""Coverage on a Dask cluster: one task per part (:mod:`skillcircle.access.partition`).

``dask`` and ``distributed`` are imported only inside these functions, so a run without
``dask`` never imports them (install the ``dask`` extra to use them).

Two ways to name a cluster (the study's ``dask`` option, the CLI's ``--dask``):

* ``local`` or ``local:N``: start a ``LocalCluster`` of N worker processes (one thread each;
  default: one per core) for the run, and close it afterwards;
* ``tcp://HOST:PORT`` (or ``tls://``): connect to a running scheduler.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from skillcircle._errors import InputError
from skillcircle.access.partition import Part, Runner, measure_part

__all__ = ["check_dask", "connect", "dask_runner", "scheduler_name"]

logger = logging.getLogger(__name__)

_LOCAL = re.compile(r"^local(?::(\d+))?$")
_REMOTE = re.compile(r"^(tcp|tls)://[^\s/:]+:\d{1,5}$")


def check_dask(value: str) -> str:
    """Return ``value`` if it names a cluster, else raise.

    Parameters
    ----------
    value
        ``local``, ``local:N`` (1 ≤ N ≤ 1024) or ``tcp://HOST:PORT``.

    Returns
    -------
    str
        ``value``, stripped.

    Raises
    ------
    InputError
        Naming ``dask``.

    Examples
    --------
    >>> check_dask("local:2")
    'local:2'
    >>> check_dask("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    """
    text = value.strip() if isinstance(value, str) else ""
    m = _LOCAL.match(text)
    if (m and (m.group(1) is None or 1 <= int(m.group(1)) <= 1024)) or _REMOTE.match(text):
        return text
    raise InputError(
        f"dask must be local, local:N (1-1024 workers) or tcp://HOST:PORT, got {value!r}",
        param="dask",
    )


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise InputError(
            "dask needs the dask extra: pip install 'skillcircle[dask]'", param="dask"
        ) from exc
    return distributed


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """A ``distributed.Client`` for a cluster name, closed (with its cluster) on exit.

    Parameters
    ----------
    address
        See :func:`check_dask`.

    Yields
    ------
    distributed.Client
        The client.

    Raises
    ------
    InputError
        When the name is not a cluster's, or no scheduler answers at the address.
    """
    address = check_dask(address)
    distributed = _import_distributed()
    m = _LOCAL.match(address)
    if m:
        workers = int(m.group(1)) if m.group(1) else (os.cpu_count() or 1)
        with (
            distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            logger.info("Dask LocalCluster of %d workers at %s", workers, cluster.scheduler_address)
            yield client
        return
    try:
        client = distributed.Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"no Dask scheduler answers at {address} ({exc})", param="dask") from exc
    with client:
        yield client


def scheduler_name(client: Any) -> str:
    """What ``summary.json`` records as ``scheduler``: the address, ``"local"`` in-process.

    A ``LocalCluster`` started for the run (its address is a throw-away port) is ``"local"``.
    """
    cluster = getattr(client, "cluster", None)
    if cluster is not None and type(cluster).__name__ == "LocalCluster":
        return "local"
    return str(client.scheduler.address)


def dask_runner(
    client: Any, *, step: Any = None, task: Callable[[Part], Any] = measure_part
) -> Runner:
    """Run ``task`` over parts on a client's cluster, one task per part.

    Parameters
    ----------
    client
        A ``distributed.Client``.
    step
        Progress hook (:data:`~skillcircle.access.analysis.Progress`): one step per part,
        closed when the part's task finishes.
    task
        What a part runs: :func:`~skillcircle.access.partition.measure_part` (coverage) or
        :func:`~skillcircle.access.partition.part_pairs` (siting's cover sets).

    Returns
    -------
    Runner
        Takes the parts, returns their results in the same order.
    """
    distributed = _import_distributed()

    name = getattr(task, "__name__", "task").replace("_", "-")

    def run(parts: list[Part]) -> list[Any]:
        # hash=False: Dask would otherwise hash every part's content (each point's WKB)
        scattered = client.scatter(parts, hash=False)
        futures = client.map(
            task, scattered, key=[f"skillcircle-{name}-{p.key}" for p in parts], pure=False
        )
        order = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(parts)
        for done, (future, result) in enumerate(
            distributed.as_completed(futures, with_results=True), start=1
        ):
            results[order[future.key]] = result
            logger.info("part %s done (%d of %d)", parts[order[future.key]].key, done, len(parts))
            if step is not None:
                with step(f"Part {done} of {len(parts)} done"):
                    pass
        return [r for r in results if r is not None]

    return run
