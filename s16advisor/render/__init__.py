"""Output formats for Advice. Each format is a function ``(advice, out, explain, color) -> None`` behind one
enum, so a new format is one module and one line here (tests check every member is wired). Renderers are
imported when used: ``--format json`` never loads rich."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from enum import Enum
from typing import TextIO

from ..advice import Advice


class AdviceFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


Renderer = Callable[..., None]  # (advice, out, explain, color, *, declared=None): declared is the draft's route


def _json(advice: Advice, out: TextIO, explain: bool, color: bool | None, *, declared: str | None = None) -> None:
    json.dump(advice.to_json_dict(), out, indent=2, ensure_ascii=False)
    out.write("\n")


# format -> the module (in this package) and function that render it
RENDERERS: dict[AdviceFormat, tuple[str, str]] = {
    AdviceFormat.text: (".text", "render"),
    AdviceFormat.json: (__name__, "_json"),
    AdviceFormat.markdown: (".markdown", "render"),
}


def renderer(fmt: AdviceFormat) -> Renderer:
    module, name = RENDERERS[fmt]
    return getattr(importlib.import_module(module, __name__), name)  # type: ignore[no-any-return]


def render_advice(advice: Advice, fmt: AdviceFormat, out: TextIO, *, explain: bool = False,
                  color: bool | None = None, declared: str | None = None) -> None:
    """``advice`` in ``fmt``; ``declared``: the route the draft declares (the formats people read say when it is
    lawful but not in the plan; JSON has each route's status)."""
    if fmt is not AdviceFormat.json:  # a title with escape codes must not drive the terminal (JSON escapes them)
        from .common import printable_advice

        advice = printable_advice(advice)
    renderer(fmt)(advice, out, explain, color, declared=declared)
