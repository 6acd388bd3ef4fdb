"""The headline figures of a run, typed: :class:`Summary` (what ``summary.json`` holds).

:func:`skillcircle.access.analysis.analyse` builds a :class:`Summary`; a siting plan adds its
:class:`PlanFigures` section (:func:`skillcircle.siting.suggest.suggest`). Writers call
:meth:`Summary.to_json`, readers (the web map of an output folder) :meth:`Summary.from_json`.
The record lives here, next to the stage that fills it, because imports run one way (inputs →
network → access → siting → outputs); :mod:`skillcircle.outputs.schema` re-exports it with the
rest of the output contract.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skillcircle._errors import InputError
from skillcircle.access.accessibility import AccessSummary
from skillcircle.access.network_sensitivity import NetworkSensitivity
from skillcircle.network.quality import NetworkQuality

__all__ = ["InputFile", "PlanFigures", "Summary"]


def _get(data: Mapping[str, Any], key: str) -> Any:
    if key not in data:
        raise InputError(f"summary has no {key!r}", field=key)
    return data[key]


def _number(data: Mapping[str, Any], key: str) -> float:
    value = _get(data, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"summary {key!r} must be a number, got {value!r}", field=key)
    return float(value)


def _optional_number(data: Mapping[str, Any], key: str) -> float | None:
    return None if _get(data, key) is None else _number(data, key)


def _maybe_number(data: Mapping[str, Any], key: str) -> float | None:
    """A number that older summaries may lack (``None`` when absent or null)."""
    return None if data.get(key) is None else _number(data, key)


def _whole(data: Mapping[str, Any], key: str) -> int:
    value = _get(data, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"summary {key!r} must be a whole number, got {value!r}", field=key)
    return value


def _string(data: Mapping[str, Any], key: str) -> str:
    value = _get(data, key)
    if not isinstance(value, str):
        raise InputError(f"summary {key!r} must be a string, got {value!r}", field=key)
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = _get(data, key)
    if not isinstance(value, list | tuple):
        raise InputError(f"summary {key!r} must be a list, got {value!r}", field=key)
    return list(value)


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = _get(data, key)
    if not isinstance(value, Mapping):
        raise InputError(f"summary {key!r} must be an object, got {value!r}", field=key)
    return value


@dataclass(frozen=True, kw_only=True)
class InputFile:
    """One input of a study, for provenance.

    Attributes
    ----------
    path
        As the study gave it (a file path, ``cnmaps:…`` or ``place:…``).
    sha256
        Hash of the file; ``None`` when the input is not a local file.
    source
        Where non-file data came from (package and version), or ``None``.
    """

    path: str
    sha256: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: ``path`` and ``sha256``, plus ``source`` when known."""
        out: dict[str, Any] = {"path": self.path, "sha256": self.sha256}
        if self.source is not None:
            out["source"] = self.source
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InputFile:
        """Read the dict :meth:`to_json` wrote.

        Parameters
        ----------
        data
            The decoded JSON object.

        Returns
        -------
        InputFile

        Raises
        ------
        InputError
            When ``path`` is missing or a value has the wrong type.
        """
        if not isinstance(data, Mapping):
            raise InputError(f"summary input must be an object, got {data!r}", field="inputs")
        sha = data.get("sha256")
        source = data.get("source")
        if sha is not None and not isinstance(sha, str):
            raise InputError(f"summary input sha256 must be a string, got {sha!r}", field="sha256")
        if source is not None and not isinstance(source, str):
            raise InputError(f"summary input source must be a string, got {source!r}")
        return cls(path=_string(data, "path"), sha256=sha, source=source)


@dataclass(frozen=True, kw_only=True)
class PlanFigures:
    """The siting plan's section of a :class:`Summary`.

    Attributes
    ----------
    greedy_covered_population
        Residents covered after the greedy pass.
    covered_population_after, coverage_pct_after
        Residents covered, and their share (0-100), with the plan's sites added.
    upper_bound_covered_population
        No plan with as many sites and the same rules covers more residents than this.
    optimality_gap_pct
        How far (per cent of the bound) the plan may be from the best possible.
    bound_method
        How the bound was proved.
    swaps
        Improvements made by the swap pass.
    added_sites, candidates, candidates_rejected
        Sites chosen, candidates considered, rows of a candidate file refused.
    reduced_units
        Demand units left in the optimisation model after its reduction.
    reduction
        The model reduction's counts and a sentence (``"summary"``).
    phases
        The ``(year, total stations)`` targets the sites were labelled with, or ``None``.
    plan_method
        Which method produced the plan: ``"milp-optimal"`` (the exact MILP's proven optimum),
        ``"milp"`` (the MILP's best plan at its time limit) or ``"greedy+swap"``.
    target_coverage_pct, target_reached
        The coverage target asked for (0-100) and whether the plan reaches it (``None``
        without a target).
    max_reachable_coverage_pct
        Coverage with every candidate built: the ceiling of any target (``None`` without one).
    sites_lower_bound
        With a target: no plan with fewer new sites reaches it (or, out of reach, the
        ceiling); ``None`` without a target.
    cut_short
        Why the plan has fewer sites than asked (the quota or spacing rule), else ``None``.
    objective
        ``"coverage"`` (residents within the walk) or ``"capacitated"`` (demand served when
        each station trains at most its capacity). With ``"capacitated"``,
        ``optimality_gap_pct`` and ``bound_method`` certify the served demand, and
        ``upper_bound_covered_population`` is ``None`` (no bound on residents is proved).
    served_demand, base_served_demand, upper_bound_served_demand, total_demand
        Capacitated plans only (else ``None``): trainings a year the stations serve with the
        plan and without it (the maximum flow within the walk), no plan with as many sites
        serves more than the bound, and the trainings wanted by all residents of the group.
    capacity_per_site
        Trainings a year of each new site (capacitated plans only).
    capacity_binds
        Whether some station's capacity is below the demand within its walk (when not, the
        capacitated plan is the coverage plan weighted by demand).
    """

    greedy_covered_population: float
    covered_population_after: float
    coverage_pct_after: float
    upper_bound_covered_population: float | None
    optimality_gap_pct: float
    bound_method: str
    swaps: int
    added_sites: int
    candidates: int
    candidates_rejected: int
    reduced_units: int
    reduction: dict[str, Any]
    phases: tuple[tuple[int, int], ...] | None = None
    plan_method: str = "greedy+swap"
    target_coverage_pct: float | None = None
    target_reached: bool | None = None
    max_reachable_coverage_pct: float | None = None
    sites_lower_bound: int | None = None
    cut_short: str | None = None
    objective: str = "coverage"
    served_demand: float | None = None
    base_served_demand: float | None = None
    upper_bound_served_demand: float | None = None
    total_demand: float | None = None
    capacity_per_site: float | None = None
    capacity_binds: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict, in ``summary.json``'s key order."""
        return {
            "greedy_covered_population": self.greedy_covered_population,
            "covered_population_after": self.covered_population_after,
            "coverage_pct_after": self.coverage_pct_after,
            "upper_bound_covered_population": self.upper_bound_covered_population,
            "optimality_gap_pct": self.optimality_gap_pct,
            "bound_method": self.bound_method,
            "swaps": self.swaps,
            "added_sites": self.added_sites,
            "candidates": self.candidates,
            "candidates_rejected": self.candidates_rejected,
            "reduced_units": self.reduced_units,
            "reduction": dict(self.reduction),
            "phases": None if self.phases is None else [list(p) for p in self.phases],
            "plan_method": self.plan_method,
            "target_coverage_pct": self.target_coverage_pct,
            "target_reached": self.target_reached,
            "max_reachable_coverage_pct": self.max_reachable_coverage_pct,
            "sites_lower_bound": self.sites_lower_bound,
            "cut_short": self.cut_short,
            "objective": self.objective,
            "served_demand": self.served_demand,
            "base_served_demand": self.base_served_demand,
            "upper_bound_served_demand": self.upper_bound_served_demand,
            "total_demand": self.total_demand,
            "capacity_per_site": self.capacity_per_site,
            "capacity_binds": self.capacity_binds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanFigures:
        """Read the plan keys of a ``summary.json`` object.

        Parameters
        ----------
        data
            The decoded JSON object (the whole summary; other keys are ignored).

        Returns
        -------
        PlanFigures

        Raises
        ------
        InputError
            When a key is missing or has the wrong type.
        """
        phases = _get(data, "phases")
        if phases is not None:
            try:
                phases = tuple((int(y), int(t)) for y, t in phases)
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"summary 'phases' unreadable: {phases!r}", field="phases"
                ) from exc
        return cls(
            greedy_covered_population=_number(data, "greedy_covered_population"),
            covered_population_after=_number(data, "covered_population_after"),
            coverage_pct_after=_number(data, "coverage_pct_after"),
            upper_bound_covered_population=_optional_number(data, "upper_bound_covered_population"),
            optimality_gap_pct=_number(data, "optimality_gap_pct"),
            bound_method=_string(data, "bound_method"),
            swaps=_whole(data, "swaps"),
            added_sites=_whole(data, "added_sites"),
            candidates=_whole(data, "candidates"),
            candidates_rejected=_whole(data, "candidates_rejected"),
            reduced_units=_whole(data, "reduced_units"),
            reduction=dict(_mapping(data, "reduction")),
            phases=phases,
            plan_method=str(data.get("plan_method", "greedy+swap")),
            target_coverage_pct=data.get("target_coverage_pct"),
            target_reached=data.get("target_reached"),
            max_reachable_coverage_pct=data.get("max_reachable_coverage_pct"),
            sites_lower_bound=data.get("sites_lower_bound"),
            cut_short=data.get("cut_short"),
            objective=str(data.get("objective", "coverage")),
            served_demand=_maybe_number(data, "served_demand"),
            base_served_demand=_maybe_number(data, "base_served_demand"),
            upper_bound_served_demand=_maybe_number(data, "upper_bound_served_demand"),
            total_demand=_maybe_number(data, "total_demand"),
            capacity_per_site=_maybe_number(data, "capacity_per_site"),
            capacity_binds=data.get("capacity_binds"),
        )


#: ``summary.json`` keys of a plan (present exactly when a plan was made).
PLAN_KEYS = tuple(f.name for f in dataclasses.fields(PlanFigures))


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Headline figures of a coverage analysis (and of its siting plan, when there is one).

    Attributes
    ----------
    population, covered_population, coverage_pct, offnetwork_population
        Residents, those within the walk of a station, their share (0-100), and those
        farther than ``max_snap_m`` from any street (at the headline speed).
    gap_zone_population, scattered_uncovered_population
        Uncovered residents inside gap zones, and those in no zone; ``None`` when gap zones
        were not computed.
    fragment_population
        Residents nearest to a piece of the network cut off from the main one (``None`` when
        every piece was kept).
    stations, stations_rejected
        Stations used; ledger rows refused.
    minutes, speed_kmh, walk_distance_m
        The headline walk.
    speeds_kmh
        Every walking speed run, the headline first.
    population_model, population_model_key
        The population model in words, and its key (``"raster"``, ``"raster+census"``,
        ``"census-grid"``).
    excluded_units, excluded_population
        Demand units (and their residents) outside every district, left out.
    districts, dropped_districts
        District codes in the study; districts left out (population data missing).
    network
        The walking network's quality report.
    crs, max_snap_m
        Projected CRS of the computations; farthest snap from a street, metres.
    inputs
        Input name (``"stations"``, ``"network"``…) → path and hash.
    version, generated
        skillcircle version and time of the run (ISO 8601).
    plan
        The siting plan's figures, or ``None``.
    note
        A line shown on the map and reports (e.g. "Illustrative stations"), or ``None``.
    coords, coords_auto, coords_fit
        The datum the ledger was read as, whether ``coords="auto"`` chose it, and per datum
        (rows in their stated 区/街道, rows stating one); ``coords_fit`` is ``None`` when the
        ledger states no area.
    network_sensitivity
        The headline coverage on other readings of the network (every piece kept, gaps
        joined), or ``None`` when not measured.
    access
        Training capacity within reach (2SFCA / E2SFCA) for the demand group, or ``None``
        when no station has a capacity.
    engine, scheduler, parts
        How coverage was computed: ``"local"`` (this process) or ``"dask"``; the Dask
        scheduler's address (``"local"`` without Dask, or for a ``LocalCluster`` the run
        started); the number of parts measured (1 without Dask).
    """

    population: float
    covered_population: float
    coverage_pct: float
    offnetwork_population: float
    gap_zone_population: float | None
    scattered_uncovered_population: float | None
    fragment_population: float | None
    stations: int
    stations_rejected: int
    minutes: float
    speed_kmh: float
    walk_distance_m: float
    speeds_kmh: tuple[float, ...]
    population_model: str
    population_model_key: str
    excluded_units: int
    excluded_population: float
    districts: tuple[str, ...]
    dropped_districts: tuple[str, ...]
    network: NetworkQuality
    crs: str
    max_snap_m: float
    inputs: dict[str, InputFile]
    version: str
    generated: str
    plan: PlanFigures | None = None
    note: str | None = None
    coords: str | None = None
    coords_auto: bool = False
    coords_fit: dict[str, tuple[int, int]] | None = None
    network_sensitivity: NetworkSensitivity | None = None
    access: AccessSummary | None = None
    engine: str = "local"
    scheduler: str = "local"
    parts: int = 1

    @property
    def uncovered_population(self) -> float:
        """Residents beyond the walk (off-network residents included)."""
        return self.population - self.covered_population

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict written as ``summary.json``.

        The plan's keys follow the analysis keys when there is a plan, and ``note`` comes last
        when set. Figures are written as stored (the analysis rounds them: populations to
        0.001, percentages to 0.0001).

        Returns
        -------
        dict
            Plain dicts, lists, strings and numbers.
        """
        out: dict[str, Any] = {
            "population": self.population,
            "covered_population": self.covered_population,
            "coverage_pct": self.coverage_pct,
            "offnetwork_population": self.offnetwork_population,
            "gap_zone_population": self.gap_zone_population,
            "scattered_uncovered_population": self.scattered_uncovered_population,
            "fragment_population": self.fragment_population,
            "stations": self.stations,
            "stations_rejected": self.stations_rejected,
            "minutes": self.minutes,
            "speed_kmh": self.speed_kmh,
            "walk_distance_m": self.walk_distance_m,
            "speeds_kmh": list(self.speeds_kmh),
            "population_model": self.population_model,
            "population_model_key": self.population_model_key,
            "excluded_units": self.excluded_units,
            "excluded_population": self.excluded_population,
            "districts": list(self.districts),
            "dropped_districts": list(self.dropped_districts),
            "network": self.network.to_dict(),
            "network_sensitivity": None
            if self.network_sensitivity is None
            else self.network_sensitivity.to_json(),
            "access": None if self.access is None else self.access.to_json(),
            "crs": self.crs,
            "max_snap_m": self.max_snap_m,
            "inputs": {k: v.to_json() for k, v in self.inputs.items()},
            "version": self.version,
            "generated": self.generated,
        }
        if self.plan is not None:
            out.update(self.plan.to_json())
        if self.note is not None:
            out["note"] = self.note
        if self.coords is not None:  # the ledger's datum, and how each datum fits its areas
            out["coords"] = self.coords
            out["coords_auto"] = self.coords_auto
            out["coords_fit"] = (
                None
                if self.coords_fit is None
                else {k: {"in_area": v[0], "rows": v[1]} for k, v in self.coords_fit.items()}
            )
        # how coverage was computed (run metadata, like version and generated)
        out["engine"] = self.engine
        out["scheduler"] = self.scheduler
        out["parts"] = self.parts
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        """Read a decoded ``summary.json`` object.

        Unknown keys are ignored; the plan section is read when ``added_sites`` is present.

        Parameters
        ----------
        data
            The decoded JSON object.

        Returns
        -------
        Summary

        Raises
        ------
        InputError
            When ``data`` is not an object, a key is missing or a value has the wrong type.
        """
        if not isinstance(data, Mapping):
            raise InputError(f"summary must be a JSON object, got {type(data).__name__}")
        network = dict(_mapping(data, "network"))
        names = {f.name for f in dataclasses.fields(NetworkQuality)}
        try:
            quality = NetworkQuality(**{k: v for k, v in network.items() if k in names})
        except TypeError as exc:
            raise InputError(f"summary 'network' unreadable ({exc})", field="network") from exc
        note = data.get("note")
        if note is not None and not isinstance(note, str):
            raise InputError(f"summary 'note' must be a string, got {note!r}", field="note")
        return cls(
            population=_number(data, "population"),
            covered_population=_number(data, "covered_population"),
            coverage_pct=_number(data, "coverage_pct"),
            offnetwork_population=_number(data, "offnetwork_population"),
            gap_zone_population=_optional_number(data, "gap_zone_population"),
            scattered_uncovered_population=_optional_number(data, "scattered_uncovered_population"),
            fragment_population=_optional_number(data, "fragment_population"),
            stations=_whole(data, "stations"),
            stations_rejected=_whole(data, "stations_rejected"),
            minutes=_number(data, "minutes"),
            speed_kmh=_number(data, "speed_kmh"),
            walk_distance_m=_number(data, "walk_distance_m"),
            speeds_kmh=tuple(float(v) for v in _list(data, "speeds_kmh")),
            population_model=_string(data, "population_model"),
            population_model_key=_string(data, "population_model_key"),
            excluded_units=_whole(data, "excluded_units"),
            excluded_population=_number(data, "excluded_population"),
            districts=tuple(str(v) for v in _list(data, "districts")),
            dropped_districts=tuple(str(v) for v in _list(data, "dropped_districts")),
            network=quality,
            crs=_string(data, "crs"),
            max_snap_m=_number(data, "max_snap_m"),
            inputs={str(k): InputFile.from_json(v) for k, v in _mapping(data, "inputs").items()},
            version=_string(data, "version"),
            generated=_string(data, "generated"),
            plan=PlanFigures.from_json(data) if "added_sites" in data else None,
            note=note,
            coords=data.get("coords") if isinstance(data.get("coords"), str) else None,
            coords_auto=data.get("coords_auto") is True,
            coords_fit=_coords_fit(data.get("coords_fit")),
            network_sensitivity=NetworkSensitivity.from_json(data.get("network_sensitivity")),
            access=AccessSummary.from_json(data.get("access")),
            engine=str(data.get("engine", "local")),
            scheduler=str(data.get("scheduler", "local")),
            parts=int(data["parts"]) if isinstance(data.get("parts"), int) else 1,
        )


def _coords_fit(value: Any) -> dict[str, tuple[int, int]] | None:
    """``summary.json["coords_fit"]`` read back (``None`` when absent or not a mapping)."""
    if not isinstance(value, Mapping):
        return None
    return {
        str(k): (int(v.get("in_area", 0)), int(v.get("rows", 0)))
        for k, v in value.items()
        if isinstance(v, Mapping)
    }
