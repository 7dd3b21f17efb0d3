"""The text output and the help at unusual widths and on unusual terminals: below 50 columns, TERM=dumb, very wide.
Nothing may be lost, cut short with an ellipsis, or broken where a reader copies it (a web address, a command)."""

from __future__ import annotations

import io
import re
import sys
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


def _commands() -> list[str]:
    import typer

    from s16advisor.cli import app

    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _help(args: list[str], width: int) -> str:
    from typer.testing import CliRunner

    from s16advisor.cli import app

    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def _examples(text: str) -> list[str]:
    """The example commands of a help, each whole: its lines continued with a backslash joined, and the words after
    it (two spaces or more on), or under it, left out."""
    joined = re.sub(r" \\\n\s*", " ", text)
    return [re.split(r" {2,}", line.strip())[0] for line in joined.splitlines()
            if re.match(r" {4,}(s16advisor|cat) ", line)]


@pytest.mark.parametrize("width", [30, 40, 49])
@pytest.mark.parametrize("command", ["", *_commands()])
def test_help_fits_a_terminal_under_50_columns_and_says_all_it_says_at_80(command: str, width: int) -> None:
    """click draws help at least 50 columns wide: at 40 columns 27 lines of `advise --help` (88 of `review --help`)
    were wider than the terminal, which broke them anywhere. Only a word longer than a line may stick out."""
    args = [command] if command else []
    text, wide = _help(args, width), _help(args, 80)
    long = [line for line in text.splitlines() if len(line) > width and max(map(len, line.split())) < width - 6]
    assert not long, long

    def words(t: str) -> list[str]:
        return re.sub(r"-\s+", "-", re.sub(r" \\\n", " ", t)).split()

    assert words(text) == words(wide)


def _help_drawn(command: str, width: int) -> str:
    """The help of ``command`` (the top level for "") as drawn ``width`` columns wide (click draws a terminal of
    60 columns 58 wide), by the formatter its context makes, whatever the test runner forces."""
    import typer

    from s16advisor.cli import app

    group = typer.main.get_command(app)
    parent = group.context_class(group, info_name="s16advisor")
    cmd = group.commands[command] if command else group  # type: ignore[attr-defined]
    ctx = cmd.context_class(cmd, info_name=command, parent=parent, terminal_width=width) if command else \
        group.context_class(group, info_name="s16advisor", terminal_width=width)
    formatter = ctx.make_formatter()
    cmd.format_help(ctx, formatter)
    return formatter.getvalue()  # type: ignore[no-any-return]


@pytest.mark.parametrize("width", [28, 38, 47, 58, 70])
@pytest.mark.parametrize("command", ["", *_commands()])
def test_an_example_command_in_the_help_is_never_cut_in_two(command: str, width: int) -> None:
    """Rewrapped by click, `s16advisor advise draft.yaml --format json > advice.json` became a line ending in `>`
    and a line `advice.json` (on a 60-column terminal `check ... --output` then `s16advisor.sarif`): two broken
    commands to copy. Too wide, a command goes on the next line after a backslash, as a shell reads it."""
    wanted = _examples(_help_drawn(command, 200))
    assert wanted
    shown = _help_drawn(command, width)
    assert _examples(shown) == wanted, shown


@pytest.mark.parametrize("width", [30, 40, 49])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_on_a_narrow_terminal_no_route_status_or_compared_answer_starts_a_line_of_its_own(
        monkeypatch: pytest.MonkeyPatch, example: Path, width: int) -> None:
    """At 40 columns 'competitive_procedure_with_negotiation  available' folded its status to the margin, where it
    read as a heading; in --compare-regimes an answer's second line ('charged at or above light_touch £663,540',
    '(duration_over_limit)') and 'differs' started at the margin, where each read as an aspect of its own."""
    from s16advisor.advisor import advise_file
    from s16advisor.render.compare import comparison_rows
    from s16advisor.render.compare import render as compare

    advice = advise_file(str(example))
    lines = _advise_text(monkeypatch, example, width).splitlines()
    routes = lines[lines.index("Routes") + 1:lines.index("References")]
    assert all(line.startswith("  ") for line in routes), [x for x in routes if not x.startswith("  ")]
    heads, i = [], 0  # each route's lines at the margin of the routes (its id, folded if it must be), the next
    while i < len(routes):
        j = i
        while j < len(routes) and re.match(r"  \S", routes[j]):
            j += 1
        if j > i:
            heads.append(("".join(x.strip() if " " not in x.strip() else x for x in routes[i:j]).split(),
                          routes[j].strip() if j < len(routes) else ""))
        i = max(j, i + 1)
    assert [h[0][0] for h in heads] == [r.id for r in advice.routes], heads
    for (words, after), r in zip(heads, advice.routes, strict=True):  # its status beside its id, or under it
        assert words[1:] == [r.status] or (words[1:] == [] and after == r.status), (words, after)

    out = Terminal()
    compare([advice, advice.model_copy(update={"recommended": []})], "text", out, False)
    lines = out.getvalue().splitlines()
    rows = comparison_rows([advice, advice])
    start = next(i for i, line in enumerate(lines) if line.startswith("applies on"))
    runs, run = [], []  # the lines at the margin, a run of them (an aspect wrapped) joined
    for line in [*lines[start:-1], "  "]:
        if line.startswith(" "):
            if run:  # (words wrapped, or an id folded)
                aspect = " ".join(run).removesuffix("  differs")
                runs.append(aspect if aspect in {r["aspect"] for r in rows} else "".join(run))
            run = []
        else:
            run.append(line)
    assert set(runs) <= {r["aspect"] for r in rows}, set(runs) - {r["aspect"] for r in rows}


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("width", [30, 40, 49, 80])
@pytest.mark.parametrize("args", [("explain", "pcr2015.scope.regime"), ("rules", "--regime", "pa2023"),
                                  ("thresholds", "--on", "2024-09-02"), ("thresholds", "--on", "2026-06-01"),
                                  ("explain", "pa2023.findings.community_benefits")],
                         ids=["explain", "rules", "thresholds", "thresholds-2026", "explain-address"])
def test_explain_rules_and_thresholds_fit_a_terminal_under_50_columns(args: tuple[str, ...], width: int) -> None:
    """At 40 columns a threshold's figures (76 characters), the date and regime above them, explain's first line
    and rules' title beside its dates (at least 48 characters wide whatever the terminal) were wider than the
    terminal, which broke them anywhere. Only a word longer than a line (a rule id, a web address) sticks out, on a
    line of its own from the first column (at 80 columns a 77-character address, indented, was broken by the
    terminal in thresholds and after explain's 'reference:')."""
    from tests.test_cli import _on_a_terminal, done, run

    code, out = _on_a_terminal(*args, env={"COLUMNS": str(width)})
    assert code == 0, out[-2000:]
    lines = out.replace("\r", "").splitlines()
    assert not [x for x in lines if len(x) > width and (" " in x.strip() or x != x.lstrip())]
    assert " ".join(done(run(*args)).split()) == " ".join(" ".join(lines).split())  # every word, in order
