"""The text output and the help at unusual widths and on unusual terminals: below 50 columns, TERM=dumb, very wide.
Nothing may be lost, cut short with an ellipsis, or broken where a reader copies it (a web address, a command)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _advise_text(monkeypatch: pytest.MonkeyPatch, example: Path, width: int, *, explain: bool = False,
                 term: str = "xterm-256color", color: bool | None = False) -> str:
    from s16advisor.advisor import advise_file
    from s16advisor.render.text import render

    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("TERM", term)
    out = Terminal()
    render(advise_file(str(example)), out, explain, color)
    return out.getvalue()


@pytest.mark.parametrize("width", [30, 40, 60, 200])
def test_a_dumb_terminal_gets_its_own_width(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """Given a width alone, rich takes a dumb terminal (TERM=dumb) to be 80 columns wide: at 40 columns 93 lines
    of the advice were wider than the terminal, which broke them anywhere; at 200 it was drawn for 80."""
    text = _advise_text(monkeypatch, EXAMPLES[0], width, term="dumb", color=None)
    lines = [line for line in text.splitlines() if "://" not in line]  # (a web address is never cut: see below)
    widest = max(len(line) for line in lines)
    assert widest <= width and (widest > 120 or width < 120)  # (a wide terminal's width used too)


def test_the_review_summary_on_a_dumb_terminal_gets_its_width_and_its_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """On standard error at TERM=dumb the summary was drawn 80 wide (21 of 24 lines wider than a 40-column terminal),
    and --progress showed nothing at all: rich draws no live bar there. The plain progress lines are shown instead."""
    from s16advisor.render.review import ProgressDisplay, render_summary
    from s16advisor.review import Review, read_records

    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("TERM", "dumb")
    reader = read_records([str(ROOT / "tests" / "review" / "release-package.json")])
    out = Terminal()
    display = ProgressDisplay(out, enabled=True, rich=True, every=0)
    review = Review(reader)
    for n, _ in enumerate(review, 1):
        display.update(n, reader, force=True)
    display.finish()
    render_summary(review.summary, out, color=None, rich=True)
    text = out.getvalue()
    assert "\x1b" not in text and re.search(r"^review: \d+ records?, ", text, re.M), text
    summary = text[text.index("Review summary"):]  # (the plain progress lines are not wrapped: one line each)
    assert max(len(line) for line in summary.splitlines()) <= 40, summary


@pytest.mark.parametrize("width", [30, 40, 49, 60, 80])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_reference_is_a_whole_web_address_on_a_line_of_its_own(monkeypatch: pytest.MonkeyPatch, example: Path,
                                                                    width: int) -> None:
    """At 40 columns the references were folded with a line end and an indent inserted in them
    ('https://www.legislation.gov.uk/uksi/20' then '15/102/regulation/74'): copied, each was two broken addresses."""
    from s16advisor.advisor import advise_file
    from s16advisor.render.common import references

    text = _advise_text(monkeypatch, example, width)
    lines = text.splitlines()
    shown = lines[lines.index("References") + 1:]
    refs = references(advise_file(str(example)))
    assert refs and [line.strip() for line in shown[:len(refs)]] == refs
    assert all(len(line) <= width for line in shown[:len(refs)] if line.startswith("  "))  # indented when it fits
