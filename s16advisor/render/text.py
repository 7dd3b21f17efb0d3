"""The terminal format: rich tables and colour (colour off when not a terminal or NO_COLOR is set)."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..advice import Advice, RouteAdvice
from ..contract import ContractDescription
from ..facts import basis_words
from .common import (
    STATUS_STYLE,
    declared_route_line,
    main_thresholds,
    make_console,
    money,
    next_steps,
    references,
    reservations_to_consider,
    thresholds_note,
    valuation_line,
)

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "blue"}


def _items(console: Console, rows: list[tuple[str | Text, str | Text]], indent: int = 2) -> None:
    """A list whose wrapped lines stay indented under their text, not under the marker."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for marker, body in rows:
        grid.add_row(marker if isinstance(marker, Text) else Text(marker),
                     body if isinstance(body, Text) else Text(body))
    console.print(Padding(grid, (0, 0, 0, indent)))


def render(advice: Advice, out: TextIO, explain: bool, color: bool | None, *,
           contract: ContractDescription | None = None) -> None:
    console, flush = make_console(out, color)
    console.print(Text(f"{advice.title} ({advice.contract_id})", style="bold"))
    _items(console, [(Text("Regime", style="bold"), Text(f"{advice.regime.title}: {advice.regime.because}")),
                     (Text("Value", style="bold"), Text(valuation_line(advice, contract)))], indent=0)

    # The answer first (the plan, what to do, the findings), then the detail it rests on: an officer reads the
    # top of the screen, and on an 80-column terminal the two tables alone are over a hundred lines.
    console.print(Text("Recommended plan", style="bold"))
    if not advice.recommended:
        console.print("  No route is available.", style="red")
    _items(console, [(f"{i}.", Text.assemble((rid, "bold green"), f" - {advice.route(rid).title}\n",
                                              "\n".join(advice.route(rid).because)))
                     for i, rid in enumerate(advice.recommended, 1)])
    said = declared_route_line(advice, contract)
    if said:
        _items(console, [("-", said)])

    steps = next_steps(advice)
    if steps:
        console.print(Text("What to do next", style="bold"))
        _items(console, [("-", s) for s in steps])
    consider = reservations_to_consider(advice)
    if consider:
        console.print(Text("Reservations to consider", style="bold"))
        _items(console, [("-", s) for s in consider])

    if advice.findings:
        console.print(Text("Findings", style="bold"))
        _items(console, [(Text(f"{f.severity:7}", style=SEVERITY_STYLE[f.severity]),
                          Text.assemble((f.code, "bold"), ": ", f.message)) for f in advice.findings])

    _thresholds(console, advice)
    _routes(console, advice)

    refs = references(advice)
    if refs:
        console.print(Text("References", style="bold"))
        for ref in refs:  # each web address whole on its line, to be copied or clicked: wider than the terminal,
            # it is written unbroken at the line's start (the terminal wraps it), not folded with a line end and
            # an indent inserted in it
            shown = f"  {ref}" if len(ref) + 2 <= console.width else ref
            console.print(Text(shown, style="dim"), overflow="ignore", no_wrap=True, crop=False)

    if explain:
        _trace(console, advice)
    flush()


# The narrowest terminal the thresholds table is drawn for: narrower, its titles wrap to five lines a row.
THRESHOLDS_MIN_WIDTH = 100


def _thresholds(console: Console, advice: Advice) -> None:
    """The thresholds in force on the commencement date, the one that applies marked; on a narrow terminal each
    title on a line with its figures under it."""
    title = f"Thresholds in force on {advice.procurement_start.isoformat()}"
    applicable = advice.valuation.threshold.name if advice.valuation.threshold else None
    if console.width < THRESHOLDS_MIN_WIDTH:
        console.print(Text(title, style="italic"))
        for t in main_thresholds(advice):
            mark = t.name == applicable
            console.print(Padding(Text.assemble((t.title, "bold" if mark else ""), ("  applies" if mark else "")),
                                  (0, 0, 0, 2)))
            console.print(Padding(Text(f"{money(t.amount)} {basis_words(t.vat_basis).split()[0]} from "
                                       f"{t.in_force_from.isoformat()}; the contract's value {money(t.value)}"),
                                  (0, 0, 0, 4)))
        _left_out(console, advice)
        return
    th = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    # Every column folds a text too long for it rather than cut it short with an ellipsis: an id or an amount
    # cut short would be a different one (a narrow terminal, or a long rule id in a file).
    th.add_column("threshold", overflow="fold")
    th.add_column("amount", justify="right", overflow="fold")
    th.add_column("from", overflow="fold")
    th.add_column("contract value", justify="right", overflow="fold")
    th.add_column("", overflow="fold")
    for t in main_thresholds(advice):
        mark = "applies" if t.name == applicable else ""
        th.add_row(Text(t.title), f"{money(t.amount)} {basis_words(t.vat_basis).split()[0]}",
                   t.in_force_from.isoformat(), money(t.value), mark, style="bold" if mark else None)
    console.print(th)
    _left_out(console, advice)


def _left_out(console: Console, advice: Advice) -> None:
    note = thresholds_note(advice)
    if note:
        console.print(Text(note, style="dim"))


# The narrowest the reasons column of the routes table may be: narrower (an 80-column terminal leaves it about 26
# characters), each route's status goes beside its id and its reasons under it.
REASONS_MIN_WIDTH = 40


def _why(r: RouteAdvice) -> list[Text]:
    """Why a route has its status: its blockers when unavailable, else its reasons."""
    if r.status == "unavailable":
        return [Text.assemble((b.code, "bold"), ": ", b.message) for b in r.blocked_by]
    return [Text(x) for x in r.because]


def _routes(console: Console, advice: Advice) -> None:
    """Every route with its status, and why (the blockers of an unavailable one)."""
    id_width = max(len(r.id) for r in advice.routes)
    if console.width - id_width - len("unavailable") - 2 * 3 < REASONS_MIN_WIDTH:
        console.print(Text("Routes", style="italic"))
        for r in advice.routes:
            status = Text(r.status, style=STATUS_STYLE[r.status])
            if len(f"  {r.id}  {r.status}") <= console.width:
                console.print(Text.assemble("  ", (r.id, "bold"), "  ", status))
            else:  # the status under the id (folded beside it, it started a line at the margin, like a heading)
                console.print(Padding(Text(r.id, style="bold"), (0, 0, 0, 2)), overflow="fold")
                console.print(Padding(status, (0, 0, 0, 4)))
            _items(console, [("", x) for x in _why(r)], indent=3)
        return
    rt = Table(title="Routes", title_justify="left", show_edge=False, pad_edge=False, show_lines=False)
    rt.add_column("route", overflow="fold", no_wrap=True)  # (ids keep their width first, and fold if they must)
    rt.add_column("status", overflow="fold")
    rt.add_column("why / blocked by", overflow="fold")
    for r in advice.routes:
        rt.add_row(r.id, Text(r.status, style=STATUS_STYLE[r.status]), Text("\n").join(_why(r)))
    console.print(rt)


# The narrowest the facts column may be beside the rule ids: narrower, each fact is cut into slivers of a few
# characters ("blocke", "d.smal", "l_lots") and the facts go under their rule instead.
FACTS_MIN_WIDTH = 30


def _trace(console: Console, advice: Advice) -> None:
    """The rule trace: stage, rule, fired, facts asserted; on a terminal too narrow for the facts beside the rule
    ids, each fact on its own line under its rule."""
    title = "Rule trace (every rule evaluated, in order)"
    rule_width = max((len(e.rule) for e in advice.trace), default=0)
    if console.width < rule_width + len("stage") + len("fired") + 2 * 3:  # (a table would drop columns)
        console.print(Text(title, style="italic"))
        for e in advice.trace:  # each rule on its line, then its stage, whether it fired and what it asserted
            console.print(Text(e.rule), overflow="fold")
            console.print(Text.assemble(f"  stage {e.stage}, fired: ",
                                        ("yes", "green") if e.fired else ("no", "dim")))
            for k, v in e.facts.items():
                console.print(Text(f"    {k}={v}"), overflow="fold")
        return
    tt = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    longest = max((len(f"{k}={v}") for e in advice.trace for k, v in e.facts.items()), default=0)
    # beside the rules only if every fact fits on a line there (a fact cut mid-word is no longer found by grep)
    beside = console.width - rule_width - len("stage") - len("fired") - 3 * 3 >= max(FACTS_MIN_WIDTH, longest)
    tt.add_column("stage", justify="right", overflow="fold")
    tt.add_column("rule" if beside else "rule, and the facts it asserted", overflow="fold", no_wrap=True)
    tt.add_column("fired", overflow="fold")
    if beside:
        tt.add_column("facts asserted", overflow="fold")
    for e in advice.trace:
        fired = Text("yes", style="green") if e.fired else Text("no", style="dim")
        facts = [f"{k}={v}" for k, v in e.facts.items()]
        if beside:
            tt.add_row(str(e.stage), e.rule, fired, Text("\n".join(facts)))  # (a fact a line: not cut mid-word)
        else:
            tt.add_row(str(e.stage), Text("\n".join([e.rule, *(f"  {f}" for f in facts)])), fired)
    console.print(tt)
