"""The side-by-side view: one contract under each regime (``advise --compare-regimes``)."""

from __future__ import annotations

from typing import Any, TextIO

from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..advice import Advice
from ..contract import ContractDescription
from ..facts import basis_words
from .common import STATUS_STYLE, make_console, money, printable_advice, write_json


def _threshold(a: Advice, rate: float | None) -> str:
    th = a.valuation.threshold
    if th is None:
        return "none"
    side = "at or above" if a.valuation.above_threshold else "below"
    return f"{money(th.value)} {basis_words(th.vat_basis, rate)} {side} {th.name} {money(th.amount)}"  # (pre-2022: net)


def comparison_rows(advices: list[Advice], rate: float | None = None) -> list[dict[str, Any]]:
    """One row per aspect (regime, valuation, each route, plan, findings) with each regime's answer; ``rate``,
    the contract's VAT rate, says how its value is stated ("with no VAT charged" at 0)."""
    rows: list[dict[str, Any]] = [
        {"aspect": "applies on the commencement date", "values": ["yes" if a.regime.applies else "no"
                                                                  for a in advices]},
        {"aspect": "value and threshold", "values": [_threshold(a, rate) for a in advices]},
    ]
    for rid in [r.id for r in advices[0].routes]:
        values = []
        for a in advices:
            r = a.route(rid)
            values.append(r.status if r.status != "unavailable"
                          else f"unavailable ({', '.join(sorted({b.code for b in r.blocked_by}))})")
        rows.append({"aspect": rid, "route": rid, "values": values})
    rows.append({"aspect": "recommended plan", "values": [" + ".join(a.recommended) or "none" for a in advices]})
    rows.append({"aspect": "findings", "values": [", ".join(sorted({f.code for f in a.findings})) or "none"
                                                  for a in advices]})
    for row in rows:
        row["differs"] = len(set(row["values"])) > 1
    return rows


def evaluated_on(a: Advice) -> str:
    """The day an advice was worked out for: its commencement date, or for a regime that did not apply then, the
    nearest day it did (its thresholds are those in force on that day, so it lies within all their spans)."""
    rows = a.valuation.thresholds_in_force
    day = a.procurement_start
    if rows:
        day = max(day, max(t.in_force_from for t in rows))
        ends = [t.in_force_to for t in rows if t.in_force_to is not None]
        day = min(day, min(ends)) if ends else day
    return day.isoformat()


def comparison_json(advices: list[Advice], rate: float | None = None) -> dict[str, Any]:
    rows = comparison_rows(advices, rate)
    return {
        "schema": "s16advisor/comparison/1",
        "contract_id": advices[0].contract_id,
        "regimes": [a.regime.id for a in advices],
        "evaluated_on": {a.regime.id: evaluated_on(a) for a in advices},  # (a regime not applying: nearest day)
        "differences": [{"aspect": r["aspect"], **dict(zip([a.regime.id for a in advices], r["values"],
                                                           strict=True))}
                        for r in rows if r["differs"]],
        "advices": [a.to_json_dict() for a in advices],
    }


def render(advices: list[Advice], fmt: str, out: TextIO, color: bool | None, *,
           contract: ContractDescription | None = None) -> None:
    """The regimes' advices side by side; ``contract``, the contract compared, says how its value is stated."""
    rate = contract.value.vat_rate if contract is not None else None
    if fmt != "json":  # as render_advice: escape codes are shown, not sent to the terminal
        advices = [printable_advice(a) for a in advices]
    rows = comparison_rows(advices, rate)
    ids = [a.regime.id for a in advices]
    first = advices[0]
    if fmt == "json":
        write_json(comparison_json(advices, rate), out)
        return
    if fmt == "markdown":
        out.write(f"# {first.title} ({first.contract_id}): regimes compared\n\n")
        out.write(f"Commenced on {first.procurement_start.isoformat()}. Rows that differ are in bold.\n\n")
        out.write("| | " + " | ".join(ids) + " |\n|---|" + "---|" * len(ids) + "\n")
        for r in rows:
            cells = [f"**{v}**" if r["differs"] else v for v in r["values"]]
            out.write(f"| {r['aspect']} | " + " | ".join(cells) + " |\n")
        for a in advices:
            out.write(f"\n- **{a.regime.id}**: {a.regime.because}\n")
        return
    console, flush = make_console(out, color, width=140)
    console.print(Text(f"{first.title} ({first.contract_id}): regimes compared", style="bold"))
    for a in advices:
        console.print(Text.assemble((f"{a.regime.id}: ", "bold"), a.regime.because))
    if console.width < _TABLE_WIDTH:  # a terminal too narrow for the table: each aspect, then a line per regime
        _stacked(console, rows, ids)
    else:
        _table(console, rows, ids)
    n = sum(r["differs"] for r in rows)
    console.print(Text(f"{n} of {len(rows)} aspects differ.", style="dim"))
    flush()


# Below this width the table's columns split route ids and blocker codes mid-word
# (reserved_supported_bus|iness, at_or_above_threshol|d): the longest need about 114 columns.
_TABLE_WIDTH = 114


def _stacked(console: Any, rows: list[dict[str, Any]], ids: list[str]) -> None:
    """Each aspect on its line, then a line per regime, its answer wrapped under itself: at 40 columns an answer's
    second line started at the margin, where it read as an aspect of its own, and so did "differs"."""
    for r in rows:
        mark = "  differs" if r["differs"] else ""
        fits = len(r["aspect"]) + len(mark) <= console.width
        console.print(Text.assemble((r["aspect"], "bold" if r["differs"] else ""),
                                    (mark if fits else "", "bold yellow")), overflow="fold")
        if mark and not fits:  # (under the aspect, not folded beside it)
            console.print(Text(mark, style="bold yellow"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for rid, v in zip(ids, r["values"], strict=True):
            style = STATUS_STYLE.get(v.split(" ")[0], "") if r.get("route") else ""
            grid.add_row(rid, Text(v, style=style))
        console.print(Padding(grid, (0, 0, 0, 2)))


def _table(console: Any, rows: list[dict[str, Any]], ids: list[str]) -> None:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("", overflow="fold")
    for rid in ids:
        table.add_column(rid, overflow="fold")
    table.add_column("", overflow="fold")
    for r in rows:
        cells = []
        for v in r["values"]:
            style = STATUS_STYLE.get(v.split(" ")[0], "") if r.get("route") else ""
            cells.append(Text(v, style=style))
        table.add_row(Text(r["aspect"], style="bold" if r["differs"] else ""), *cells,
                      Text("differs", style="bold yellow") if r["differs"] else "")
    console.print(table)
