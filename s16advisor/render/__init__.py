"""Output formats for Advice. Each format is a function ``(advices, out, options) -> None`` behind one enum,
so a new format is one module and one line here (tests check every member is wired)."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from typing import TextIO

from ..advice import Advice
from . import markdown, text


class AdviceFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def _json(advice: Advice, out: TextIO, explain: bool, color: bool | None) -> None:
    json.dump(advice.to_json_dict(), out, indent=2, ensure_ascii=False)
    out.write("\n")


RENDERERS: dict[AdviceFormat, Callable[[Advice, TextIO, bool, bool | None], None]] = {
    AdviceFormat.text: text.render,
    AdviceFormat.json: _json,
    AdviceFormat.markdown: markdown.render,
}


def render_advice(advice: Advice, fmt: AdviceFormat, out: TextIO, *, explain: bool = False,
                  color: bool | None = None) -> None:
    RENDERERS[fmt](advice, out, explain, color)
