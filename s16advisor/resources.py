"""Where the rulebook and data are: inside an installed wheel, or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    bundled = _PKG / "_bundled" / name  # a built wheel (pyproject: force-include)
    if bundled.is_dir():
        return bundled
    source = _PKG.parent / name  # an editable install or a checkout
    if source.is_dir():
        return source
    raise FileNotFoundError(f"s16advisor cannot find its {name}/ folder (looked in {bundled} and {source})")


def rules_dir() -> Path:
    return _find("rules")


def data_dir() -> Path:
    return _find("data")


def examples_dir() -> Path:
    return _find("examples")
