"""Forged button payload arguments: what a modified client may send in place of an id."""

from __future__ import annotations

# What a modified client puts where an argument belongs: digits Python's isdigit() accepts but
# int() refuses, ids past every integer column, signs, spaces, separators, non-ASCII, nothing.
FORGED = ["²", "١٢", "9" * 20, "2147483648", "-1", "+1", " 1", "1 ", "1.5", "abc", "", "ÄÖ", "0x1f"]
