"""The command line: parse options, make one library call, turn library errors into exit codes, render.

Exit codes (../shared/spec/advice.md): 0 done, 1 a checked draft fails, 2 usage error, 3 invalid input
(a description, rule or data file could not be read or validated).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Annotated, Any, NoReturn

import typer
import typer.core

from . import __version__
from .errors import InputError, S16Error, not_a_text_encoding

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 3

_ClickContext: Any = typer.core.TyperCommand.context_class  # (click's, vendored by typer or not)


class _HelpFormatter(_ClickContext.formatter_class):  # type: ignore[misc]
    """click's help formatter, for terminals under 52 columns too, where click draws every help 50 columns wide (the
    terminal then broke each line anywhere). Its words are wrapped between words only: click cut a word longer than
    a line ("(decla" "red_route_unavailable,") and broke words at their hyphens ("co-" "operatives"). An option's
    or a command's words go under it when the column beside it is too narrow for them, and an example command (an
    indented paragraph of one line, or a line of a ``\\b`` block, whose words after two spaces or more say what it
    does) too wide for its line is continued on the next after a backslash, as a shell reads it, its words under it:
    click rewrapped it into two commands (``... --format json >`` then ``advice.json``)."""

    MIN_BESIDE = 20  # the narrowest the words beside an option or a command may be

    def __init__(self, indent_increment: int = 2, width: int | None = None, max_width: int | None = None) -> None:
        super().__init__(indent_increment, width, max_width)
        if width is None:
            import shutil

            columns = shutil.get_terminal_size().columns
            if columns < 52:  # (from 52 columns click's own width, columns - 2, holds)
                self.width = max(columns - 2, 20)

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first = min(max((len(term) for term, _ in rows), default=0), col_max) + col_spacing
        beside = self.width - self.current_indent - first
        for term, words in rows:
            margin = " " * self.current_indent
            if beside >= self.MIN_BESIDE:  # as click lays it out: the words beside the term, or beside under it
                lines = _wrapped_words(words, beside)
                if len(term) <= first - col_spacing:
                    self.write(f"{margin}{term:{first}}{lines[0] if lines else ''}".rstrip() + "\n")
                    lines = lines[1:]
                else:
                    self.write(f"{margin}{term}\n")
                under = " " * (self.current_indent + first)
            else:  # each term on its line, its words under it
                self.write(f"{margin}{term}\n")
                under = " " * (self.current_indent + 4)
                lines = _wrapped_words(words, self.width - len(under))
            for line in lines:
                self.write(f"{under}{line}\n")

    def write_text(self, text: str) -> None:
        import re

        room = self.width + 2 - self.current_indent  # (a command to the terminal's edge: click's 80-column help did)
        out: list[str] = []
        for paragraph in re.split(r"\n\s*\n", text.expandtabs().strip("\n")):
            lines = paragraph.split("\n")
            indent = len(lines[0]) - len(lines[0].lstrip())
            if lines[0].strip() != "\b" and not (len(lines) == 1 and indent):  # prose
                margin = " " * (self.current_indent + indent)
                out += ["\n".join(_wrapped_words(" ".join(lines), self.width - len(margin), margin)), ""]
                continue
            for line in lines[1:] if lines[0].strip() == "\b" else lines:
                if len(line) <= room:
                    out.append(" " * self.current_indent + line)
                    continue
                margin = " " * (self.current_indent + len(line) - len(line.lstrip()))
                said = re.fullmatch(r"(\S.*?\S) {2,}(\S.*)", line.strip())  # a command, then what it does
                command, words = said.groups() if said else (line.strip(), "")
                out += [margin + x for x in _continued(command, room + self.current_indent - len(margin))]
                out += _wrapped_words(words, room + self.current_indent - len(margin) - 4, margin + "    ")
            out.append("")
        self.write("\n".join(out[:-1]) + "\n")


def _continued(command: str, width: int) -> list[str]:
    """A shell command in lines of at most ``width``: each but the last ends with `` \\``, the others indented."""
    import textwrap

    lines = textwrap.wrap(command, max(width - 2, 10), subsequent_indent="  ", break_long_words=False,
                          break_on_hyphens=False)
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def _wrapped_words(words: str, width: int, indent: str = "", first: str | None = None) -> list[str]:
    """``words`` in lines of at most ``width`` after ``indent`` (the first line after ``first``, when given), broken
    between words only: none is cut, nor broken at its hyphens."""
    import textwrap

    first = indent if first is None else first
    return textwrap.wrap(words, max(width, 10) + len(indent), initial_indent=first, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


class _Context(_ClickContext):  # type: ignore[misc]
    formatter_class = _HelpFormatter


class _Group(typer.core.TyperGroup):
    context_class = _Context


app = typer.Typer(
    name="s16advisor",
    cls=_Group,
    help=(
        "Which UK public procurement routes are lawful for a planned contract, which to use, and why - "
        "with the routes that let Welsh councils buy from social enterprises, co-operatives, mutuals and "
        "supported businesses (Section 16, Social Services and Well-being (Wales) Act 2014).\n\n"
        "Describe the contract in YAML (see the README's input format), then:\n\n"
        "\b\n"  # (click: this paragraph as written, not rewrapped)
        "  s16advisor advise draft.yaml            the regime, the plan and next steps\n"
        "  s16advisor advise draft.yaml -f markdown > advice.md\n"
        "  s16advisor check drafts/                the CI gate for tender drafts\n"
        "  s16advisor thresholds --on 2026-03-01   the thresholds in force on a day\n\n"
        "Each command's --help has its options and examples: s16advisor advise --help"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


class _Command(typer.core.TyperCommand):
    """A command whose help fits the terminal (``_HelpFormatter``) and whose arguments read as their metavar, as in
    the usage lines of this module's own errors: ``advise [OPTIONS] FILE`` and ``FILE  Contract description ...``
    (typer 0.2x shows ``{FILE}`` and ``FILE <str>``, ``{PATH...}...`` and ``PATH... <list[str]>``). Parsing is
    typer's, unchanged."""

    context_class = _Context

    @staticmethod
    def _shown(param: Any) -> str:
        if param.metavar:  # as written (PATH... says it takes several)
            return str(param.metavar)
        return (param.name or "").upper() + ("..." if param.nargs != 1 else "")

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                shown = self._shown(param)
                pieces.append(shown if param.required else f"[{shown}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)  # type: ignore[no-any-return]
        except Exception as e:  # click's UsageError (typer's own copy of click in typer 0.2x)
            said = getattr(e, "message", None)  # (several drafts given to advise: say which commands take several)
            if self.name == "advise" and isinstance(said, str) and said.startswith("Got unexpected extra argument"):
                e.message = said + ("\nadvise takes one contract description: `s16advisor check FILE...` checks "
                                    "several drafts, `s16advisor review FILE...` advises on many contracts")
            raise

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((self._shown(param), record[1]))
            else:
                opts.append(record)
        for title, records in (("Arguments", args), ("Options", opts)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


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
    # NO_COLOR (https://no-color.org: set and not empty) means plain text; rich alone would keep bold and dim.
    return False if no_color or os.environ.get("NO_COLOR") else None


@app.command(cls=_Command, short_help="Advise on one contract: regime, threshold, lawful routes, plan.")
def advise(
    file: Annotated[str, typer.Argument(help="Contract description (YAML or JSON), or - for standard input.",
                                        metavar="FILE")],
    format: Annotated[str, typer.Option("--format", "-f", help="text (for a terminal), json (Advice v1) or "
                                        "markdown (for a report).", metavar="FORMAT")] = "text",
    explain: Annotated[bool, typer.Option("--explain", help="Also show the rule trace: every rule evaluated, "
                                          "in order, whether it fired and what it asserted.")] = False,
    compare_regimes: Annotated[bool, typer.Option("--compare-regimes", help="Show the contract under PCR 2015 and "
                                                  "the Procurement Act 2023 side by side, differences "
                                                  "highlighted; the regime not in force is evaluated on the "
                                                  "nearest day it was.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour in text output (NO_COLOR works too).")]
    = False,
) -> None:
    """Advise on one planned contract: the regime and whether the value is above its threshold, the recommended
    plan, what to do next and the findings; then the thresholds in force on the commencement date and every route
    with its status and blockers.

    Exit codes: 0 advice given (whatever it says: `s16advisor check` fails a draft), 2 usage error, 3 the file
    could not be read or validated.

    Examples:

      s16advisor advise draft.yaml

      s16advisor advise draft.yaml --explain

      s16advisor advise draft.yaml --format json > advice.json

      s16advisor advise draft.yaml --compare-regimes

      cat draft.json | s16advisor advise - --format markdown
    """
    from .advisor import advise_read, compare_read
    from .render import AdviceFormat, render_advice

    fmt = _choice(format, AdviceFormat, "--format", "s16advisor advise [OPTIONS] FILE")
    if explain and compare_regimes:
        _fail(["--explain and --compare-regimes cannot be used together: --explain shows the rule trace of the "
               "regime in force (for the other's, use --format json --compare-regimes, which holds both traces)"],
              EXIT_USAGE)
    result: Any = None
    contract: Any = None
    try:
        if compare_regimes:
            result, contract = compare_read(file)
        else:
            result, contract = advise_read(file)
    except InputError as e:
        _fail(e.lines())
    except S16Error as e:
        _fail(str(e).splitlines())
    if compare_regimes:
        from .render.compare import render as render_comparison

        render_comparison(result, fmt.value, sys.stdout, _color(no_color), contract=contract)  # type: ignore[arg-type]
    else:
        render_advice(result, fmt, sys.stdout, explain=explain, color=_color(no_color),  # type: ignore[arg-type]
                      contract=contract)


@app.command(cls=_Command, short_help="CI gate: fail a draft whose route or reservation is not allowed.")
def check(
    paths: Annotated[list[str], typer.Argument(help="Draft files, directories (every *.yaml, *.yml and *.json "
                                               "below them, hidden ones skipped) or glob patterns.",
                                               metavar="PATH...")],
    format: Annotated[str, typer.Option("--format", "-f", help="auto (github under GitHub Actions, else text), "
                                        "text, json, junit, sarif or github.", metavar="FORMAT")] = "auto",
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the report to this file (the "
                                               "one-line summary still goes to stderr).", metavar="FILE")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too, not only on errors.")] = False,
) -> None:
    """Check tender drafts in CI: fail when a draft declares a route or a reservation the law does not allow.

    Each draft is a contract description whose `route` and `reservation` are what it declares. A draft fails
    on an error finding (declared_route_unavailable, reservation_unavailable, ...) that no current waiver in
    its `waivers:` covers; with --strict on warnings too. Unreadable drafts are reported and the others still
    checked.

    Exit codes: 0 every draft passes, 1 a draft fails, 2 usage error, 3 a draft could not be read or validated.

    Examples:

      s16advisor check drafts/

      s16advisor check 'drafts/**/*.yaml' --strict

      s16advisor check drafts/ --format sarif --output s16advisor.sarif

      s16advisor check drafts/ --format junit -o report.xml
    """
    import io

    from .check import NoDrafts, check_paths
    from .render.check_formats import CheckFormat, render_check

    fmt = _choice(format, CheckFormat, "--format", "s16advisor check [OPTIONS] PATH...")
    try:
        report = check_paths(paths, strict=strict)
    except NoDrafts as e:
        _fail([str(e)], EXIT_USAGE)
    except S16Error as e:
        _fail(str(e).splitlines())
    if output and not _names_stdout(output):
        from .atomic import replaced_input

        replaced = replaced_input(output, [r.path for r in report.results])
        if replaced:
            what = "the draft read from standard input" if replaced in ("-", "<stdin>") else "one of the drafts"
            _fail([f"--output: {output} is {what}: the report would replace it (write it to another file)"],
                  EXIT_USAGE)
        buffer = io.StringIO()
        render_check(report, fmt, buffer)
        _write_atomically(output, buffer.getvalue())
    else:
        render_check(report, fmt, sys.stdout)
    typer.echo(report.summary(), err=True)
    raise typer.Exit(report.exit_code)


@app.command(cls=_Command, short_help="Review many contracts (CSV, JSON Lines, YAML, OCDS) in one run.")
def review(
    inputs: Annotated[list[str], typer.Argument(help="Files to review (CSV, JSON Lines, YAML, JSON or OCDS), or - "
                                                "for standard input.", metavar="INPUT...")],
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the results to this file (written "
                                               "atomically); default: standard output.", metavar="FILE")] = None,
    format: Annotated[str | None, typer.Option("--format", "-f", help="jsonl, csv or json; default: from the "
                                               "output file's extension, else jsonl.", metavar="FORMAT")] = None,
    input_format: Annotated[str, typer.Option("--input-format", help="auto (by extension; standard input by its "
                                              "first line), csv, jsonl, yaml or json (a document, OCDS packages "
                                              "too).", metavar="FORMAT")] = "auto",
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: the machine's "
                                             "cores; at most 256).", metavar="N")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="none, error (exit 1 when an advice has an error "
                                         "finding) or warning (an error or a warning finding).",
                                         metavar="SEVERITY")] = "none",
    trace: Annotated[bool, typer.Option("--trace", help="Keep each advice's rule trace (most of its size).")]
    = False,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Show progress on standard "
                                                  "error (default: on a terminal only).")] = None,
    ignore_unknown_columns: Annotated[bool, typer.Option("--ignore-unknown-columns", help="CSV: ignore columns "
                                                         "that are not fields (warned about) instead of making "
                                                         "every row an error.")] = False,
    encoding: Annotated[str, typer.Option("--encoding", metavar="NAME",
                                          help="Text encoding of the inputs (utf-8, cp1252, utf-16, ...). A file that "
                                               "begins with a byte order mark is read as the mark says.")] = "utf-8",
    ocds_vat: Annotated[str, typer.Option("--ocds-vat", help="OCDS values are exclusive (default: notices state "
                                          "values excluding VAT) or inclusive of VAT; a value that also gives "
                                          "its amountGross is exclusive.", metavar="BASIS")]
    = "exclusive",
    ocds_vat_rate: Annotated[float, typer.Option("--ocds-vat-rate", help="VAT rate for OCDS values (0 for "
                                                 "VAT-exempt services); a notice's amountGross wins.",
                                                 metavar="RATE")] = 0.2,
    ocds_authority_type: Annotated[str, typer.Option("--ocds-authority-type", help="sub_central or "
                                                     "central_government, for OCDS buyers whose notice does not "
                                                     "classify them (UK_CA_TYPE, TED_CA_TYPE).", metavar="TYPE")]
    = "sub_central",
    ocds_nation: Annotated[str, typer.Option("--ocds-nation", help="wales, england or northern_ireland, for OCDS "
                                             "buyers whose address does not say.", metavar="NATION")] = "wales",
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour on standard error.")] = False,
) -> None:
    """Review a pipeline of planned contracts: one result per record (its source, id, and Advice v1 or error),
    in input order, and a summary on standard error (regimes, recommended routes with values, declared routes
    that are unavailable, and the contracts that could be reserved under Section 16 but are not).

    Inputs: CSV (one contract per row, a header naming the columns), JSON Lines, YAML (a list or a stream of
    documents), JSON, and OCDS 1.1 (release and record packages, releases) from Find a Tender and Contracts
    Finder.

    Exit codes: 0 every record advised, 1 an advice has an error finding (with --fail-on error; or a warning,
    with --fail-on warning), 2 usage error, 3 a record could not be read, or an input could not be opened or
    read to its end (after every result is written), 130 interrupted (the output file is left as it was).

    Examples:

      s16advisor review pipeline.csv -o advice.jsonl

      s16advisor review notices.json --ocds-vat-rate 0 -o review.csv --jobs 2

      s16advisor review pipeline.csv --fail-on error > /dev/null
    """
    import signal

    from .atomic import output_is_stream
    from .contract import AuthorityType, Nation
    from .ocds import VAT_BASES, OcdsOptions
    from .render.review import ProgressDisplay, render_summary
    from .review import (
        INPUT_FORMATS,
        MAX_JOBS,
        OUTPUT_FORMATS,
        InterruptedAfterWriting,
        OutputError,
        ReadOptions,
        ReviewOptions,
        default_jobs,
        output_format,
        review_to_file,
        unnamed_output_format,
    )

    def usage(message: str) -> NoReturn:
        _usage(message, "s16advisor review [OPTIONS] INPUT...")

    choices = {"--input-format": (input_format, INPUT_FORMATS), "--fail-on": (fail_on, ("none", "error", "warning")),
               "--ocds-vat": (ocds_vat, VAT_BASES),
               "--ocds-authority-type": (ocds_authority_type, tuple(t.value for t in AuthorityType)),
               "--ocds-nation": (ocds_nation, tuple(n.value for n in Nation))}
    if format is not None:
        choices["--format"] = (format, OUTPUT_FORMATS)
    for option, (value, allowed) in choices.items():
        if value not in allowed:
            usage(f"{option}: {value!r} is not one of {', '.join(allowed)}")
    if jobs is not None and jobs < 1:
        usage(f"--jobs: {jobs} is not a number of processes (1 or more)")
    if jobs is not None and jobs > MAX_JOBS:
        usage(f"--jobs: {jobs} is more worker processes than a review starts (at most {MAX_JOBS}; the machine has "
              f"{default_jobs()} cores)")
    if not 0 <= ocds_vat_rate <= 1:
        usage(f"--ocds-vat-rate: {ocds_vat_rate} is not a rate between 0 and 1")
    problem = not_a_text_encoding(encoding)
    if problem:
        usage(f"--encoding: {problem}")
    fmt = output_format(output, format)
    suffix = unnamed_output_format(output, format)
    if suffix:  # (-o review.xlsx: JSON Lines a spreadsheet refuses to open, without a word)
        typer.echo(f"warning: --output {output}: {suffix} names no format s16advisor writes: writing JSON Lines "
                   "(use .csv for a spreadsheet, or --format)", err=True)
    options = ReviewOptions(
        read=ReadOptions(input_format, encoding, ignore_unknown_columns),
        ocds=OcdsOptions(ocds_vat, ocds_vat_rate, ocds_authority_type, ocds_nation),  # type: ignore[arg-type]
        jobs=jobs or default_jobs(), trace=trace)
    color = _color(no_color)
    if output is not None and _names_stdout(output):
        output = None  # (so that a pipe whose reader goes is met as on standard output: see _Output)
    to_file = output not in (None, "-") and not output_is_stream(output)
    err_tty = sys.stderr.isatty()
    results_on_screen = not to_file and sys.stdout.isatty()
    show = progress if progress is not None else err_tty and not results_on_screen
    # (a bar redrawn among results on the same screen would be glued to them: asked for there, a line every 2 s)
    display = ProgressDisplay(sys.stderr, enabled=bool(show), rich=err_tty and not results_on_screen, color=color)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        summary = review_to_file(inputs, output, fmt, options, progress=display.update)
    except OutputError as e:
        display.close()
        _fail([f"--output: {e}"], EXIT_USAGE)
    except S16Error as e:  # the rulebook or the data do not load
        display.close()
        _fail(str(e).splitlines())
    except KeyboardInterrupt as e:
        if _RUN_AS_COMMAND:  # (a second Ctrl-C or SIGTERM now would take the exit path _exit_now avoids)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        display.close()
        kept = f": {output} was left as it was" if to_file else ""
        if isinstance(e, InterruptedAfterWriting):
            kept = (f" after every result was written{f' to {output}' if to_file else ''}: the summary was not "
                    "made")
        typer.echo(f"interrupted{kept}", err=True)
        _exit_now(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
    display.finish()
    render_summary(summary, sys.stderr, color=color, rich=err_tty)
    raise typer.Exit(summary.exit_code(fail_on))


def _exit_now(code: int) -> NoReturn:
    """End an interrupted review at once, its output and temporary files seen to: a worker terminated while it
    wrote a result leaves half a message in the pool's results pipe, and Python, at exit, joins the pool's
    thread that waits for the rest (the run hung there in 6 of 30 interrupted runs on a loaded machine)."""
    if not _RUN_AS_COMMAND:  # (the app called in a process that goes on: a test's CliRunner)
        raise typer.Exit(code)
    from .review import remove_private_dirs

    with contextlib.suppress(Exception):
        remove_private_dirs()  # (the finalizers that would have at exit: the duplicate ids' folder)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


_RUN_AS_COMMAND: list[bool] = []  # set by main(): the process is the command, and ends with it


def _terminated(signum: int, frame: object) -> NoReturn:
    """SIGTERM: stop like Ctrl-C, so that a review removes its temporary output and stops its workers."""
    raise KeyboardInterrupt


def _names_stdout(path: str) -> bool:
    """Whether ``--output`` names standard output: ``-``, ``/dev/stdout`` and its other names."""
    from .atomic import open_descriptor

    return path == "-" or open_descriptor(path) == 1


def _write_atomically(path: str, text: str) -> None:
    from .atomic import atomic_output

    try:
        with atomic_output(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        _fail([f"--output: cannot write {path}: {e.strerror or e}"], EXIT_USAGE)


@app.command(cls=_Command, short_help="Show a rule's documentation: what it decides, why, references.")
def explain(
    rule: Annotated[str, typer.Argument(help="A rule id (as shown by `s16advisor rules` or in a trace).",
                                        metavar="RULE")],
) -> None:
    """Print a rule's documentation: what it decides, why, its legal references, dates in force, its limits (what
    it does not decide), any `verify` note (a fact not verified against legislation) and where it is written.

    Every rule id is listed by `s16advisor rules`, and each entry of `advise --explain` names one. Given a finding
    or blocker code instead (duration_over_limit), it names the rules that give it.

    Example:

      s16advisor explain pcr2015.reservations.reg77_duration
    """
    book = _rulebook_or_fail(_compiled_rulebook)
    every = [(r, where) for rules in book.rules.values() for r, where in rules]
    given, rule = rule, rule.strip().rstrip(".").lower()  # (as typed or pasted: PCR2015.Scope.Regime, a space)
    if not rule:
        _fail([f"no rule {given!r}: give a rule id (see `s16advisor rules`)"], EXIT_USAGE)
    for r, where in every:
        if r.id.lower() == rule:
            fields = [("decides", _line(r.decides)), ("why", _line(r.why)),
                      ("in force", f"{r.in_force.from_.isoformat()} to "
                                   f"{r.in_force.to.isoformat() if r.in_force.to else 'now'}"),
                      *(("reference", ref) for ref in r.references),
                      *([("limits", _line(r.limits))] if r.limits else []),
                      *([("verify", _line(r.verify))] if r.verify else []),
                      ("source", str(where))]
            narrow = len(r.id) + 20 > _columns()  # (a terminal too narrow for the title beside the id: under it)
            for line in ([f"{r.id}:"] if narrow else []) + _wrapped(_line(r.title), "  ", first="  " if narrow
                                                                     else f"{r.id}: "):
                typer.echo(line)
            for label, text in fields:  # wrapped under the text, not under the label, on a terminal
                for line in _wrapped(text, " " * 14, first=f"  {label + ':':12}"):
                    typer.echo(line)
            return
    import difflib

    code = rule.rsplit(".", 1)[-1]  # a finding or blocker code given (or a rule id made of one)
    raising = [r.id for r, _ in every if code in {x.code for x in (*r.then.block, *r.then.finding)}]
    ids = [r.id for r, _ in every]
    close = raising or [i for i in ids if i.startswith(rule + ".")]  # a regime, or a regime and a file
    parent = rule.rsplit(".", 1)[0]  # (a rule id and more: pcr2015.scope.regime.x)
    close = close or ([parent] if parent in ids else []) or [i for i in ids if rule.split(".")[-1] in i] \
        or difflib.get_close_matches(rule, ids, n=5)
    nearest = difflib.get_close_matches(rule, ids, n=1, cutoff=0.9)  # a letter or two off: that rule first
    if nearest and not raising:
        close = [*nearest, *(i for i in close if i != nearest[0])]
    shown = ", ".join(close[:5]) + (f" and {len(close) - 5} more" if len(close) > 5 else "")
    hint = (f" ({code} is a code: the rules that give it are {shown})" if raising else
            f" ({code} is a finding code that `check` gives, not a rule's: see the README)" if code == "waiver_expired"
            else
            f" (did you mean {shown}?)" if close else " (see `s16advisor rules`)")
    _fail([f"no rule {given!r}{hint}"], EXIT_USAGE)


@app.command("rules", cls=_Command, short_help="List every rule id with its dates in force and title.")
def list_rules(
    regime: Annotated[str | None, typer.Option(help="Only this regime (pcr2015, pa2023).", metavar="REGIME")] = None,
) -> None:
    """List every rule of the rulebook: its id, the dates it is in force and its title. `s16advisor explain RULE`
    prints a rule's documentation.

    Examples:

      s16advisor rules --regime pa2023

      s16advisor rules | grep reservations
    """
    book = _rulebook_or_fail(_compiled_rulebook)
    known = [r.id for r in book.regimes]
    if regime is not None and regime not in known:  # ("" too: a script's empty variable lists no regime)
        _fail([f"--regime: {regime!r} is not one of {', '.join(known)}"], EXIT_USAGE)
    shown = [r for rid, rules in book.rules.items() if regime is None or rid == regime for r, _ in rules]
    width = max((len(r.id) for r in shown), default=0)  # (a fixed 58 left the longest ids out of line)
    for r in shown:
        to = r.in_force.to.isoformat() if r.in_force.to else "now"
        dates = f"{r.in_force.from_.isoformat()}..{to:10}  "
        lines = _wrapped(_line(r.title), "    ", first=f"{r.id:{width}} {dates}")
        if len(lines) > 1:  # too wide for the terminal: the dates and title under the id, not folded beside it
            lines = [r.id, *_wrapped(_line(r.title), " " * 28, first=f"    {dates}")] if _columns() > 28 + 20 \
                else [r.id, f"    {dates.rstrip()}", *_wrapped(_line(r.title), "    ")]  # (narrower: one under another)
        for line in lines:
            typer.echo(line)


@app.command(cls=_Command, short_help="Show the thresholds in force on a date (default today).")
def thresholds(
    on: Annotated[str | None, typer.Option("--on", help="The commencement date (YYYY-MM-DD): it picks the regime "
                                           "and the thresholds; default today.", metavar="DATE")] = None,
) -> None:
    """Show the thresholds in force on a date, the procurement's commencement date (which picks the regime), with
    their amounts, VAT basis and legal reference.

    Examples:

      s16advisor thresholds

      s16advisor thresholds --on 2026-03-01

      s16advisor thresholds --on 2024-09-02
    """
    from .contract import _strict_date
    from .data import load_data
    from .facts import newer_figures_note, uk_today
    from .rulebook import default_rulebook

    try:
        day = _strict_date(on) if on is not None else uk_today()  # ("" is no date, not today)
    except ValueError as e:  # the words of a date in a contract description: not written so, or does not exist
        _fail([f"--on: {on!r}: {e}".replace(f": {on} is not", " is not")], EXIT_USAGE)
    book = _rulebook_or_fail(default_rulebook)
    regime = book.regime_for(day)
    if regime is None:
        _fail([f"--on: no regime covers {day.isoformat()} (the rulebook starts on 2015-02-26)"], EXIT_USAGE)
    data = _rulebook_or_fail(load_data)
    for line in _wrapped(regime.title, "  ", first=f"{day.isoformat()}: "):
        typer.echo(line)
    # One line of figures under the threshold's id (as a trace or `--format json` names it), then what `advise`
    # calls it and its legal reference on lines of their own: on one line they were wider than a terminal.
    in_force = data.thresholds_in_force(regime.id, day, regime.in_force.to).values()
    width = max((len(th.name) for th in in_force), default=0)
    for th in in_force:
        vat = "inclusive of VAT" if th.vat == "inclusive" else "net of VAT"
        amount, since = f"£{th.amount:,.0f}", f"from {th.in_force_from.isoformat()}"
        line = f"  {th.name:{width}}  {amount:>11} {vat:16}  {since}"
        if len(line) > _columns():  # a narrow terminal: the id, then its figures wrapped under it
            line = "\n".join([*_wrapped(th.name, "  "), *_wrapped(f"{amount} {vat} {since}", "    ")])
        typer.echo(line)
        for line in _wrapped(f"{_line(th.title)} - {th.regulation}", "    "):
            typer.echo(line)
        for line in _wrapped(th.reference, "    "):  # (a reference is one web address: data.URL_PATTERN)
            typer.echo(line)
        if th.verify:  # (a figure not verified against legislation says so, as advise's JSON and explain do)
            for line in _wrapped(f"verify: {_line(th.verify)}", "    "):
                typer.echo(line)
    note = newer_figures_note(day, in_force)
    if note:
        for line in _wrapped(note, ""):
            typer.echo(line)


def _columns() -> int:
    """The terminal's width, past which a line is broken anywhere by it; in a file or a pipe, no limit."""
    import shutil

    return shutil.get_terminal_size().columns if sys.stdout.isatty() else sys.maxsize


def _wrapped(text: str, indent: str, first: str | None = None) -> list[str]:
    """``text`` in lines that fit the terminal, each after ``indent`` (the first after ``first``, when given); in a
    file or a pipe, one line (for grep)."""
    first = indent if first is None else first
    columns = _columns()
    if columns == sys.maxsize:
        return [first + text]
    width = columns - 1 - len(indent)  # (a long ``first``: one word after it)
    lines = []
    for line in _wrapped_words(text, width, indent, first) or [first]:
        if len(line) < columns:
            lines.append(line)
            continue
        # a word longer than the line (a web address, a rule id, a path): it starts a line of its own, whole, as in
        # advise's text (indented, the terminal would break it), after what came before it on its line
        head, _, word = line.rpartition(" ")
        lines += [head.rstrip(), word] if head.strip() else [word]
    return lines


def _line(text: str) -> str:
    """A rule's text on one line (a YAML block keeps its line ends; rule files hold no control characters)."""
    return " ".join(text.split())


def _compiled_rulebook() -> Any:
    """The bundled rulebook, checked as ``advise`` checks it (its placeholders, facts and conditions compiled), so
    that ``explain`` and ``rules``, with which a rule's author checks a new rule, refuse what ``advise`` would."""
    from .advisor import Advisor
    from .engine import PythonEngine

    return Advisor(engine=PythonEngine()).rulebook


def _rulebook_or_fail(load):  # type: ignore[no-untyped-def]
    try:
        return load()
    except S16Error as e:
        _fail(str(e).splitlines())


def _choice(value: str, enum: type, option: str, usage: str):  # type: ignore[no-untyped-def]
    try:
        return enum(value)
    except ValueError:
        _usage(f"{option}: {value!r} is not one of {', '.join(m.value for m in enum)}", usage)


def _usage(message: str, usage: str = "s16advisor [OPTIONS] COMMAND [ARGS]...") -> NoReturn:
    """A wrong option: the usage line and the error, exit 2 (as typer says it of the options it checks)."""
    typer.echo(f"Usage: {usage}\nError: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


class _Output:
    """Standard output for the commands: once the reader of a pipe has gone (``| head -1``), what is left to
    write is dropped, so the command ends as it would have (its exit code, its summary on standard error)
    rather than at the first write that finds the pipe closed."""

    def __init__(self, stream: Any):
        self._stream = stream
        self.gone = False

    def write(self, data: Any) -> int:
        if not self.gone:
            try:
                return self._stream.write(data)  # type: ignore[no-any-return]
            except BrokenPipeError:
                self._reader_gone()
        return len(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _reader_gone(self) -> None:
        self.gone = True
        with contextlib.suppress(OSError, ValueError):  # (so that the flush at exit does not complain either)
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self._stream.fileno())
            finally:
                os.close(null)

    @property
    def buffer(self) -> Any:
        raw = getattr(self._stream, "buffer", None)
        return None if raw is None else _Output(raw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _prepare_stdout() -> None:
    """UTF-8 for output to a file or a pipe (JSON, SARIF and JUnit must be; a Windows redirect would be the ANSI
    code page), a character the terminal's encoding lacks shown as ``?``, and a pipe whose reader goes (see
    ``_Output``)."""
    out = sys.stdout
    encoding = (getattr(out, "encoding", None) or "utf-8").lower().replace("_", "-")
    if encoding not in ("utf-8", "utf8") and hasattr(out, "reconfigure"):
        with contextlib.suppress(OSError, ValueError):
            if out.isatty():
                out.reconfigure(errors="replace")
            else:
                out.reconfigure(encoding="utf-8")
    sys.stdout = _Output(out)  # type: ignore[assignment]


class _Closed:
    """Standard output when the command was started with it closed (``>&-``): an error only if written to."""

    encoding = "utf-8"

    def write(self, data: Any) -> int:
        raise OSError(errno.EBADF, "standard output is closed: redirect it (to a file, or /dev/null)")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def buffer(self) -> _Closed:
        return self


class _Discarded(_Closed):
    """Standard error when the command was started with it closed (``2>&-``): its messages are lost, as asked;
    the command still runs, and its exit code says how it went."""

    def write(self, data: Any) -> int:
        return len(data)


def main() -> None:
    import signal

    from . import STARTING

    _RUN_AS_COMMAND.append(True)
    if STARTING and signal.getsignal(signal.SIGINT) is STARTING[0]:  # (Ctrl-C quiet while the modules loaded)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if sys.stderr is None:
        sys.stderr = _Discarded()  # type: ignore[assignment]
    if sys.stdout is None:  # started with standard output closed (>&-): fine while nothing is written to it
        sys.stdout = _Closed()  # type: ignore[assignment]
    else:
        _prepare_stdout()
    code: Any = 0
    try:
        try:
            app()
        except SystemExit as e:
            code = e.code
        sys.stdout.flush()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        code = 130
    except OSError as e:  # writing the output failed: a full disk, an I/O error
        from .yamlio import os_error_words

        typer.echo(f"error: cannot write the output: {os_error_words(e)}", err=True)
        code = EXIT_USAGE
    # The command is done and has said so: a Ctrl-C while the interpreter exits changes nothing (it came in
    # logging's exit handler as a traceback, "Exception ignored in atexit callback ... KeyboardInterrupt")
    with contextlib.suppress(ValueError):  # (not the main thread: it cannot set a handler)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)



