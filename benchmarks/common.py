"""Shared helpers for the benchmark modules run by ``scripts/bench.py``.

How to add a benchmark
----------------------
1. Create ``benchmarks/bench_<topic>.py`` (the runner picks up every ``bench_*.py`` file in
   this folder, in name order).
2. Give it a module docstring and one public function::

       def run(quick: bool) -> dict:
           ...
           return report("Coverage", [section(...), section(...)])

   ``quick=True`` must finish in well under a minute on a laptop (small sizes, used as a
   smoke test: ``python scripts/bench.py --quick``); ``quick=False`` runs the real sizes.
3. Time with :func:`timed` (wall clock, best of ``repeat``), warm numba kernels up on a
   tiny input first so compile time is not counted, and build every baseline (networkx,
   scipy, spopt, …) *in the same run* so the ratios compare like with like.
4. Describe each table with :func:`section`: a title, a sentence saying what is measured,
   a list of rows (dicts with the same keys, in column order) and optional notes. Check the
   answers against the baseline where you can and say so in a note ("max difference
   3e-12 m"): a fast wrong answer is not a result.
5. Real data, when needed, comes from :func:`data_path` (``$SKILLCIRCLE_DATA``); return a
   section with a note instead of failing when it is missing.

``scripts/bench.py`` adds the machine description (:func:`machine_info`) and writes
``docs/benchmarks.md`` with :func:`render`.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "as_report",
    "data_path",
    "fmt",
    "machine_info",
    "markdown_table",
    "peak_rss_mb",
    "render",
    "report",
    "section",
    "timed",
]

T = TypeVar("T")

Row = Mapping[str, Any]


def timed(fn: Callable[[], T], *, repeat: int = 1) -> tuple[float, T]:
    """Run ``fn`` ``repeat`` times; return the best wall-clock time (s) and the last result."""
    best = float("inf")
    result: T
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def section(
    title: str,
    rows: Sequence[Row],
    *,
    description: str = "",
    notes: Iterable[str] = (),
) -> dict[str, Any]:
    """One table of a benchmark report."""
    return {
        "title": title,
        "description": description,
        "rows": [dict(r) for r in rows],
        "notes": list(notes),
    }


def report(title: str, sections: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What a benchmark module's ``run`` returns: a title and its sections."""
    return {"title": title, "sections": [dict(s) for s in sections]}


def _flatten(prefix: str, value: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out.append({"result": prefix, "value": value})


def as_report(name: str, result: Any, *, doc: str | None = None) -> dict[str, Any]:
    """Turn whatever a module's ``run`` returned into a :func:`report`.

    A :func:`report` dict passes through unchanged. Any other mapping is shown as one
    two-column table per top-level key (nested keys joined with dots), so a benchmark that
    returns plain named results still renders.
    """
    if isinstance(result, Mapping) and "sections" in result and "title" in result:
        return dict(result)
    title = (doc or "").strip().splitlines()[0].rstrip(".") if doc else name
    sections = []
    plain: list[dict[str, Any]] = []
    items = result.items() if isinstance(result, Mapping) else [("result", result)]
    for key, value in items:
        if isinstance(value, Mapping):
            rows: list[dict[str, Any]] = []
            _flatten("", value, rows)
            sections.append(section(str(key), rows))
        else:
            plain.append({"result": str(key), "value": value})
    if plain:
        sections.insert(0, section("results", plain))
    return report(f"{title} ({name})", sections)


def fmt(value: Any) -> str:
    """Format a table cell: 3 significant digits for floats, thousands separators for ints."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def markdown_table(rows: Sequence[Row]) -> str:
    """Render rows (dicts sharing keys) as a GitHub markdown table."""
    if not rows:
        return "_(no rows)_\n"
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict[str, str]:
    """Describe the machine and software the benchmarks ran on."""
    import numba

    ram = _ram_gb()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date (UTC)": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "numba threads": str(numba.get_num_threads()),
        "RAM": f"{ram:.1f} GB" if ram else "unknown",
        "load average at start": " / ".join(f"{v:.2f}" for v in load) if load else "unknown",
        "OS": platform.platform(),
        "Python": sys.version.split()[0],
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "scipy": _version("scipy"),
        "shapely": _version("shapely"),
        "networkx": _version("networkx"),
        "skillcircle commit": _git_commit(),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux: ru_maxrss is in KB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024**2


def data_path(*parts: str) -> Path | None:
    """A file under ``$SKILLCIRCLE_DATA``, or ``None`` when the folder or file is missing."""
    root = os.environ.get("SKILLCIRCLE_DATA")
    if not root:
        return None
    path = Path(root).joinpath(*parts)
    return path if path.exists() else None


def render(
    reports: Sequence[Mapping[str, Any]],
    machine: Mapping[str, str],
    *,
    quick: bool,
    errors: Mapping[str, str] | None = None,
) -> str:
    """Render the whole ``docs/benchmarks.md`` page."""
    out = [
        "# Benchmarks",
        "",
        "Generated by `python scripts/bench.py"
        + (" --quick`: SMOKE-TEST SIZES, not representative." if quick else "`.")
        + " Times are wall-clock seconds (best of the stated repeats); numba compile time is",
        "excluded by a warm-up call. Baselines run in the same process on the same inputs.",
        "",
        "## Machine",
        "",
        markdown_table([{"item": k, "value": v} for k, v in machine.items()]),
    ]
    for rep in reports:
        out += [f"## {rep['title']}", ""]
        for sec in rep["sections"]:
            out += [f"### {sec['title']}", ""]
            if sec.get("description"):
                out += [sec["description"], ""]
            out.append(markdown_table(sec["rows"]))
            out += [f"- {note}" for note in sec.get("notes", [])]
            if sec.get("notes"):
                out.append("")
    for name, err in (errors or {}).items():
        out += [f"## {name}: FAILED", "", "```", err.rstrip(), "```", ""]
    return "\n".join(out).rstrip() + "\n"
