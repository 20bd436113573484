"""Tiny pure helpers shared by every layer: money, clock, secrets, errors. Stdlib only."""
