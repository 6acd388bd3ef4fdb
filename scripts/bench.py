"""Run every benchmark in benchmarks/ and write docs/benchmarks.md.

Usage (from the repository root)::

    python scripts/bench.py            # full sizes, writes docs/benchmarks.md
    python scripts/bench.py --quick    # small sizes (smoke test), prints the page
    python scripts/bench.py --only network --output /tmp/bench.md

Each ``benchmarks/bench_*.py`` module exposes ``run(quick: bool) -> dict``; see the docstring
of ``benchmarks/common.py`` for the pattern. A module that fails is reported in the page and
makes the script exit with status 1; the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import as_report, machine_info, render  # noqa: E402
from skillcircle.inputs.files import write_text  # noqa: E402


def discover(only: list[str]) -> list[str]:
    names = sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py"))
    if only:
        names = [n for n in names if any(o in n for o in only)]
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--only", action="append", default=[], help="run modules matching this")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="markdown file to write (default: docs/benchmarks.md; --quick: print only)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    log = logging.getLogger("bench")

    machine = machine_info()
    reports, errors = [], {}
    for name in discover(args.only):
        log.info("running %s (quick=%s)", name, args.quick)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            reports.append(as_report(name, module.run(quick=args.quick), doc=module.__doc__))
        except Exception:  # a failing benchmark must not hide the others
            errors[name] = traceback.format_exc()
            log.error("%s failed:\n%s", name, errors[name])
        log.info("%s done in %.1f s", name, time.perf_counter() - start)
    page = render(reports, machine, quick=args.quick, errors=errors)
    output = args.output or (None if args.quick else ROOT / "docs" / "benchmarks.md")
    if output is None:
        sys.stdout.write(page)
    else:
        write_text(output, page)
        log.info("wrote %s", output)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
