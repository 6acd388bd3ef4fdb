"""Coverage targets on the Yuexiu demo: the fewest sites, proven, and an out-of-reach one."""

from __future__ import annotations

import pytest

from skillcircle.outputs.markdown import markdown_report
from skillcircle.outputs.words import plan_words
from skillcircle.siting.suggest import suggest

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_target_90_states_k_and_its_proven_lower_bound(yuexiu_demo):
    a = yuexiu_demo.analysis
    plan = suggest(a, target_coverage_pct=90)
    k = plan.solution.n_selected
    p = plan.summary.plan
    assert p is not None
    assert p.target_reached is True
    assert p.target_coverage_pct == 90
    assert p.sites_lower_bound is not None
    assert 1 <= p.sites_lower_bound <= k
    assert p.coverage_pct_after >= 90
    words = plan_words(plan.summary)
    if p.sites_lower_bound == k:
        assert f"{k} sites reach it; no plan with {k - 1} can reach it" in words
    else:
        assert f"at least {p.sites_lower_bound} are needed" in words
    # one site fewer: the best plan of K - 1 sites (its bound) stays below the target
    fewer = suggest(a, add=k - 1)
    bound_pct = 100 * fewer.solution.upper_bound_covered_population / a.summary.population
    assert bound_pct < 90
    assert fewer.summary.plan is not None
    assert fewer.summary.plan.coverage_pct_after < 90


def test_target_99_is_out_of_reach_everywhere(yuexiu_demo):
    a = yuexiu_demo.analysis
    plan = suggest(a, target_coverage_pct=99)
    p = plan.summary.plan
    assert p is not None
    assert p.target_reached is False
    assert p.max_reachable_coverage_pct is not None
    assert p.max_reachable_coverage_pct < 99
    assert p.coverage_pct_after == pytest.approx(p.max_reachable_coverage_pct, abs=1e-3)
    assert plan.suggestions["added_population"].min() > 0  # no site adds nobody
    data = plan.summary.to_json()
    assert data["target_reached"] is False
    assert data["target_coverage_pct"] == 99
    assert data["sites_lower_bound"] is not None
    assert data["max_reachable_coverage_pct"] == p.max_reachable_coverage_pct
    assert "Target 99 % cannot be reached" in plan_words(plan.summary)  # what the CLI prints
    assert "Target 99 % cannot be reached" in markdown_report(a, plan=plan)
