"""The built wheel carries its rulebook, data and examples, and advises from them outside the checkout.

Builds the wheel with pip (which fetches hatchling into an isolated build environment), installs it into a
temporary folder, and runs the dev venv's python there with only that folder on PYTHONPATH, so neither the
checkout nor the editable install can be what answers. Slow (tens of seconds): deselect with -m "not slow".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json
import s16advisor
from s16advisor import resources
from s16advisor.advisor import advise_file

example = resources.examples_dir() / "supported-living.yaml"
advice = advise_file(str(example))
print(json.dumps({
    "package": s16advisor.__file__,
    "rules": str(resources.rules_dir()),
    "data": str(resources.data_dir()),
    "examples": str(resources.examples_dir()),
    "example_exists": example.is_file(),
    "regime": advice.regime.id,
    "recommended": advice.recommended,
}))
"""


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_the_installed_wheel_advises_from_its_bundled_rulebook(tmp_path: Path) -> None:
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--disable-pip-version-check", "-w", str(wheels)],
         cwd=ROOT)
    built = sorted(wheels.glob("s16advisor-*.whl"))
    assert len(built) == 1, f"expected one s16advisor wheel, got {built}"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--target", str(site),
          str(built[0])])

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(site)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    out = json.loads(_run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env).stdout.strip().splitlines()[-1])

    installed = (site / "s16advisor").resolve()
    bundled = installed / "_bundled"
    assert Path(out["package"]).resolve().parent == installed, "imported s16advisor from somewhere else"
    assert Path(out["rules"]).resolve() == bundled / "rules"
    assert Path(out["data"]).resolve() == bundled / "data"
    assert Path(out["examples"]).resolve() == bundled / "examples"
    assert out["example_exists"]
    assert out["regime"] == "pcr2015"
    assert out["recommended"], "the bundled example should get a recommended plan"
