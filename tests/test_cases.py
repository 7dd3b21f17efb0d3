"""Every behaviour case in tests/cases/ (see tests/cases.py for the format), on the durable-rules engine."""

from __future__ import annotations

import pytest

from .cases import check, load_cases

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, advisor):
    check(case, advisor)
