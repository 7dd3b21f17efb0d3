"""Output formats for Advice. Each format is a function ``(advice, out, explain, color) -> None`` behind one
enum, so a new format is one module and one line here (tests check every member is wired). Renderers are
imported when used: ``--format json`` never loads rich."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from enum import Enum
from typing import TextIO

from ..advice import Advice
from ..contract import ContractDescription


class AdviceFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


# (advice, out, explain, color, *, contract=None): the contract description advised, when the caller has it
Renderer = Callable[..., None]


def _json(advice: Advice, out: TextIO, explain: bool, color: bool | None, *,
          contract: ContractDescription | None = None) -> None:
    from .common import write_json

    write_json(advice.to_json_dict(), out)


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
                  color: bool | None = None, contract: ContractDescription | None = None) -> None:
    """``advice`` in ``fmt``; ``contract``, the contract description advised, lets the formats people read say
    more of it: whether its declared route is lawful when it is not in the plan, that no VAT is charged at a
    rate of 0 (JSON has each route's status, and the value's basis)."""
    if fmt is not AdviceFormat.json:  # a title with escape codes must not drive the terminal (JSON escapes them)
        from .common import printable_advice

        advice = printable_advice(advice)
    renderer(fmt)(advice, out, explain, color, contract=contract)
