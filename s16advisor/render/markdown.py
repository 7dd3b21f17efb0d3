"""Markdown, for pasting into a report."""

from __future__ import annotations

from typing import TextIO

from ..advice import Advice
from ..contract import ContractDescription
from ..facts import basis_words
from .common import (
    declared_route_line,
    main_thresholds,
    money,
    next_steps,
    references,
    reservations_to_consider,
    thresholds_note,
    valuation_line,
)


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", "<br>")


def _inline(s: str) -> str:
    """A text on one line: a title or a supplier's name holding a line break must not end a heading or a bullet
    (and start a Markdown line of its own)."""
    return " ".join(s.splitlines())


def render(advice: Advice, out: TextIO, explain: bool, color: bool | None, *,
           contract: ContractDescription | None = None) -> None:
    w = out.write

    def bullets(title: str, items: list[str]) -> None:
        if items:
            w(f"\n## {title}\n\n" + "".join(f"- {_inline(item)}\n" for item in items))

    w(f"# {_inline(advice.title)} ({_inline(advice.contract_id)})\n\n")
    w(f"**Regime:** {advice.regime.title}: {advice.regime.because}. <{advice.regime.reference}>\n\n")
    w(f"**Valuation:** {valuation_line(advice, contract)}\n\n")
    # as the text format: the answer first, then the thresholds and routes it rests on
    w("## Recommended plan\n\n")
    if not advice.recommended:
        w("No route is available.\n")
    for i, rid in enumerate(advice.recommended, 1):
        route = advice.route(rid)
        w(f"{i}. **{route.title}** (`{rid}`): {_inline(' '.join(route.because))}\n")
    said = declared_route_line(advice, contract)
    if said:
        w(f"\n{said}\n")
    bullets("What to do next", next_steps(advice))
    bullets("Reservations to consider", reservations_to_consider(advice))
    bullets("Findings", [f"**{f.severity}** `{f.code}`: {f.message} <{f.reference}>" for f in advice.findings])
    w(f"\n## Thresholds in force on {advice.procurement_start.isoformat()}\n\n")
    w("| threshold | amount | in force from | contract value | reference |\n|---|---:|---|---:|---|\n")
    for t in main_thresholds(advice):
        w(f"| {_cell(t.title)} | {money(t.amount)} {basis_words(t.vat_basis)} | {t.in_force_from.isoformat()} | "
          f"{money(t.value)} | <{t.reference}> |\n")
    note = thresholds_note(advice)
    if note:
        w(f"\n{note}\n")
    w("\n## Routes\n\n| route | status | why / blocked by |\n|---|---|---|\n")
    for r in advice.routes:
        if r.status == "unavailable":
            why = "<br>".join(f"`{b.code}`: {_cell(b.message)}" for b in r.blocked_by)
        else:
            why = "<br>".join(_cell(x) for x in r.because)
        status = f"**{r.status}**" if r.status == "recommended" else r.status
        w(f"| `{r.id}` | {status} | {why} |\n")
    bullets("References", [f"<{ref}>" for ref in references(advice)])
    if explain:
        w("\n## Rule trace\n\n| stage | rule | fired | facts asserted |\n|---:|---|---|---|\n")
        for e in advice.trace:
            facts = ", ".join(f"`{k}={v}`" for k, v in e.facts.items())
            w(f"| {e.stage} | `{e.rule}` | {'yes' if e.fired else 'no'} | {facts} |\n")
