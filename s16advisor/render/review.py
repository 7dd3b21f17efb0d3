"""What ``s16advisor review`` shows on standard error: a progress bar while it runs, the summary at the end.

On a terminal both use rich (a live bar with rate and ETA, tables); elsewhere the progress is silent unless asked
for, then a plain line every few seconds, and the summary is plain text with the same words.
"""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TextIO

from ..review import Reader, ReviewSummary, Total
from .common import terminal_size


def money(x: float) -> str:
    return f"£{x:,.0f}"


def short_money(x: float) -> str:
    """£12.3m, £1.2bn, £450k: a total in a sentence, halves rounded up (away from zero), as money is: by the exact
    value, not its float quotient (£1,450,000 / 1e6 is just under 1.45: it was '£1.4m')."""
    for least, unit, places, suffix in ((10**9, 10**9, 1, "bn"), (10**6, 10**6, 1, "m"), (10**4, 10**3, 0, "k")):
        if abs(x) >= least:
            scaled = (Decimal(x) / unit).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
            return f"£{scaled:,}{suffix}"
    return money(x)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def headline(s: ReviewSummary) -> str:
    inputs = []  # inputs that failed: an error result each, but no record
    if s.unopened:
        inputs.append(f"{_plural(s.unopened, 'input')} could not be opened")
    if s.stopped:
        inputs.append(f"{_plural(s.stopped, 'input')} stopped part-way")
    line = (f"{_plural(s.read, 'record')} read{'; ' + ', '.join(inputs) + ';' if inputs else ','} "
            f"{_plural(s.records, 'result')} written: {s.advised:,} advised, "
            f"{_plural(s.errors, 'error')} (could not be read, mapped or validated)")
    extra = []
    if s.with_error_findings:
        extra.append(f"{s.with_error_findings:,} with an error finding")
    if s.with_warning_findings:
        extra.append(f"{s.with_warning_findings:,} with a warning")
    if s.blank:
        extra.append(f"{_plural(s.blank, 'blank line')} skipped")
    return line + ("; " + ", ".join(extra) if extra else "")


def section16_line(s: ReviewSummary) -> str:
    """The Section 16 view: contracts a reservation would be lawful for (the route is available) but that do not
    plan one. The Section 16 duty is Welsh: contracts of English and Northern Irish authorities are counted (the
    reservations are theirs too), and the line says how many of them are in Wales when not all are."""
    either, psm, sb = s.reservable["either"], s.reservable["public_service_mutual"], s.reservable["supported_business"]
    if not either.count:
        return "Section 16: no contract could be reserved that is not already planned as reserved."
    wales = s.reservable["either_wales"]
    where = "" if wales.count == either.count else (
        " (none of them in Wales, where the Section 16 duty applies)" if not wales.count else
        f" ({wales.count:,} of them in Wales, where the Section 16 duty applies, worth {short_money(wales.value)})")
    return (f"Section 16: {_plural(either.count, 'contract')} worth {short_money(either.value)} could be reserved "
            f"but {'are' if either.count != 1 else 'is'} not{where}: {psm.count:,} of them to a public service mutual "
            f"({short_money(psm.value)}, reg 77 / s.33), {sb.count:,} to a supported business "
            f"({short_money(sb.value)}, reg 20 / s.32)"
            + ("; a contract that could go either way is in both." if psm.count + sb.count > either.count else "."))


def nation_lines(s: ReviewSummary) -> list[str]:
    """OCDS buyers whose nation was assumed: the Welsh count of the Section 16 line (and the Welsh findings) rest
    on the assumption."""
    if not s.nation_assumed:
        return []
    return [f"Nation assumed: {_plural(s.nation_assumed, 'advised OCDS record')} name a buyer whose address does not "
            "say which nation; --ocds-nation (default wales) was assumed for them, and the figures above rest on it."]


def declared_lines(s: ReviewSummary) -> list[str]:
    out = []
    if s.declared_unavailable:
        out.append("Declared routes that are unavailable: " + ", ".join(
            f"{route} {n:,}" for route, n in _by_count(s.declared_unavailable)))
    if s.reservation_unavailable:
        out.append("Declared reservations refused (reservation_unavailable): " + ", ".join(
            f"{r} {n:,}" for r, n in _by_count(s.reservation_unavailable)))
    return out


def duplicate_lines(s: ReviewSummary) -> list[str]:
    d = s.duplicates
    if d.unchecked:
        return [f"Duplicate ids: not checked ({d.unchecked}); every result was written."]
    if not d.ids:
        return []
    shown = "; ".join(f"{rid} ({', '.join(sources)}{', ...' if len(sources) >= 5 else ''})"
                      for rid, sources in d.examples)
    more = f"; and {d.ids - len(d.examples):,} more" if d.ids > len(d.examples) else ""
    ocds = any(rid.startswith("ocds-") for rid, _ in d.examples)  # (every OCDS ocid has the prefix)
    return [f"Duplicate ids: {_plural(d.ids, 'id')} used by more than one record ({d.ids + d.records:,} records): "
            f"{shown}{more}. The totals above count each of these records"
            + ("; several releases of one OCDS process (planning, tender, amendment) are counted once each: review "
               "its compiled record to count it once." if ocds else ".")]


def _routes(s: ReviewSummary) -> list[tuple[str, Total]]:
    return sorted(s.by_route.items(), key=lambda x: (-x[1].count, x[0]))


def _by_count(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Most first, then by name."""
    return sorted(counts.items(), key=lambda x: (-x[1], x[0]))


def render_summary(s: ReviewSummary, out: TextIO, *, color: bool | None = None, rich: bool | None = None) -> None:
    """The summary: rich tables when ``rich`` (default: ``out`` is a terminal), plain text otherwise."""
    if rich is None:
        rich = out.isatty()
    if rich:
        _render_rich(s, out, color)
    else:
        out.write(summary_text(s))


def summary_text(s: ReviewSummary) -> str:
    lines = [headline(s)]
    if s.by_regime:
        lines.append("Regimes: " + ", ".join(f"{r} {n:,}" for r, n in sorted(s.by_regime.items())))
    if s.by_route or s.no_route:
        lines.append("Recommended routes (contracts, total value):")
        width = max((len(r) for r in s.by_route), default=0)
        for route, t in _routes(s):
            lines.append(f"  {route:<{width}}  {t.count:>9,}  {money(t.value):>18}")
        if s.no_route:
            lines.append(f"  {'(no route available)':<{width}}  {s.no_route:>9,}")
    lines += declared_lines(s)
    if s.advised:
        lines.append(section16_line(s))
    lines += nation_lines(s)
    lines += duplicate_lines(s)
    lines += [f"warning: {w}" for w in s.warnings]
    return "\n".join(lines) + "\n"


def _render_rich(s: ReviewSummary, out: TextIO, color: bool | None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    size = terminal_size(out, 80)
    console = Console(file=out, force_terminal=color is not False, no_color=True if color is False else None,
                      highlight=False, width=size.columns, height=size.lines)
    console.print(Text(headline(s), style="bold"))
    if s.advised:
        rows: list[tuple[Text, str, str] | None] = []  # (None: a line between sections)
        rows += [(Text(f"regime {regime}"), f"{n:,}", "") for regime, n in sorted(s.by_regime.items())]
        rows.append(None)
        rows += [(Text(f"recommended {route}", style="green"), f"{total.count:,}", money(total.value))
                 for route, total in _routes(s)]
        if s.no_route:
            rows.append((Text("no route available", style="red"), f"{s.no_route:,}", ""))
        if s.declared_unavailable or s.reservation_unavailable:
            rows.append(None)
        rows += [(Text(f"declared {route}: unavailable", style="red"), f"{n:,}", "")
                 for route, n in _by_count(s.declared_unavailable)]
        rows += [(Text(f"reservation {r}: refused (reservation_unavailable)", style="red"), f"{n:,}", "")
                 for r, n in _by_count(s.reservation_unavailable)]
        rows.append(None)
        for key, label in (("public_service_mutual", "could be reserved to a public service mutual"),
                           ("supported_business", "could be reserved to a supported business"),
                           ("either", "could be reserved (either)"),
                           ("either_wales", "of them in Wales (Section 16)")):
            total = s.reservable[key]
            rows.append((Text(label, style="cyan"), f"{total.count:,}", money(total.value)))
        # The figures keep their width on a narrow terminal (they were cut: "£3,899,250,…"); the labels fold.
        counts = max(len("contracts"), *(len(r[1]) for r in rows if r))
        values = max(len("total value"), *(len(r[2]) for r in rows if r))
        t = Table(title="Review summary", title_justify="left", show_edge=False, pad_edge=False)
        t.add_column("", overflow="fold")
        t.add_column("contracts", justify="right", no_wrap=True, min_width=counts)
        t.add_column("total value", justify="right", no_wrap=True, min_width=values)
        for row in rows:
            if row is None:
                t.add_section()
            else:
                t.add_row(*row)
        console.print(t)
        console.print(Text(section16_line(s), style="bold cyan"))
    for line in nation_lines(s):
        console.print(Text(line, style="yellow"))
    for line in duplicate_lines(s):
        console.print(Text(line, style="yellow"))
    for w in s.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))


class ProgressDisplay:
    """Progress while a review runs: a rich bar (bytes read of the inputs, records, records/s, ETA) on a terminal,
    a plain line every ``every`` seconds elsewhere when ``enabled``, nothing otherwise. No thread: it redraws
    when ``update`` is called, at most ten times a second."""

    def __init__(self, out: TextIO, *, enabled: bool, rich: bool, color: bool | None = None, every: float = 2.0):
        self.out = out
        self.enabled = enabled
        self.rich = rich and enabled
        self.every = every
        self.start = time.monotonic()
        self.last = 0.0
        self.progress: Any = None
        self.task: Any = None
        self.records = 0
        self.reader: Reader | None = None  # the reader of the last update
        self.shown = 0
        if self.rich:
            from rich.console import Console

            console = Console(file=out, force_terminal=True,
                              no_color=True if color is False else None, highlight=False)
            # rich draws no live bar on a dumb terminal (TERM=dumb), nor anything: the plain lines there instead
            self.rich = not console.is_dumb_terminal
        if self.rich:
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            # The terminal's width when the run starts: narrower, the bar and then the words go first, and the
            # share done, records, rate and time left stay (at 40 columns all were cut to slivers).
            wide, middle = console.width >= 80, console.width >= 50
            columns = [TaskProgressColumn(),
                       TextColumn("{task.fields[records]:>10,} records" if middle else "{task.fields[records]:>9,}"),
                       TextColumn("{task.fields[rate]:>8,.0f}/s" if middle else "{task.fields[rate]:>6,.0f}/s"),
                       TextColumn("ETA"), TimeRemainingColumn()]
            if wide:
                columns = [TextColumn("review"), BarColumn(), *columns, TextColumn("elapsed"), TimeElapsedColumn()]
            self.progress = Progress(*columns, console=console, auto_refresh=False, transient=True,
                                     redirect_stdout=False, redirect_stderr=False)
            self.task = self.progress.add_task("review", total=None, records=0, rate=0.0)
            self.progress.start()

    def update(self, records: int, reader: Reader, *, force: bool = False) -> None:
        if not self.enabled:
            return
        self.records, self.reader = records, reader
        now = time.monotonic()
        if not force and now - self.last < (0.1 if self.rich else self.every):
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        rate = records / elapsed
        total = reader.bytes_total
        if self.rich:
            self.progress.update(self.task, total=total or None, completed=min(reader.bytes_read, total or 0),
                                 records=records, rate=rate)
            self.progress.refresh()
            return
        line = f"review: {_plural(records, 'record')}, {rate:,.0f} records/s"
        if total:
            done = min(reader.bytes_read / total, 1.0)
            line += f", {100 * done:.0f}% read"
            if 0 < done < 1:
                line += f", about {elapsed * (1 - done) / done:,.0f} s to go"
        self.out.write(line + "\n")
        self.out.flush()
        self.shown = records

    def finish(self) -> None:
        """The last line, unless it was just shown (plain progress only: the bar goes away)."""
        if self.enabled and not self.rich and self.reader is not None and self.records != self.shown:
            self.update(self.records, self.reader, force=True)
        self.close()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
