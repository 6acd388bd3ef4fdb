"""Inputs: station ledgers, boundaries and the area rule, census facts, population models, files."""
