"""CPV codes: lists with ranges, membership, hierarchy and the check digit.

A list entry is a single code (``85311200-4``) or a range (``85000000-9..85323000-9``). A range covers
every code numerically between its ends, inclusive (PCR reg 77(2) "from 85000000-9 to 85323000-9").
A single code covers that code only: the lists name codes, not subtrees.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

ENTRY_RX = re.compile(r"^([0-9]{8})-([0-9])(?:\.\.([0-9]{8})-([0-9]))?\Z")  # ASCII digits: \d takes a full-width ７
_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7)


def formula_check_digit(code8: str) -> str:
    """The usual CPV check-digit formula. It disagrees with the official digit for ~6% of CPV 2008
    codes (whole subtrees), so it is never used to reject a code: see ``CpvList.official_digit``."""
    return str(sum(w * int(d) for w, d in zip(_WEIGHTS, code8, strict=True)) % 10)


def ancestors(code8: str) -> list[str]:
    """The CPV hierarchy above a code: 85311200 -> 85311000, 85310000, 85300000, 85000000."""
    significant = code8.rstrip("0")
    out = []
    for length in range(len(significant) - 1, 1, -1):
        parent = code8[:length].ljust(8, "0")
        if parent != code8 and parent not in out:
            out.append(parent)
    return out


def related(a: str, b: str) -> bool:
    """Same code, or one is an ancestor of the other (the same services at a different level)."""
    return a == b or a in ancestors(b) or b in ancestors(a)


@dataclass(frozen=True)
class Entry:
    low: str
    low_digit: str
    high: str | None = None
    high_digit: str | None = None

    @classmethod
    def parse(cls, text: str) -> Entry:
        m = ENTRY_RX.match(text)
        if not m:
            raise ValueError(f"{text!r} is not a CPV entry (NNNNNNNN-D or NNNNNNNN-D..NNNNNNNN-D)")
        low, low_digit, high, high_digit = m.groups()
        if high is not None and int(high) <= int(low):
            raise ValueError(f"{text!r}: a range must go from the lower code to the higher")
        return cls(low, low_digit, high, high_digit)

    @property
    def is_range(self) -> bool:
        return self.high is not None

    def __str__(self) -> str:
        first = f"{self.low}-{self.low_digit}"
        return f"{first}..{self.high}-{self.high_digit}" if self.is_range else first


class CpvList:
    """A named set of CPV codes and ranges, with fast membership tests."""

    def __init__(self, name: str, entries: list[Entry]):
        self.name = name
        self.entries = entries
        self._codes = {e.low for e in entries if not e.is_range}
        self._starts, self._ends = _merge(sorted((int(e.low), int(e.high)) for e in entries if e.high))
        self._digits = {e.low: e.low_digit for e in entries}
        self._digits.update({e.high: e.high_digit for e in entries if e.high and e.high_digit})

    def __contains__(self, code8: str) -> bool:
        if code8 in self._codes:
            return True
        n = int(code8)
        i = bisect_right(self._starts, n) - 1
        return i >= 0 and n <= self._ends[i]

    def official_digit(self, code8: str) -> str | None:
        """The official check digit, for codes this list names (single codes and range ends)."""
        return self._digits.get(code8)


def _merge(spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Merge overlapping ranges (Schedule 3 repeats some) into disjoint ones for bisection."""
    starts: list[int] = []
    ends: list[int] = []
    for lo, hi in spans:
        if ends and lo <= ends[-1]:
            ends[-1] = max(ends[-1], hi)
        else:
            starts.append(lo)
            ends.append(hi)
    return starts, ends
