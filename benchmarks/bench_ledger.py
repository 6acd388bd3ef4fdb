"""Benchmark of the station-ledger check (:func:`~skillcircle.inputs.stations.read_stations`).

Synthetic CSV ledgers (名称, 类型, 经度, 纬度; points uniform over a 20 km × 22 km square of
central Guangzhou, no district polygons) are read and validated end to end:

* 10 000, 40 000 and 200 000 rows with distinct names, and 40 000 rows that all share one name
  (the duplicate check's worst realistic case: every row is compared with the kept rows of the
  same name near it) — wall time and time per row, to show the growth is about linear;
* the duplicate check alone: the grid (:func:`~skillcircle.inputs.stations._duplicates`) against
  the old all-pairs rule (:func:`~skillcircle.inputs.stations._duplicates_pairwise`, the
  baseline) on the same-name ledgers, at 10 000 rows and at 40 000 when the estimate is under
  a minute, with the results checked equal;
* memory: peak resident memory of reading a ~20 MB ledger in a fresh process, over the
  memory of the process after its imports, and tracemalloc's peak of Python allocations;
* the refusal of a 200 001-row ledger (streamed and counted; nothing validated).

Run ``python benchmarks/bench_ledger.py`` (or ``--quick``), or through ``scripts/bench.py``,
which calls :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

if __name__ == "__main__":  # run as a script: make ``benchmarks.common`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import report, section, timed
from skillcircle._errors import InputError
from skillcircle.inputs import stations as st
from skillcircle.inputs.stations import MAX_LEDGER_ROWS, read_stations

__all__ = ["run"]

TYPES = ("社区型", "乡村型", "园区型", "院校机构型")
LON0, LON1, LAT0, LAT1 = 113.20, 113.40, 23.00, 23.20


def _ledger(path: Path, n: int, *, same_name: bool, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(LON0, LON1, n)
    lat = rng.uniform(LAT0, LAT1, n)
    lines = ["名称,类型,经度,纬度"]
    lines += [
        f"{'技能加油站' if same_name else f'技能加油站{i}'},{TYPES[i % 4]},{x:.6f},{y:.6f}"
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _duplicate_inputs(n: int, seed: int = 0) -> tuple[list[str], Any, Any, Any]:
    rng = np.random.default_rng(seed)
    return (
        ["技能加油站"] * n,
        rng.uniform(LON0, LON1, n),
        rng.uniform(LAT0, LAT1, n),
        np.ones(n, dtype=bool),
    )


_MEMORY_SCRIPT = """
import json, resource, sys, tempfile, tracemalloc
from pathlib import Path
from skillcircle.inputs.stations import check_ledger, read_stations
out = Path(tempfile.mkdtemp())
tiny = out / "tiny.csv"
tiny.write_text("名称,类型,经度,纬度\\n甲站,社区型,113.266,23.1395\\n", encoding="utf-8")
check_ledger(tiny, out / "warm")  # imports and first-use costs are not the ledger's


def peak_kb():
    # VmHWM starts afresh at exec; ru_maxrss may start at the parent's peak (Linux fork)
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


before = peak_kb()
if sys.argv[3] == "traced":
    tracemalloc.start()
if sys.argv[2] == "check":
    check_ledger(sys.argv[1], out / "checked")
else:
    read_stations(sys.argv[1])
traced = tracemalloc.get_traced_memory()[1] if sys.argv[3] == "traced" else 0
after = peak_kb()
print(json.dumps({"growth_kb": after - before, "traced": traced}))
"""


def _memory(path: Path, what: str, how: str) -> dict[str, Any]:
    """Peak RSS growth (``how="rss"``) or tracemalloc peak (``"traced"``) in a fresh process."""
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(path), what, how],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(quick: bool) -> dict[str, Any]:
    """Time the ledger check and its duplicate step; measure memory and the row-limit refusal.

    Parameters
    ----------
    quick
        Small sizes (a smoke test, seconds) instead of 10 000 – 200 000 rows.

    Returns
    -------
    dict
        A :func:`benchmarks.common.report`.
    """
    sizes = [2_000, 5_000] if quick else [10_000, 40_000, 200_000]
    same = 5_000 if quick else 40_000
    base_n = 2_000 if quick else 10_000
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = [(n, False) for n in sizes] + [(same, True)]
        for n, same_name in cases:
            path = _ledger(folder / f"l{n}{same_name}.csv", n, same_name=same_name)
            t, result = timed(lambda p=path: read_stations(p))
            rows.append(
                {
                    "ledger": f"{n:,} rows, {'one name' if same_name else 'distinct names'}",
                    "MB": path.stat().st_size / 1e6,
                    "read_stations s": t,
                    "µs per row": t / n * 1e6,
                    "kept": len(result.stations),
                    "duplicates": int(result.rejected["reason"].str.startswith("duplicate").sum()),
                }
            )
        # the duplicate check alone: grid vs the old all-pairs rule
        dup_rows: list[dict[str, Any]] = []
        notes: list[str] = []
        baseline_s: dict[int, float] = {}
        for n in sorted({base_n, same}):
            keys, lon, lat, cand = _duplicate_inputs(n)
            t_grid, fast = timed(
                lambda k=keys, x=lon, y=lat, c=cand: st._duplicates(k, x, y, c, 30.0)
            )
            row: dict[str, Any] = {
                "same-name rows": n,
                "grid s": t_grid,
                "grid µs per row": t_grid / n * 1e6,
                "all-pairs s": "",
                "all-pairs µs per row": "",
                "speed-up": "",
            }
            estimate = baseline_s.get(base_n, 0.0) * (n / base_n) ** 2
            if n == base_n or estimate < 60:
                t_pair, slow = timed(
                    lambda k=keys, x=lon, y=lat, c=cand: st._duplicates_pairwise(k, x, y, c, 30.0)
                )
                baseline_s[n] = t_pair
                row.update(
                    {
                        "all-pairs s": t_pair,
                        "all-pairs µs per row": t_pair / n * 1e6,
                        "speed-up": t_pair / t_grid,
                    }
                )
                notes.append(
                    f"{n:,} rows: {len(fast):,} duplicates, the same rows and the same "
                    f"'duplicate of' targets as the all-pairs rule: {fast == slow}"
                )
            else:
                notes.append(f"{n:,} rows: all-pairs skipped (estimated {estimate:.0f} s)")
            dup_rows.append(row)
        # memory of a ~20 MB ledger (5 MB in quick mode), in a fresh process
        mem_n = 25_000 if quick else 100_000
        big = _ledger(folder / "mem.csv", mem_n, same_name=False, seed=1)
        extra = "," + "地址示例" * 12  # an address column: ~100 bytes a row
        text = big.read_text(encoding="utf-8").splitlines()
        big.write_text(
            "\n".join([text[0] + ",地址", *(line + extra for line in text[1:])]) + "\n",
            encoding="utf-8",
        )
        mb = big.stat().st_size / 1e6
        mem_rows = []
        for what, label in (("read", "read_stations"), ("check", "check_ledger (+ writing)")):
            rss_mb = _memory(big, what, "rss")["growth_kb"] / 1024
            traced_mb = _memory(big, what, "traced")["traced"] / 1e6
            mem_rows.append(
                {
                    "step": label,
                    "ledger": f"{mem_n:,} rows",
                    "file MB": mb,
                    "peak RSS growth MB": rss_mb,
                    "RSS × file size": rss_mb / mb,
                    "tracemalloc peak MB": traced_mb,
                    "tracemalloc × file size": traced_mb / mb,
                }
            )
        # the refusal of one row too many
        over = _ledger(folder / "over.csv", MAX_LEDGER_ROWS + 1, same_name=False)

        def refuse() -> str:
            try:
                read_stations(over)
            except InputError as exc:
                return str(exc)
            return "read"

        t_refuse, message = timed(refuse)
    return report(
        "Station ledger check",
        [
            section(
                "read_stations end to end",
                rows,
                description="CSV ledgers read, validated and de-duplicated (no district "
                "polygons); best of one run.",
                notes=[
                    "Per-row time stays about flat from 10 000 to 200 000 rows: linear.",
                    "Points are uniform over the same square, so more rows means denser "
                    "points: a same-name row then meets more kept rows in its 27 grid cells "
                    "(bounded: kept rows of a name are > 30 m apart).",
                ],
            ),
            section(
                "Duplicate check: grid vs all pairs",
                dup_rows,
                description="Same-name rows uniform over 20 × 22 km, duplicate_m = 30 m.",
                notes=notes,
            ),
            section(
                "Memory of reading a ledger",
                mem_rows,
                description="Peak RSS of a fresh process reading the ledger, over its peak "
                "after checking a one-row ledger (imports and first-use costs excluded), "
                "measured without tracemalloc; tracemalloc peak of Python and NumPy "
                "allocations in a second process.",
            ),
            section(
                "Refusing a ledger over the row limit",
                [{"rows": MAX_LEDGER_ROWS + 1, "refused in s": t_refuse}],
                notes=[f"message: {message}"],
            ),
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(run(parser.parse_args().quick), indent=2, ensure_ascii=False, default=str))
