from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared beside the project (CI always has it; a developer without it skips these tests)."""
    if not (SHARED / "reference" / "cpv2008.tsv").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing: CI must have ../shared beside the project")
        pytest.skip("../shared is not beside the project")
    return SHARED


@pytest.fixture(scope="session")
def advisor():
    from s16advisor.advisor import default_advisor

    return default_advisor()
