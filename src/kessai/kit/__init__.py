"""Tiny pure helpers shared by every layer: clock, secrets, errors, key files. Stdlib only.

Money is plain `int` yen everywhere (no floats); amounts are checked at the faces."""
