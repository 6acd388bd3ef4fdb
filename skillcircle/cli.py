"""Command-line interface: ``skillcircle``.

Every command turns a :class:`~skillcircle.SkillcircleError` into one line on stderr and exit
code 2 (no traceback). Library code logs through :mod:`logging`; only this module prints.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from skillcircle import __version__
from skillcircle._errors import InputError, SkillcircleError

if TYPE_CHECKING:
    import pandas as pd

    from skillcircle.outputs.schema import Summary

__all__ = ["app", "main"]

# Text from ledgers and OSM reaches the terminal: no markup, no emoji codes, no highlighting
# (and control characters are replaced, see _cell).
console = Console(markup=False, emoji=False, highlight=False)
err_console = Console(stderr=True, markup=False, emoji=False, highlight=False, soft_wrap=True)


def _cell(value: object) -> str:
    """A table cell as plain text (control characters and ANSI escapes defused)."""
    from skillcircle._escaping import plain_text

    return plain_text(value)


app = typer.Typer(
    name="skillcircle",
    help="15-minute walking coverage of service stations: reach, gaps, new sites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stations_app = typer.Typer(help="Check and clean a station ledger.", no_args_is_help=True)
network_app = typer.Typer(help="Build and inspect walking networks.", no_args_is_help=True)
app.add_typer(stations_app, name="stations")
app.add_typer(network_app, name="network")


def _version(value: bool) -> None:
    if value:
        console.print(f"skillcircle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    # a planner reads the notes in words; --verbose adds where each line comes from
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s" if verbose else "注意 note: %(message)s",
    )


# ---------------------------------------------------------------------------- report
def _progress_hook() -> tuple[Any, Any]:
    """A rich progress display and a step hook for :func:`skillcircle.access.analysis.analyse`.

    Each step gets a line with a spinner, a bar (pulsing while the step runs, full when done)
    and its elapsed time; the display is erased at the end, so errors stay one line.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    display = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<40}"),
        BarColumn(bar_width=24),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,  # a pipe or a log file gets no bars (nor blank lines)
    )

    @contextlib.contextmanager
    def step(name: str) -> Iterator[None]:
        task = display.add_task(name, total=None)
        yield
        display.update(task, total=1, completed=1)

    return display, step


#: Options of ``report`` and ``suggest`` that are fields of a study (flags override the file).
STUDY_FLAGS = (
    "stations",
    "coords",
    "network",
    "population",
    "districts",
    "subdistricts",
    "landcover",
    "minutes",
    "speed_kmh",
    "max_snap_m",
    "crs",
    "cache_dir",
    "walkway_half_width_m",
    "network_gap_m",
    "calibrate",
    "retain_all",
    "group",
    "access_method",
    "default_capacity",
    "participation_rate",
)


def _study_flags(options: dict[str, Any]) -> dict[str, Any]:
    """The study fields among a command's options."""
    return {k: options[k] for k in STUDY_FLAGS}


def _check_outputs(
    out: Path | str,
    basemap: str,
    *,
    inputs: Any = (),
    overwrite: bool = False,
    keep_previous: bool = False,
) -> None:
    """Refuse an unusable output folder or base map before any long computation.

    The folder must be writable, must not hold an input of the run, and must not hold a file
    under an output name that skillcircle did not write (unless ``--overwrite``).
    """
    from skillcircle.outputs.folder import RunFolder
    from skillcircle.outputs.schema import OUTPUT_FILES
    from skillcircle.outputs.webmap import check_basemap

    check_basemap(basemap)
    RunFolder(
        out, names=OUTPUT_FILES, inputs=inputs, overwrite=overwrite, keep_previous=keep_previous
    ).check()


OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Allow replacing files in --out that skillcircle did not write (never inputs).",
    ),
]


def _study_from_cli(study_file: Path | None, **flags: Any) -> Any:
    from skillcircle.study import Study

    if study_file is not None:
        return Study.from_toml(study_file, **flags)
    return Study.from_options(**flags)


def _coverage_title(summary: Summary, what: str = "") -> str:
    """The headline's title from the study's own settings ("15 分钟步行覆盖 …, 4 km/h")."""
    minutes, speed = f"{summary.minutes:g}", f"{summary.speed_kmh:g}"
    return f"{minutes} 分钟步行覆盖 {minutes}-minute walking coverage{what}, {speed} km/h"


def _print_summary(summary: Summary, table: pd.DataFrame, title: str) -> None:
    """Print a :class:`~skillcircle.outputs.schema.Summary` and its district table (+ total).

    Both tables fit 80 columns: bilingual headers on two lines, numbers with separators.
    """
    from rich.table import Table

    from skillcircle.access.analysis import DISTRICT_KEYS
    from skillcircle.outputs.schema import with_total
    from skillcircle.outputs.words import access_lines, network_sensitivity_lines, summary_rows

    head = Table(title=title, show_header=False)
    for label, value in summary_rows(summary):
        head.add_row(_cell(label), _cell(value))
    console.print(head)
    for line in network_sensitivity_lines(summary):  # next to the headline: how sure it is
        console.print(_cell(line), markup=False)
    for line in access_lines(summary):
        console.print(_cell(line), markup=False)
    districts = Table(title="各区覆盖 Coverage by district")
    for header, right in (
        ("代码\ncode", False),
        ("区\ndistrict", False),
        ("居民\nresidents", True),
        ("覆盖\ncovered", True),
        ("覆盖率\n%", True),
        ("站点\nstations", True),
    ):
        districts.add_column(header, justify="right" if right else "left")
    for _, row in with_total(table, keys=DISTRICT_KEYS).iterrows():
        districts.add_row(
            _cell(row["district_code"]),
            _cell(row["district_name"]),
            f"{row['population']:,.0f}",
            f"{row['covered_population']:,.0f}",
            f"{row['coverage_pct']:.1f}",
            str(row["stations"]),
        )
    console.print(districts)


StationsOpt = Annotated[Path | None, typer.Option("--stations", help="Station ledger.")]
CoordsOpt = Annotated[
    str | None,
    typer.Option(
        "--coords",
        help="Ledger coordinates: wgs84, gcj02 (AMap), bd09 (Baidu) or auto "
        "(the datum putting most rows in their own 区/街道).",
    ),
]
NetworkOpt = Annotated[
    str | None, typer.Option("--network", help="Roads layer, .osm/.pbf/.graphml/.npz, place:NAME.")
]
PopulationOpt = Annotated[
    str | None, typer.Option("--population", help="Population raster (omit: census-only model).")
]
DistrictsOpt = Annotated[
    str | None, typer.Option("--districts", help="cnmaps:ADCODE (e.g. cnmaps:110101) or a file.")
]
SubdistrictsOpt = Annotated[Path | None, typer.Option("--subdistricts", help="街道 polygons.")]
LandcoverOpt = Annotated[
    Path | None, typer.Option("--landcover", help="WorldCover raster for the census-only model.")
]
MinutesOpt = Annotated[float | None, typer.Option("--minutes", help="Walking time budget.")]
SpeedOpt = Annotated[
    str | None, typer.Option("--speed-kmh", help="Walking speed(s), e.g. 4.0 or 4.0,3.0.")
]
StudyOpt = Annotated[Path | None, typer.Option("--study", help="TOML study file (flags override).")]
OutOpt = Annotated[str, typer.Option("--out", help="Output folder.")]
MaxSnapOpt = Annotated[
    float | None, typer.Option("--max-snap-m", help="Farthest from a street, metres.")
]
CrsOpt = Annotated[str | None, typer.Option("--crs", help="Projected CRS for maths.")]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Cache folder (default: $SKILLCIRCLE_CACHE or ~/.cache)."),
]
WalkwayOpt = Annotated[
    float | None,
    typer.Option("--walkway-half-width-m", help="Isochrone half-width around streets, metres."),
]
NetworkGapOpt = Annotated[
    float | None,
    typer.Option(
        "--network-gap-m",
        help="Longest street gap treated as a real link in the network-sensitivity figure, "
        "metres (0: leave it out).",
    ),
]
GroupOpt = Annotated[
    str | None,
    typer.Option(
        "--group",
        help="Who the accessibility figures count: total, working_age (15-59) or a CSV of "
        "shares per district.",
    ),
]
AccessMethodOpt = Annotated[
    str | None, typer.Option("--access-method", help="2sfca (default) or e2sfca.")
]
DefaultCapacityOpt = Annotated[
    float | None,
    typer.Option("--default-capacity", help="Trainings per year of a station without 容量."),
]
ParticipationOpt = Annotated[
    float | None,
    typer.Option("--participation-rate", help="Trainings per resident per year counted as demand."),
]
CalibrateOpt = Annotated[
    bool | None, typer.Option("--calibrate/--no-calibrate", help="Scale to the census.")
]
RetainAllOpt = Annotated[bool | None, typer.Option("--retain-all/--largest-component")]
BasemapOpt = Annotated[
    str, typer.Option("--basemap", help="Web-map tiles: osm, amap, tianditu or a URL template.")
]
DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="Coverage on Dask: local[:N] (a LocalCluster of N workers) or tcp://HOST:PORT "
        "(a running scheduler); omit to run in this process.",
    ),
]
PartsByOpt = Annotated[
    str | None,
    typer.Option(
        "--parts-by",
        help="How --dask splits the study: district (default), subdistrict or grid:<km>.",
    ),
]


@app.command("report")
def report_cmd(
    out: OutOpt,
    stations: StationsOpt = None,
    coords: CoordsOpt = None,
    network: NetworkOpt = None,
    population: PopulationOpt = None,
    districts: DistrictsOpt = None,
    subdistricts: SubdistrictsOpt = None,
    landcover: LandcoverOpt = None,
    minutes: MinutesOpt = None,
    speed_kmh: SpeedOpt = None,
    study: StudyOpt = None,
    max_snap_m: MaxSnapOpt = None,
    crs: CrsOpt = None,
    cache_dir: CacheDirOpt = None,
    walkway_half_width_m: WalkwayOpt = None,
    network_gap_m: NetworkGapOpt = None,
    group: GroupOpt = None,
    access_method: AccessMethodOpt = None,
    default_capacity: DefaultCapacityOpt = None,
    participation_rate: ParticipationOpt = None,
    calibrate: CalibrateOpt = None,
    retain_all: RetainAllOpt = None,
    dask: DaskOpt = None,
    parts_by: PartsByOpt = None,
    basemap: BasemapOpt = "osm",
    overwrite: OverwriteOpt = False,
) -> None:
    """Coverage of a station ledger: tables by district and 街道, isochrones, gaps, map."""
    from skillcircle.access.analysis import analyse
    from skillcircle.outputs.publish import publish
    from skillcircle.study import check_input_files

    spec = _study_from_cli(study, **_study_flags(locals()), dask=dask, parts_by=parts_by)
    _check_outputs(out, basemap, inputs=spec.input_paths(), overwrite=overwrite)
    check_input_files(spec)  # every input path, before the progress display and any work
    display, step = _progress_hook()
    with display:
        result = analyse(spec, progress=step)
        with step(f"Writing {out}"):
            publish(result, out, basemap=basemap, overwrite=overwrite)
    _print_summary(result.summary, result.by_district, _coverage_title(result.summary))
    _print_flagged(result.stations_table, result.summary)


# ---------------------------------------------------------------------------- progress
@app.command("progress")
def progress_cmd(
    out: OutOpt,
    trainings: Annotated[
        Path | None,
        typer.Option("--trainings", help="Training ledger 培训台账 (CSV/XLSX): station, quarter."),
    ] = None,
    targets: Annotated[
        Path | None,
        typer.Option(
            "--targets",
            help="Targets file (CSV/XLSX): district, year, stations, trainings; replaces the "
            "city profile's targets.",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Period ends: year (default), or quarter (adds quarter ends)."),
    ] = None,
    stations: StationsOpt = None,
    coords: CoordsOpt = None,
    network: NetworkOpt = None,
    population: PopulationOpt = None,
    districts: DistrictsOpt = None,
    subdistricts: SubdistrictsOpt = None,
    landcover: LandcoverOpt = None,
    minutes: MinutesOpt = None,
    speed_kmh: SpeedOpt = None,
    study: StudyOpt = None,
    max_snap_m: MaxSnapOpt = None,
    crs: CrsOpt = None,
    cache_dir: CacheDirOpt = None,
    walkway_half_width_m: WalkwayOpt = None,
    network_gap_m: NetworkGapOpt = None,
    group: GroupOpt = None,
    access_method: AccessMethodOpt = None,
    default_capacity: DefaultCapacityOpt = None,
    participation_rate: ParticipationOpt = None,
    calibrate: CalibrateOpt = None,
    retain_all: RetainAllOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Programme progress: stations, coverage and trainings at each year end (建成年份)."""
    from skillcircle.outputs.progress import run_progress

    spec = _study_from_cli(
        study,
        **_study_flags(locals()),
        trainings=trainings,
        targets=targets,
        progress_by=by.strip().lower() if by is not None else None,
    )
    display, step = _progress_hook()
    with display:
        cov, _ = run_progress(spec, out, overwrite=overwrite, progress=step)
    for row in cov.totals.itertuples():
        missing = "、".join(cov.districts_without_station.get(row.year, ()))
        line = f"{row.year}: {row.stations} 站 stations, 覆盖 coverage {row.coverage_pct:.1f} %"
        console.print(line + (f" · 无站点 no station: {missing}" if missing else ""), markup=False)


# ---------------------------------------------------------------------------- suggest
#: What a plan option is when neither a flag nor the study file gives it (``suggest``'s defaults).
_SUGGEST_DEFAULTS: dict[str, Any] = {
    "candidate_coords": "wgs84",
    "candidate_spacing": 200.0,
    "only_near_gaps": False,
    "exact": False,
    "time_limit": 60.0,
    "objective": "coverage",
}


def _suggest_options(spec: Any, flags: dict[str, Any]) -> dict[str, Any]:
    """The plan options in force: a flag given, else the study file's ``[suggest]``, else default.

    File values are turned into the flags' text form (``{ "110101" = 6 }`` → ``"110101=6"``,
    ``[30, 40]`` → ``"30,40"``) so one parser reads both; a value of the wrong kind names the
    file and its key.
    """
    from skillcircle.study import SUGGEST_KEYS

    path = spec.extra.get("study_file")
    from_file: dict[str, Any] = {}
    for key, value in spec.suggest.items():
        where = f"suggest.{key}"
        if key in ("only_near_gaps", "exact") and not isinstance(value, bool):
            raise InputError(f"expected true or false, got {value!r}", path=path, field=where)
        if key in ("min_per_district", "max_per_district", "phases"):
            if isinstance(value, dict):
                value = ",".join(f"{k}={v}" for k, v in value.items())
            elif isinstance(value, list):
                value = ",".join(str(v) for v in value)
            elif isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            elif not isinstance(value, str):
                raise InputError(
                    f"expected a number, a list or a table, got {value!r}", path=path, field=where
                )
        if key == "objective" and not isinstance(value, str):
            raise InputError(
                f"expected coverage or capacitated, got {value!r}", path=path, field=where
            )
        if key == "candidate_coords" and not isinstance(value, str):
            raise InputError(
                f"expected wgs84, gcj02 or bd09, got {value!r}", path=path, field=where
            )
        from_file[key] = value
    given = {k: v for k, v in flags.items() if v is not None}
    merged = {k: None for k in SUGGEST_KEYS} | _SUGGEST_DEFAULTS | from_file | given
    merged["_from_file"] = set(from_file) - set(given)
    return merged


def _from_study_file(spec: Any, opts: dict[str, Any], key: str, parse: Any) -> Any:
    """Parse a plan option; an error about a study-file value names the file and its key."""
    try:
        return parse(opts[key])
    except InputError as exc:
        if key not in opts["_from_file"]:
            raise
        path = spec.extra.get("study_file")
        raise InputError(exc.reason, path=path, field=f"suggest.{key}") from exc


def _parse_phases(text: str | None) -> tuple[tuple[int | None, int], ...] | None:
    """Read ``--phases``: station totals, with or without years.

    ``"30,40,50"`` → ((None, 30), (None, 40), (None, 50)) (years filled in later by
    :func:`_phase_years`); ``"2031=30,2032=40"`` → ((2031, 30), (2032, 40)); ``"none"`` or no
    option → None.
    """
    if text is None or text.strip().lower() in ("", "none", "off"):
        return None
    pairs: list[tuple[int | None, int]] = []
    try:
        for item in text.split(","):
            if "=" in item:
                year, total = item.split("=")
                pairs.append((int(year), int(total)))
            else:
                pairs.append((None, int(item)))
    except ValueError as exc:
        raise InputError(
            f"--phases: expected station totals like 30,40,50 or YEAR=TOTAL pairs, got {text!r}"
        ) from exc
    totals = [t for _, t in pairs]
    years = [y for y, _ in pairs]
    if any(b <= a for a, b in itertools.pairwise(totals)) or min(totals) <= 0:
        raise InputError(f"--phases: totals must be positive and increasing, got {text!r}")
    if any(y is None for y in years) and any(y is not None for y in years):
        raise InputError(f"--phases: give a year for every total or for none, got {text!r}")
    if years[0] is not None and any(b <= a for a, b in itertools.pairwise(years)):  # type: ignore[operator]
        raise InputError(f"--phases: years must be increasing, got {text!r}")
    return tuple(pairs)


def _phase_years(
    parsed: tuple[tuple[int | None, int], ...] | None, given: bool, analysis: Any
) -> tuple[tuple[int, int], ...] | None:
    """The phases of a plan: the option's, else the city programme's for a whole-city study.

    Totals without years are given consecutive years from the city programme's first year
    (a study in a profiled city), else from the current year.
    """
    import datetime

    from skillcircle.profiles import profile_for
    from skillcircle.siting.suggest import programme_phases

    if not given:
        return programme_phases(analysis)
    if parsed is None:
        return None
    if parsed[0][0] is not None:
        return tuple((int(y or 0), t) for y, t in parsed)
    districts = analysis.inputs.districts
    profile = profile_for(districts["district_code"].astype(str)) if districts is not None else None
    first = profile.phases[0][0] if profile is not None and profile.phases else None
    start = first if first is not None else datetime.date.today().year
    return tuple((start + i, t) for i, (_, t) in enumerate(parsed))


def _parse_quota(text: str | None) -> int | dict[str, int] | None:
    """``"1"`` (every district) or ``"110101=2,440104001=1,流花街道=1"`` (区 or 街道)."""
    if text is None:
        return None
    try:
        if "=" not in text:
            return int(text)
        return {k.strip(): int(v) for k, v in (item.split("=") for item in text.split(","))}
    except ValueError as exc:
        raise InputError(f"per-district quota: expected N or CODE=N,CODE=N, got {text!r}") from exc


@app.command("suggest")
def suggest_cmd(
    out: OutOpt,
    stations: StationsOpt = None,
    coords: CoordsOpt = None,
    network: NetworkOpt = None,
    population: PopulationOpt = None,
    districts: DistrictsOpt = None,
    subdistricts: SubdistrictsOpt = None,
    landcover: LandcoverOpt = None,
    minutes: MinutesOpt = None,
    speed_kmh: SpeedOpt = None,
    study: StudyOpt = None,
    max_snap_m: MaxSnapOpt = None,
    crs: CrsOpt = None,
    cache_dir: CacheDirOpt = None,
    walkway_half_width_m: WalkwayOpt = None,
    network_gap_m: NetworkGapOpt = None,
    group: GroupOpt = None,
    access_method: AccessMethodOpt = None,
    default_capacity: DefaultCapacityOpt = None,
    participation_rate: ParticipationOpt = None,
    calibrate: CalibrateOpt = None,
    retain_all: RetainAllOpt = None,
    add: Annotated[int | None, typer.Option("--add", help="Number of new sites.")] = None,
    target_stations: Annotated[
        int | None, typer.Option("--target-stations", help="Total stations wanted.")
    ] = None,
    target_coverage: Annotated[
        float | None, typer.Option("--target-coverage", help="Fewest sites reaching PCT %.")
    ] = None,
    candidates: Annotated[
        Path | None, typer.Option("--candidates", help="Candidate sites (else generated).")
    ] = None,
    candidate_coords: Annotated[
        str | None, typer.Option("--candidate-coords", help="wgs84 (default), gcj02 or bd09.")
    ] = None,
    candidate_spacing: Annotated[
        float | None,
        typer.Option("--candidate-spacing", help="Grid spacing of generated candidates [200 m]."),
    ] = None,
    only_near_gaps: Annotated[bool | None, typer.Option("--only-near-gaps")] = None,
    min_per_district: Annotated[
        str | None, typer.Option("--min-per-district", help="N, or CODE=N,CODE=N (区 or 街道).")
    ] = None,
    max_per_district: Annotated[
        str | None, typer.Option("--max-per-district", help="N, or CODE=N,CODE=N (区 or 街道).")
    ] = None,
    min_spacing_m: Annotated[
        float | None, typer.Option("--min-spacing-m", help="Minimum distance between new sites.")
    ] = None,
    min_stations_per_district: Annotated[
        int | None,
        typer.Option(
            "--min-stations-per-district",
            help="Every 区 with residents ends with ≥ N stations, existing ones counted.",
        ),
    ] = None,
    min_stations_per_subdistrict: Annotated[
        int | None,
        typer.Option(
            "--min-stations-per-subdistrict",
            help="Every 街道 with residents ends with ≥ N stations (每个街道至少一个站点).",
        ),
    ] = None,
    phases: Annotated[
        str | None,
        typer.Option(
            "--phases",
            help="Yearly station totals, e.g. 30,40,50 or 2031=30,2032=40; 'none' for no "
            "schedule. Default: the city programme's for a whole-city study, else none.",
        ),
    ] = None,
    exact: Annotated[
        bool | None, typer.Option("--exact", help="Solve the exact MILP bound.")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="MILP seconds [60].")
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            "--objective",
            help="coverage (residents within the walk, default) or capacitated (trainings "
            "served, each station limited to its capacity 容量).",
        ),
    ] = None,
    capacity_per_site: Annotated[
        float | None,
        typer.Option(
            "--capacity-per-site",
            help="Trainings a year of each new site (--objective capacitated) "
            "[--default-capacity].",
        ),
    ] = None,
    dask: DaskOpt = None,
    parts_by: PartsByOpt = None,
    basemap: BasemapOpt = "osm",
    overwrite: OverwriteOpt = False,
) -> None:
    """Suggest new sites: greedy maximal covering + swaps, with an optimality certificate.

    Every plan option may also sit in the study file's ``[suggest]`` table; a flag wins.
    """
    from skillcircle.access.analysis import analyse
    from skillcircle.outputs.publish import publish
    from skillcircle.siting.suggest import check_plan_options, suggest
    from skillcircle.study import SUGGEST_KEYS, check_input_file, check_input_files

    # parse the options → check the plan options → check the outputs → check the inputs → load
    given = dict(locals())
    spec = _study_from_cli(study, **_study_flags(given), dask=dask, parts_by=parts_by)
    opts = _suggest_options(spec, {k: v for k, v in given.items() if k in SUGGEST_KEYS})
    add, target_stations, target_coverage = (
        opts["add"],
        opts["target_stations"],
        opts["target_coverage"],
    )
    candidate_coords, candidate_spacing = opts["candidate_coords"], opts["candidate_spacing"]
    only_near_gaps, min_spacing_m, exact, time_limit = (
        opts["only_near_gaps"],
        opts["min_spacing_m"],
        opts["exact"],
        opts["time_limit"],
    )
    min_stations_per_district = opts["min_stations_per_district"]
    min_stations_per_subdistrict = opts["min_stations_per_subdistrict"]
    objective = str(opts["objective"]).strip().lower()
    capacity_per_site = opts["capacity_per_site"]
    candidates = candidates or spec.candidates
    phases = opts["phases"]
    phase_spec = _from_study_file(spec, opts, "phases", _parse_phases)
    min_q = _from_study_file(spec, opts, "min_per_district", _parse_quota)
    max_q = _from_study_file(spec, opts, "max_per_district", _parse_quota)
    check_plan_options(
        add=add,
        target_stations=target_stations,
        target_coverage_pct=target_coverage,
        candidates=candidates,
        candidate_spacing_m=candidate_spacing,
        min_per_district=min_q,
        max_per_district=max_q,
        min_spacing_m=min_spacing_m,
        phases=tuple((y or 0, t) for y, t in phase_spec) if phase_spec else None,
        time_limit_s=time_limit,
        min_stations_per_district=min_stations_per_district,
        min_stations_per_subdistrict=min_stations_per_subdistrict,
        objective=objective,
        capacity_per_site=capacity_per_site,
    )
    if objective == "capacitated" and capacity_per_site is None and spec.default_capacity is None:
        raise InputError(
            "objective capacitated needs the new sites' capacity: give capacity_per_site "
            "(or default_capacity)",
            param="capacity_per_site",
        )
    inputs = [*spec.input_paths(), *([candidates] if candidates else [])]
    _check_outputs(out, basemap, inputs=inputs, overwrite=overwrite)
    check_input_files(spec)  # every input path, before the progress display and any work
    if candidates is not None:
        check_input_file(candidates, "candidate file")
    display, step = _progress_hook()
    with display:
        result = analyse(spec, progress=step)
        phase_plan = _phase_years(phase_spec, phases is not None, result)
        plan = suggest(
            result,
            add=add,
            target_stations=target_stations,
            target_coverage_pct=target_coverage,
            candidates=candidates,
            candidate_coords=candidate_coords,
            candidate_spacing_m=candidate_spacing,
            only_near_gaps=only_near_gaps,
            min_per_district=min_q,
            max_per_district=max_q,
            min_spacing_m=min_spacing_m,
            phases=phase_plan,
            exact=exact,
            time_limit_s=time_limit,
            progress=step,
            min_stations_per_district=min_stations_per_district,
            min_stations_per_subdistrict=min_stations_per_subdistrict,
            objective=objective,
            capacity_per_site=capacity_per_site,
        )
        with step(f"Writing {out}"):
            publish(result, out, plan=plan, basemap=basemap, overwrite=overwrite)
    _print_summary(
        result.summary, result.by_district, _coverage_title(result.summary, " (today 现状)")
    )
    _print_flagged(result.stations_table, result.summary)
    _print_plan(plan)


def _print_flagged(table: pd.DataFrame | None, summary: Summary | None = None) -> None:
    """Name every flagged station, one line per flag (plain text: names are data).

    With ``summary`` of a ``--coords auto`` run, first say which datum was chosen.
    """
    from skillcircle.access.stationtable import flagged_lines

    if summary is not None and summary.coords_auto:
        fit = summary.coords_fit or {}
        counts = ", ".join(f"{d} {n} of {r}" for d, (n, r) in fit.items())
        console.print(
            f"--coords auto: read the ledger as {summary.coords} "
            f"(rows in their stated 区/街道: {counts or 'no area stated'})",
            markup=False,
            soft_wrap=True,
        )
    for line in flagged_lines(table) if table is not None else []:
        console.print(f"stations: {_cell(line)}", markup=False, soft_wrap=True)


def _print_plan(plan: Any) -> None:
    from rich.table import Table

    from skillcircle.outputs.words import plan_words

    table = Table(title="建议新站点 Suggested new sites")
    sites = plan.suggestions
    phased = bool(len(sites)) and bool(sites["phase"].astype(str).str.len().gt(0).any())
    columns = ["rank", *(["phase"] if phased else []), "district_name", "subdistrict_name"]
    headers = {
        "rank": "序\n#",
        "phase": "年份\nphase",
        "district_name": "区\ndistrict",
        "subdistrict_name": "街道\nsub-district",
    }
    for col in columns:
        table.add_column(headers[col])
    table.add_column("新增覆盖\nadded", justify="right")
    table.add_column("累计覆盖率\ncumulative %", justify="right")
    served = "added_served_demand" in sites.columns
    if served:
        table.add_column("新增服务\nserved +", justify="right")
    for _, row in sites.iterrows():
        table.add_row(
            *(_cell(row[c]) for c in columns),
            f"{row['added_population']:,.0f}",
            f"{row['cumulative_coverage_pct']:.2f}",
            *([f"{row['added_served_demand']:,.0f}"] if served else []),
        )
    console.print(table)
    console.print(_with_flags(plan_words(plan.summary), set()))


@stations_app.command("check")
def stations_check_cmd(
    ledger: Annotated[
        Path,
        typer.Argument(
            help="Station ledger: CSV (UTF-8 or GBK), XLSX, GeoJSON, GeoPackage; name one "
            "sheet or layer of several as ledger.xlsx:Sheet2."
        ),
    ],
    out: Annotated[
        str, typer.Option("--out", "-o", help="Folder for the cleaned and rejected stations.")
    ],
    coords: Annotated[
        str, typer.Option("--coords", help="Ledger coordinates: wgs84, gcj02 (AMap), bd09 (Baidu).")
    ] = "wgs84",
    districts: Annotated[
        str | None,
        typer.Option("--districts", help="District polygons: cnmaps:ADCODE or a GIS file."),
    ] = None,
    subdistricts: Annotated[
        Path | None, typer.Option("--subdistricts", help="街道 polygons (GIS file).")
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Validate a station ledger; write clean stations and the rejected rows with reasons.

    A ledger whose every row is rejected is an error (exit 2), but its rejected rows are
    still written to stations_rejected.csv.
    """
    from rich.table import Table

    from skillcircle.inputs.stations import check_ledger, station_counts
    from skillcircle.outputs.folder import RunFolder
    from skillcircle.outputs.schema import STATIONS_GEOJSON, STATIONS_REJECTED_CSV

    inputs = [ledger, *(p for p in (districts, subdistricts) if p and ":" not in str(p)[:8])]
    run = RunFolder(
        out,
        names=(STATIONS_GEOJSON, STATIONS_REJECTED_CSV),
        inputs=inputs,
        overwrite=overwrite,
    )
    run.check()
    staging = run.stage()
    try:
        try:
            result, staged = check_ledger(
                ledger, staging, coords=coords, districts=districts, subdistricts=subdistricts
            )
        except InputError:
            if (staging / STATIONS_REJECTED_CSV).is_file():  # no usable row: keep the rejects
                run.commit()
                raise InputError(
                    "no usable station: every row was rejected (see "
                    f"{run.target / STATIONS_REJECTED_CSV})",
                    path=ledger,
                ) from None
            raise
        run.commit()
    finally:
        run.abort()
    written = {key: run.target / path.name for key, path in staged.items()}
    counts = station_counts(result.stations)
    table = Table(title=f"Stations by district and type ({result.path.name})")
    for col in ("district", *counts.columns):
        table.add_column(col, justify="left" if col == "district" else "right")
    for district, row in counts.iterrows():
        table.add_row(_cell(district), *(_cell(v) for v in row))
    console.print(table)
    flagged = int((result.stations["district_flag"] != "").sum())
    cross = int(result.stations["cross_border"].sum())
    console.print(
        f"kept {len(result.stations)} stations, rejected {len(result.rejected)} rows"
        + (f", {flagged} district flags" if flagged else "")
        + (f", {cross} cross-border (outside the districts, within reach)" if cross else ""),
        markup=False,
    )
    if len(result.rejected):
        shown = Table(title="Rejected rows")
        shown.add_column("row", justify="right")
        shown.add_column("reason")
        for _, rej in result.rejected.head(20).iterrows():
            shown.add_row(_cell(rej["row"]), _cell(rej["reason"]))
        console.print(shown)
    console.print(f"wrote {written['stations']} and {written['rejected']}", markup=False)


# ---------------------------------------------------------------------------- network
def _print_network_quality(quality: Any, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_row("nodes / edges", f"{quality.n_nodes:,} / {quality.n_edges:,}")
    table.add_row("total length", f"{quality.total_length_m / 1000:,.2f} km")
    table.add_row("connected components", f"{quality.n_components:,}")
    table.add_row(
        "largest component",
        f"{100 * quality.largest_component_length_share:.1f} % of length, "
        f"{100 * quality.largest_component_node_share:.1f} % of nodes",
    )
    if quality.raw_n_components is not None:
        table.add_row("components before", f"{quality.raw_n_components:,}")
    if quality.raw_largest_length_share is not None:
        table.add_row("largest before", f"{100 * quality.raw_largest_length_share:.1f} % of length")
    if quality.raw_likely_gaps is not None:
        table.add_row(f"likely gaps before (≤ {quality.gap_m:g} m)", f"{quality.raw_likely_gaps:,}")
    if quality.reduced_to_largest:
        table.add_row(
            "dropped (other components)",
            f"{quality.dropped_nodes:,} nodes, {quality.dropped_length_m / 1000:,.2f} km",
        )
    table.add_row("dead ends", f"{quality.n_dead_ends:,}")
    table.add_row(f"likely gaps (≤ {quality.gap_m:g} m)", f"{quality.n_likely_gaps:,}")
    if quality.n_virtual_links:
        table.add_row("virtual links", f"{quality.n_virtual_links:,}")
    for highway, length in quality.length_by_highway_m.items():
        table.add_row(f"  {highway or '(no class)'}", f"{length / 1000:,.2f} km")
    console.print(table)


@network_app.command("build")
def network_build_cmd(
    source: Annotated[
        str,
        typer.Argument(
            help="place:<name>, .osm/.osm.pbf/.graphml, or a road layer (.gpkg .geojson …); "
            "one layer of a GeoPackage: roads.gpkg:<layer>."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Network file to write (.npz).")],
    boundary: Annotated[
        str | None,
        typer.Option("--boundary", help="Study area: a polygon file or cnmaps:<adcode>."),
    ] = None,
    buffer_m: Annotated[
        float, typer.Option("--buffer-m", help="Margin around the boundary, metres.")
    ] = 1000.0,
    retain_all: Annotated[
        bool, typer.Option("--retain-all", help="Keep every component, not just the largest.")
    ] = False,
    bridge_gaps_m: Annotated[
        float | None,
        typer.Option("--bridge-gaps-m", help="Join dead ends to other components this close."),
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option("--crs", help="Projected CRS (metres); default: the data's own or UTM."),
    ] = None,
    cache_dir: CacheDirOpt = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Rebuild, ignore the cache.")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace an existing --out file that is not a network."),
    ] = False,
) -> None:
    """Build a walking network and save it; print its quality report.

    A GeoPackage with several layers needs the layer named: ``roads.gpkg:<layer>``. ``--out``
    gets ``.npz`` added when it has no suffix; it may not be an input, and an existing file
    that is not a skillcircle network is replaced only with ``--overwrite``.
    """
    from skillcircle.network.cache import is_network_file, save_network
    from skillcircle.network.load import load_network, split_layer
    from skillcircle.network.quality import network_quality
    from skillcircle.study import build_settings, check_buffer_m

    check_buffer_m(buffer_m)
    if out.suffix == "":
        out = out.with_name(out.name + ".npz")
        console.print(f"note: --out has no suffix, writing {out}", markup=False, soft_wrap=True)
    elif out.suffix.lower() != ".npz":
        raise InputError(f"--out must be a .npz network file, got {out.name!r}", path=out)
    if out.is_dir():
        raise InputError("--out is a folder, not a file", path=out)
    inputs = [split_layer(source)[0], *([boundary] if boundary else [])]
    for given in inputs:
        if Path(given).exists() and Path(given).resolve() == out.resolve():
            raise InputError("--out would overwrite an input file; choose another name", path=out)
    if out.exists() and not overwrite and not is_network_file(out):
        raise InputError(
            "exists and is not a skillcircle network file; use --overwrite to replace it",
            path=out,
        )

    net = load_network(
        source,
        settings=build_settings(crs=crs, cache_dir=cache_dir),
        boundary=boundary,
        buffer_m=buffer_m,
        retain_all=retain_all,
        bridge_gaps_m=bridge_gaps_m,
        use_cache=not no_cache,
    )
    path = save_network(net, out)
    quality = network_quality(net)
    _print_network_quality(quality, f"Walking network ({Path(source).name})")
    if quality.invalid_features:
        dropped = ", ".join(
            f"{n:,} {k.replace('_', ' ')}" for k, n in quality.invalid_features.items()
        )
        console.print(f"dropped unusable road features: {dropped}", markup=False, soft_wrap=True)
    console.print(f"wrote {path}", markup=False)


@network_app.command("stats")
def network_stats_cmd(
    file: Annotated[
        str,
        typer.Argument(help="A built .npz network or any network source (roads.gpkg:<layer>)."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    gap_m: Annotated[
        float, typer.Option("--gap-m", help="Dead ends this close to another component.")
    ] = 15.0,
    crs: Annotated[
        str | None,
        typer.Option("--crs", help="Projected CRS for sources; default: the data's own or UTM."),
    ] = None,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Quality report of a walking network: size, components, dead ends, likely gaps."""
    import json

    from skillcircle.network.cache import load_network_file
    from skillcircle.network.load import load_network
    from skillcircle.network.quality import network_quality
    from skillcircle.study import build_settings

    if file.lower().endswith(".npz"):
        net = load_network_file(file)
    else:
        net = load_network(file, settings=build_settings(crs=crs, cache_dir=cache_dir))
    quality = network_quality(net, gap_m=gap_m)
    if as_json:
        typer.echo(json.dumps(quality.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_network_quality(quality, f"Walking network ({Path(file).name})")
        if quality.invalid_features:
            dropped = ", ".join(
                f"{n:,} {k.replace('_', ' ')}" for k, n in quality.invalid_features.items()
            )
            console.print(
                f"dropped unusable road features: {dropped}", markup=False, soft_wrap=True
            )


# ---------------------------------------------------------------------------- map, demo
@app.command("map")
def map_cmd(
    from_dir: Annotated[
        Path, typer.Option("--from", help="A folder written by report, suggest or demo.")
    ],
    basemap: BasemapOpt = "osm",
    out: Annotated[
        Path | None, typer.Option("--out", help="Map file (default: FROM/map.html).")
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Draw (again) the interactive web map of an output folder."""
    from skillcircle.outputs.folder import RunFolder
    from skillcircle.outputs.schema import MAP_HTML, OUTPUT_FILES
    from skillcircle.outputs.webmap import check_basemap, map_from_dir, write_map

    check_basemap(basemap)
    if out is None:  # the folder's own map: replaced as part of that folder's run
        run = RunFolder(from_dir, names=OUTPUT_FILES, overwrite=overwrite, keep_previous=True)
        run.check()
        page = map_from_dir(from_dir, basemap=basemap)
        try:
            write_map(page, run.stage() / MAP_HTML)
            run.commit()
        finally:
            run.abort()
        path = from_dir / MAP_HTML
    else:
        if out.exists() and not overwrite:
            raise InputError("exists; choose another file or allow it with overwrite", path=out)
        if out.resolve().parent == from_dir.resolve() and out.name in OUTPUT_FILES:
            raise InputError("is a file of the folder's run: omit out to redraw it", path=out)
        page = map_from_dir(from_dir, basemap=basemap)
        path = write_map(page, out)
    console.print(f"wrote {path}")


@app.command("demo")
def demo_cmd(
    out: Annotated[str, typer.Option("--out", help="Output folder.")] = "maps/demo",
    online: Annotated[
        bool,
        typer.Option("--online", help="Download Yuexiu's network from OSM (census-only model)."),
    ] = False,
    sample: Annotated[
        bool,
        typer.Option(
            "--sample", help="Use the Yuexiu sample shipped with skillcircle, even if data is set."
        ),
    ] = False,
    basemap: BasemapOpt = "osm",
    overwrite: OverwriteOpt = False,
) -> None:
    """The whole pipeline on real Yuexiu data with the illustrative sample ledger.

    Data: $SKILLCIRCLE_DATA if set, else ../shared/data if present, else the shipped sample.
    """
    import os

    from skillcircle.demo import demo_study, run_demo
    from skillcircle.inputs.datasets import get_path
    from skillcircle.inputs.files import DATA_ENV

    shared = Path("..", "shared", "data")
    root = None
    if not (online or sample or os.environ.get(DATA_ENV)) and (shared / "yuexiu").is_dir():
        root = shared.resolve()
    # fails fast, before any progress display or output
    study = demo_study(online=online, data_root=root, sample=sample)
    _check_outputs(out, basemap, inputs=study.input_paths(), overwrite=overwrite)
    if not online:
        roads = Path(str(study.network))
        what = "sample shipped with skillcircle" if roads == get_path("yuexiu_roads") else "data"
        console.print(f"{what}: {roads.parent}")
    display, step = _progress_hook()
    with display:
        result = run_demo(out, study=study, basemap=basemap, overwrite=overwrite, progress=step)
    _print_summary(
        result.analysis.summary,
        result.analysis.by_district,
        _coverage_title(result.analysis.summary, " · demo 示例"),
    )
    _print_flagged(result.analysis.stations_table, result.analysis.summary)
    _print_plan(result.plan)
    console.print(f"open {Path(out) / 'map.html'} and {Path(out) / 'report.html'} in a browser")


#: API parameter → command option, where the names differ (otherwise the option of the same
#: name is used, e.g. ``add`` → ``--add``, ``speed_kmh`` → ``--speed-kmh``).
_OPTION_OF_PARAM = {
    "speeds_kmh": "speed_kmh",
    "progress_by": "by",
    "target_coverage_pct": "target_coverage",
    "candidate_spacing_m": "candidate_spacing",
    "time_limit_s": "time_limit",
}


def _flag_names() -> dict[str, str]:
    """Every API parameter that a command option sets → its flag (``add`` → ``--add``)."""
    flags: dict[str, str] = {}
    commands: list[Any] = [typer.main.get_command(app)]
    while commands:  # duck-typed: typer may ship its own copy of click
        command = commands.pop()
        commands.extend(getattr(command, "commands", {}).values())
        for param in command.params:
            long = [o for o in param.opts if o.startswith("--")]
            if param.param_type_name == "option" and long and param.name:
                flags.setdefault(param.name, long[0])
    for api, option in _OPTION_OF_PARAM.items():
        if option in flags:
            flags[api] = flags[option]
    return flags


def _cli_message(exc: SkillcircleError) -> str:
    """The error's message with the API parameters it names written as flags.

    The parameters are those the error declares (``exc.params``), plus, in an error that is
    not about a file, any parameter name with an underscore (``bridge_gaps_m``), which cannot
    be an ordinary word.
    """
    return _with_flags(str(exc), set(exc.params), scan=getattr(exc, "path", None) is None)


def _with_flags(text: str, names: set[str], *, scan: bool = True) -> str:
    """``text`` with the API parameters ``names`` (with ``scan``, any ``a_b`` name) as flags."""
    flags = _flag_names()
    if scan:
        names = names | {n for n in re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text) if n in flags}
    for name in sorted(names, key=len, reverse=True):
        if name in flags:
            word = rf"(?<![\w-]){re.escape(name)}"
            text = re.sub(rf"{word}=True\b", flags[name], text)  # "online=True" → "--online"
            text = re.sub(rf"{word}(?![\w-])", flags[name], text)
    return text


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 2 user or usage error, 1 crash)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupt)
    try:
        app(args=argv, prog_name="skillcircle", standalone_mode=True)
    except _Interrupted:
        # every writer stages its files: an interrupted run leaves the folder as it was
        err_console.print("interrupted; nothing written")
        return 130
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except SkillcircleError as exc:
        err_console.print(f"error: {_cell(_cli_message(exc))}", markup=False)
        return 2
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
    return 0


class _Interrupted(BaseException):
    """Ctrl-C, raised past click (which would print "Aborted!") to :func:`main`."""


def _interrupt(signum: int, frame: Any) -> None:
    raise _Interrupted


def _use_kernel_cache() -> None:
    """Keep numba's compiled kernels in the cache folder, one sub-folder per skillcircle version.

    Called once when the program starts (before numba is imported): ``NUMBA_CACHE_DIR``
    becomes ``<cache folder>/numba/<version>`` unless the user set it, so an upgrade never
    meets kernels of another release and a read-only install still caches. In Python (a
    notebook, a library caller) numba's own default, ``__pycache__`` beside the package, is
    left alone.
    """
    import os

    if "NUMBA_CACHE_DIR" in os.environ or "numba" in sys.modules:
        return
    from skillcircle.settings import default_cache_dir

    folder = default_cache_dir() / "numba" / __version__
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # not writable: numba falls back to its default
        return
    os.environ["NUMBA_CACHE_DIR"] = str(folder)


def entry() -> None:
    """Console-script entry point."""
    _use_kernel_cache()
    if len(sys.argv) > 1 and sys.argv[1] not in ("--version", "--help", "-h"):
        from skillcircle.warmup import start_in_background

        start_in_background()  # a first run finds most kernels compiled by then
    sys.exit(main())
