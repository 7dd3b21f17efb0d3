"""What every human-readable format says, in the same words."""

from __future__ import annotations

import re
from typing import Any, TextIO

from pydantic import BaseModel

from ..advice import Advice, ThresholdRef
from ..contract import ContractDescription, reservation_planned, unplanned_reservations
from ..facts import basis_words, money, newer_figures_note
from ..yamlio import escaped

STATUS_WORDS = {"recommended": "recommended", "available": "available", "unavailable": "unavailable"}
# The thresholds the advice's table leaves out (by their id's start), as its note names them
_LEFT_OUT = {"small_lot_": "the small-lot values", "community_benefits": "the Community Benefits policy figure"}
MAIN_THRESHOLDS_EXCLUDE = tuple(_LEFT_OUT)


# rich styles of a route status, shared by the text and comparison views
STATUS_STYLE = {"recommended": "bold green", "available": "cyan", "unavailable": "red"}


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")  # C0 but tab
# and line feed, DEL, C1; the line and paragraph separators and the bidirectional embeddings, overrides and
# isolates (a title or a waiver's reason shown reversed is not what the draft says), as the rulebook refuses them;
# lone surrogates: a file name's bytes that are not UTF-8 (see ``escaped``)
SURROGATES = re.compile("[\ud800-\udfff]")


def printable(text: str, one_line: bool = False) -> str:
    """``text`` with control characters and bidirectional overrides written as escapes (``\\x1b``, ``\\u202e``),
    so that a title or a reason cannot move the cursor, retitle the terminal, start a line of its own or be shown
    reversed; ``one_line`` writes line ends as ``\\n`` too."""
    if one_line:
        text = text.replace("\r\n", "\n").replace("\n", "\\n")
    return escaped(text, _CONTROL)


def printable_advice(advice: Advice) -> Advice:
    """The advice with every text ``printable`` (for the formats people read)."""
    return _printable(advice)  # type: ignore[no-any-return]


def _printable(x: Any) -> Any:
    if isinstance(x, str):
        return printable(x) if _CONTROL.search(x) else x
    if isinstance(x, list):
        return [_printable(v) for v in x]
    if isinstance(x, dict):
        return {k: _printable(v) for k, v in x.items()}
    if isinstance(x, BaseModel):
        return x.model_copy(update={k: _printable(v) for k, v in x.__dict__.items()})
    return x


def main_thresholds(advice: Advice) -> list[ThresholdRef]:
    return [t for t in advice.valuation.thresholds_in_force if not t.name.startswith(MAIN_THRESHOLDS_EXCLUDE)]


def thresholds_note(advice: Advice) -> str | None:
    """The note under the thresholds table, if any: what it leaves out (the small-lot values, the Community
    Benefits policy figure) and where to see them; that newer figures may be in force."""
    rows = advice.valuation.thresholds_in_force
    left = [words for prefix, words in _LEFT_OUT.items() if any(t.name.startswith(prefix) for t in rows)]
    note = f"Not shown: {' and '.join(left)} (s16advisor thresholds --on {advice.procurement_start.isoformat()})." \
        if left else None
    newer = newer_figures_note(advice.procurement_start, rows)
    return " ".join(n for n in (note, newer) if n) or None


def valuation_line(advice: Advice, contract: ContractDescription | None = None) -> str:
    """The value against the threshold that applies; at a VAT rate of 0 (the contract's), "with no VAT charged"
    rather than "inclusive of VAT"."""
    v = advice.valuation
    th = v.threshold
    rate = contract.value.vat_rate if contract is not None else None
    if th is None:
        return f"{money(v.value)} {basis_words(v.vat_basis, rate)}: no threshold applies."
    verdict = "at or above it" if v.above_threshold else "below it"
    return (f"{money(th.value)} {basis_words(th.vat_basis, rate)} against the {th.title} threshold of "
            f"{money(th.amount)} ({th.regulation}, in force from {th.in_force_from.isoformat()}): {verdict}.")


def next_steps(advice: Advice) -> list[str]:
    """The conditions of the recommended routes; a step two routes of the plan share (a light touch contract and
    the competitive flexible procedure that awards it) is said once. The findings are not repeated: they follow
    at once, with their severity."""
    steps: list[str] = []
    for rid in advice.recommended:
        steps.extend(advice.route(rid).conditions)
    return list(dict.fromkeys(steps))


# How a draft plans each reservation route (the objective that asks for it when the draft declares none).
_TO_PLAN = {"reserved_public_service_mutual": ("public_service_mutual", "social_value_models"),
            "reserved_supported_business": ("supported_business", "supported_employment")}


def reservations_to_consider(advice: Advice) -> list[str]:
    """The Section 16 view of one advice, as the review's summary counts it: each reservation that is lawful for
    the contract but not in its plan, and each that only its term keeps closed, when the plan reserves to no one."""
    statuses = {r.id: r.status for r in advice.routes}
    if reservation_planned(statuses):
        return []
    lawful = unplanned_reservations(statuses)
    out = []
    for rid, (reservation, objective) in _TO_PLAN.items():
        route = advice.route(rid)
        if rid in lawful:
            out.append(f"{route.title} is lawful for this contract but not in the plan: to plan it, declare "
                       f"reservation: {reservation}, or the objective {objective}.")
        elif route.status == "unavailable" and route.blocked_by and \
                all(b.code == "duration_over_limit" for b in route.blocked_by):
            out.append(f"{route.title} is closed by the term alone: {route.blocked_by[0].message}")
    return out


def declared_route_line(advice: Advice, contract: ContractDescription | None) -> str | None:
    """What the advice says of the route the draft declares, when it is lawful but not in the plan (one in the
    plan needs no word; one that is unavailable has its finding, declared_route_unavailable)."""
    declared = contract.route if contract is not None else None
    if not declared or declared in advice.recommended:
        return None
    route = advice.route(declared)  # (every advice lists every route id, and a draft declares one of them)
    if route.status != "available":
        return None
    if advice.has_errors():  # (a reservation that cannot be combined with it, say: the draft fails as it stands)
        return (f"The draft declares {declared} ({route.title}): not blocked on its own, but the draft as it stands "
                "is not lawful: see the errors under Findings.")
    plan = ", ".join(advice.recommended) or "no route"
    return (f"The draft declares {declared} ({route.title}): lawful for this contract, but not in the recommended "
            f"plan ({plan}): it may still be used (see Routes).")


def references(advice: Advice) -> list[str]:
    """The references of the recommended routes, then of the findings, each once."""
    refs: list[str] = []
    for rid in advice.recommended:
        refs.extend(x for x in advice.route(rid).references if x not in refs)
    for f in advice.findings:
        if f.reference not in refs:
            refs.append(f.reference)
    return refs


def write_json(data: Any, out: TextIO) -> None:
    """``data`` as indented JSON and a line end, written at once: ``json.dump`` writes each token on its own (1.4
    million writes for a check report of 500 drafts, each a system call when standard output is unbuffered, as
    PYTHONUNBUFFERED makes it: 6.6 s against 2.6 s)."""
    import json

    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def terminal_size(out: TextIO, fallback: int) -> Any:
    """The size of the terminal ``out`` writes to, as rich and shutil read it: COLUMNS and LINES where set, else
    the terminal's own; ``fallback`` columns (and 24 lines) where neither says. Given to every rich console: a
    console given no size takes any dumb terminal (TERM=dumb) to be 80 columns wide, and at 40 columns the lines
    it drew for 80 broke anywhere."""
    import os

    try:
        size = os.get_terminal_size(out.fileno())
    except (AttributeError, ValueError, OSError):  # (io.UnsupportedOperation is an OSError)
        size = os.terminal_size((0, 0))

    def env(name: str) -> int:
        value = os.environ.get(name, "")
        return int(value) if value.isdigit() else 0

    return os.terminal_size((env("COLUMNS") or size.columns or fallback, env("LINES") or size.lines or 24))


def make_console(out: TextIO, color: bool | None, width: int = 120) -> tuple[Any, Any]:
    """A rich console writing to a buffer, and a function that copies the buffer to ``out`` without the padding
    rich leaves at line ends (so the text pipes cleanly into files and diffs)."""
    import io
    import os

    from rich.console import Console

    tty = out.isatty()
    buffer = io.StringIO()
    size = terminal_size(out, width) if tty else os.terminal_size((width, 24))  # (a file: the same width always)
    console = Console(file=buffer, force_terminal=tty if color is None else color,
                      no_color=True if color is False else None,  # None: rich honours NO_COLOR
                      highlight=False, width=size.columns, height=size.lines)

    def flush() -> None:
        out.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")

    return console, flush
