"""The command line: parse options, make one library call, turn library errors into exit codes, render.

Exit codes (../shared/spec/advice.md): 0 done, 1 a checked draft fails, 2 usage error, 3 invalid input
(a description, rule or data file could not be read or validated).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated, NoReturn

import typer

from . import __version__
from .errors import InputError, S16Error

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 3

app = typer.Typer(
    name="s16advisor",
    help=(
        "Which UK public procurement routes are lawful for a planned contract, which to use, and why - "
        "with the routes that let Welsh councils buy from social enterprises, co-operatives, mutuals and "
        "supported businesses (Section 16, Social Services and Well-being (Wales) Act 2014).\n\n"
        "Describe the contract in YAML (see the README's input format) and run:  s16advisor advise draft.yaml"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _fail(lines: list[str], code: int = EXIT_INVALID) -> NoReturn:
    for line in lines:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"s16advisor {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    pass


def _color(no_color: bool) -> bool | None:
    return False if no_color else None


@app.command()
def advise(
    file: Annotated[str, typer.Argument(help="Contract description (YAML or JSON), or - for standard input.",
                                        metavar="FILE")],
    format: Annotated[str, typer.Option("--format", "-f", help="text (for a terminal), json (Advice v1) or "
                                        "markdown (for a report).", metavar="FORMAT")] = "text",
    explain: Annotated[bool, typer.Option("--explain", help="Also show the rule trace: every rule evaluated, "
                                          "in order, whether it fired and what it asserted.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour in text output (NO_COLOR works too).")]
    = False,
) -> None:
    """Advise on one planned contract: the regime, the thresholds in force on its commencement date, every
    route with its status and blockers, the recommended plan, what to do next and the findings.

    Examples:

      s16advisor advise draft.yaml

      s16advisor advise draft.yaml --explain

      s16advisor advise draft.yaml --format json > advice.json

      cat draft.json | s16advisor advise - --format markdown
    """
    from .advisor import advise_file
    from .render import AdviceFormat, render_advice

    fmt = _choice(format, AdviceFormat, "--format")
    try:
        advice = advise_file(file)
    except InputError as e:
        _fail(e.lines())
    except S16Error as e:
        _fail(str(e).splitlines())
    render_advice(advice, fmt, sys.stdout, explain=explain, color=_color(no_color))


@app.command()
def explain(
    rule: Annotated[str, typer.Argument(help="A rule id (as shown by `s16advisor rules` or in a trace).")],
) -> None:
    """Print a rule's documentation: what it decides, why, its legal references, dates and source."""
    from .rulebook import default_rulebook

    book = _rulebook_or_fail(default_rulebook)
    for rules in book.rules.values():
        for r, where in rules:
            if r.id == rule:
                typer.echo(f"{r.id}: {r.title}")
                typer.echo(f"  decides:    {r.decides}")
                typer.echo(f"  why:        {' '.join(r.why.split())}")
                typer.echo(f"  in force:   {r.in_force.from_.isoformat()} to "
                           f"{r.in_force.to.isoformat() if r.in_force.to else 'now'}")
                for ref in r.references:
                    typer.echo(f"  reference:  {ref}")
                if r.limits:
                    typer.echo(f"  limits:     {r.limits}")
                if r.verify:
                    typer.echo(f"  verify:     {r.verify}")
                typer.echo(f"  source:     {where}")
                return
    ids = [r.id for rules in book.rules.values() for r, _ in rules]
    close = [i for i in ids if rule.split(".")[-1] in i][:5]
    hint = f" (did you mean {', '.join(close)}?)" if close else " (see `s16advisor rules`)"
    _fail([f"no rule {rule!r}{hint}"], EXIT_USAGE)


@app.command("rules")
def list_rules(
    regime: Annotated[str | None, typer.Option(help="Only this regime (pcr2015, pa2023).")] = None,
) -> None:
    """List every rule of the rulebook with its title and dates in force."""
    from .rulebook import default_rulebook

    book = _rulebook_or_fail(default_rulebook)
    for rid, rules in book.rules.items():
        if regime and rid != regime:
            continue
        for r, _ in rules:
            to = r.in_force.to.isoformat() if r.in_force.to else "now"
            typer.echo(f"{r.id:58} {r.in_force.from_.isoformat()}..{to:10}  {r.title}")


@app.command()
def thresholds(
    on: Annotated[str, typer.Option("--on", help="Date (YYYY-MM-DD); default today.", metavar="DATE")] = "",
) -> None:
    """Show the thresholds in force on a date, with their VAT basis and legal reference."""
    from .data import load_data
    from .rulebook import default_rulebook

    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        _fail([f"--on: {on!r} is not a date written YYYY-MM-DD"], EXIT_USAGE)
    book = _rulebook_or_fail(default_rulebook)
    regime = book.regime_for(day)
    if regime is None:
        _fail([f"--on: no regime covers {day.isoformat()} (the rulebook starts on 2015-02-26)"])
    data = _rulebook_or_fail(load_data)
    typer.echo(f"{day.isoformat()}: {regime.title}")
    for th in data.thresholds_in_force(regime.id, day, regime.in_force.to).values():
        vat = "inclusive of VAT" if th.vat == "inclusive" else "net of VAT"
        typer.echo(f"  {th.name:30} £{th.amount:>12,.0f} {vat:17} from {th.in_force_from.isoformat()}  "
                   f"{th.reference}")


def _rulebook_or_fail(load):  # type: ignore[no-untyped-def]
    try:
        return load()
    except S16Error as e:
        _fail(str(e).splitlines())


def _choice(value: str, enum: type, option: str):  # type: ignore[no-untyped-def]
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        typer.echo(f"Usage: s16advisor [OPTIONS] COMMAND [ARGS]...\nError: {option}: {value!r} is not one of "
                   f"{allowed}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)



