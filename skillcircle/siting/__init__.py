"""Siting: the maximal-covering problem, its solvers and bounds, phases, candidates, suggest."""
