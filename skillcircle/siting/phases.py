"""Phases of a siting plan: the ordered picks split into the programme's yearly totals."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillcircle._errors import InputError
from skillcircle.siting.problem import SitingSolution

__all__ = ["PhaseStatus", "phase_plan"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class PhaseStatus:
    """How far one phase's target is met by the plan.

    Attributes
    ----------
    phase
        The phase's label (its year).
    target_total
        Total stations to reach by the end of the phase.
    needed, planned
        New stations the phase needs, and how many of the plan's sites it got.
    short
        Whether the plan gives the phase fewer sites than it needs.
    """

    phase: int
    target_total: int
    needed: int
    planned: int
    short: bool


def phase_plan(
    solution: SitingSolution,
    *,
    existing_stations: int,
    phases: tuple[int, ...],
    years: tuple[int, ...],
) -> tuple[pd.DataFrame, tuple[PhaseStatus, ...]]:
    """Split the ordered picks into the programme's yearly phases.

    Parameters
    ----------
    solution
        A solved plan (picks in order of value).
    existing_stations
        Stations open today.
    phases
        *Total* station counts to reach by the end of each phase, increasing.
    years
        Label of each phase.

    Returns
    -------
    table : pandas.DataFrame
        :meth:`SitingSolution.cumulative` plus ``station_total`` (existing + rank) and
        ``phase`` (the year; ``<NA>`` for picks beyond the last phase).
    phases : tuple of PhaseStatus
        Per phase: the stations planned, needed and whether the phase is short.

    Examples
    --------
    With ``phases=(30, 40, 50)``, ``years=(2031, 2032, 2033)`` and 25 stations today, the
    first 5 picks bring the total to 30 (2031), the next 10 to 40 (2032), then up to 10 more
    go to 2033.
    """
    if len(phases) != len(years) or not phases:
        raise InputError("phases and years must be non-empty and of equal length")
    if any(b <= a for a, b in itertools.pairwise(phases)):
        raise InputError(f"phases must be increasing totals, got {phases!r}")
    if isinstance(existing_stations, bool) or existing_stations < 0:
        raise InputError(f"existing_stations must be >= 0, got {existing_stations!r}")
    df = solution.cumulative()
    total = existing_stations + df["rank"].to_numpy()
    df["station_total"] = total
    ends = np.asarray(phases, dtype=np.int64)
    idx = np.searchsorted(ends, total, side="left")  # first phase whose total covers the pick
    label = np.asarray(years, dtype=object)[np.minimum(idx, len(years) - 1)]
    phase = pd.array(label.tolist(), dtype="Int64")
    phase[idx >= len(years)] = pd.NA
    df["phase"] = phase
    summary = []
    prev = existing_stations
    for end, year in zip(phases, years, strict=True):
        needed = max(0, end - max(prev, existing_stations))
        planned = int((df["phase"] == year).sum())
        short = planned < needed
        if short:
            logger.info("phase %s is short: %d of %d new stations planned", year, planned, needed)
        summary.append(
            PhaseStatus(phase=year, target_total=end, needed=needed, planned=planned, short=short)
        )
        prev = max(prev, end)
    beyond = int(df["phase"].isna().sum())
    if beyond:
        logger.warning("%d pick(s) go beyond the last phase (%d stations)", beyond, phases[-1])
    return df, tuple(summary)
