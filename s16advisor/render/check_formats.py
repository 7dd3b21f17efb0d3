"""Report formats for ``check``: text, json, junit, sarif and GitHub workflow commands, behind one enum."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote
from xml.etree import ElementTree as ET

from .. import __version__
from ..check import CheckFinding, CheckReport, DraftResult
from .common import SURROGATES, escaped, printable, write_json


class CheckFormat(str, Enum):
    auto = "auto"
    text = "text"
    json = "json"
    junit = "junit"
    sarif = "sarif"
    github = "github"


# What each code means (../shared/spec/advice.md) and where the law is, for SARIF rule help.
CODE_HELP: dict[str, tuple[str, str]] = {
    "declared_route_unavailable": ("The draft's route is unavailable for this contract.",
                                   "https://www.legislation.gov.uk/uksi/2015/102/regulation/26"),
    "reservation_unavailable": ("The draft's reservation is not allowed for this contract.",
                                "https://www.legislation.gov.uk/uksi/2015/102/regulation/77"),
    "near_threshold": ("The value is within 10% below a threshold that changes the route.",
                       "https://www.legislation.gov.uk/uksi/2015/102/regulation/6"),
    "lots_not_considered": ("Above the threshold, no lots and no reasons for not lotting.",
                            "https://www.legislation.gov.uk/uksi/2015/102/regulation/46"),
    "prior_reserved_award": ("A prior reserved award bars a supplier until a date.",
                             "https://www.legislation.gov.uk/uksi/2015/102/regulation/77"),
    "cpv_check_digit": ("A CPV check digit differs from the official one.",
                        "https://eur-lex.europa.eu/eli/reg/2008/213/oj"),
    "waiver_expired": ("A waiver is past its expiry date and no longer applies.", "README.md#waivers"),
    "community_benefits": ("Wales, value over £1m: apply the Community Benefits Measurement Tool.",
                           "https://www.gov.wales/community-benefits-delivering-maximum-value-welsh-pound"),
    "major_construction_contract": ("Wales, works of £2m or more from 2026-03-25: consider social public works "
                                    "clauses (SPPP Act s.25).", "https://www.legislation.gov.uk/asc/2023/1/section/25"),
    "health_services_regime": ("Health services may fall under a provider selection regime: England's from 2024-01-01 "
                               "(SI 2023/1348), Wales's from 2025-02-24 (WSI 2025/99).",
                               "https://www.legislation.gov.uk/wsi/2025/99"),
    "invalid_input": ("The draft could not be read or validated as a contract description v1.", "README.md#input"),
}
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _where(r: DraftResult, line: int | None) -> str:
    return f"{r.path}:{line}" if line else r.path


def _text(report: CheckReport, out: TextIO) -> None:
    """One line per finding (a reason or a file name written over several lines, or with control characters,
    stays on its line: see ``printable``)."""
    for r in report.results:
        if r.status == "error":
            for line in (r.error or "").splitlines():  # each already names the file, or gets it here
                out.write(printable(line if line.startswith(r.path) else f"{r.path}: {line}", True) + "\n")
            continue
        for f in r.findings:
            for line in _finding_lines(r, f):
                out.write(printable(line, True) + "\n")


def _finding_lines(r: DraftResult, f: CheckFinding) -> list[str]:
    """A finding as the text report gives it (the JUnit report's too): its line, with the waiver's reason, then
    the blockers behind it, each at its own line."""
    waived = f" (waived: {f.waiver_reason})" if f.waived else ""
    return [f"{_where(r, f.line)}: {f.severity} {f.code} {f.message}{waived}",
            *(f"{_where(r, rel.line)}:   {rel.code} {rel.message}" for rel in f.related)]


def _finding_json(f: CheckFinding) -> dict[str, Any]:
    return {"code": f.code, "severity": f.severity, "message": f.message, "reference": f.reference, "line": f.line,
            "field": f.field, "waived": f.waived, "waiver_reason": f.waiver_reason,
            "related": [{"code": x.code, "message": x.message, "line": x.line, "field": x.field} for x in f.related]}


def _utf8(text: str | None) -> str | None:
    """A path, or an error naming one, that UTF-8 can hold (see ``escaped``)."""
    return None if text is None else escaped(text, SURROGATES)


def _json(report: CheckReport, out: TextIO) -> None:
    drafts = []
    for r in report.results:
        drafts.append({"path": _utf8(r.path), "status": r.status, "error": _utf8(r.error), "line": r.error_line,
                       "findings": [_finding_json(f) for f in r.findings],
                       "advice": r.advice.to_json_dict() if r.advice else None})
    write_json({"schema": "s16advisor/check/1", "summary": report.counts, "strict": report.strict,
                "drafts": drafts}, out)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml(text: str) -> str:
    """Text XML 1.0 may hold: the characters it cannot (control characters but tab and line ends, lone
    surrogates) written as escapes."""
    return escaped(text, _NOT_XML)


def _junit(report: CheckReport, out: TextIO) -> None:
    c = report.counts
    # ``time`` (seconds) is required on a suite and a test case by the Ant JUnit schema, and reporters read it as a
    # number (dorny/test-reporter: parseFloat, NaN when absent); a check is not timed, so it is 0.
    suites = ET.Element("testsuites", name="s16advisor check", tests=str(c["drafts"]), failures=str(c["failed"]),
                        errors=str(c["unreadable"]), time="0")
    suite = ET.SubElement(suites, "testsuite", name="s16advisor check", tests=str(c["drafts"]),
                          failures=str(c["failed"]), errors=str(c["unreadable"]), skipped="0", time="0")
    for r in report.results:
        path = _xml(r.path)
        case = ET.SubElement(suite, "testcase", classname="s16advisor.check", name=path, file=path, time="0")
        if r.status == "error":
            err = ET.SubElement(case, "error", message=_xml((r.error or "").splitlines()[0]), type="invalid_input")
            err.text = _xml(r.error or "")
            continue
        failing = r.errors + (r.warnings if report.strict else [])
        if failing:
            fail = ET.SubElement(case, "failure", message=f"{len(failing)} finding(s): "
                                 + ", ".join(f.code for f in failing), type=failing[0].code)
            fail.text = _xml("\n".join(line for f in failing for line in _finding_lines(r, f)))
        others = [f for f in r.findings if f not in failing]
        if others:
            ET.SubElement(case, "system-out").text = _xml("\n".join(line for f in others
                                                                    for line in _finding_lines(r, f)))
    ET.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suites, encoding="unicode"))
    out.write("\n")


@functools.lru_cache(maxsize=256)
def _repository_root(folder: str) -> str | None:
    """The checkout ``folder`` is in: the nearest folder at or above it holding ``.git`` (a folder, or the file of
    a worktree), if any."""
    while True:
        if os.path.lexists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _in_repository(path: str) -> str | None:
    """A draft's path relative to the root of the repository it is in, with ``/`` (what GitHub code scanning and
    the Actions runner read a relative path against: not the working directory), links resolved (code scanning
    shows nothing in a file reached through a link); None outside a repository, or for standard input."""
    if path == "<stdin>":
        return None
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return None
    root = _repository_root(os.path.dirname(real))
    if root is None:
        return None
    relative = os.path.relpath(real, root)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")


def _quoted(path: str) -> str:
    return quote(path.replace(os.sep, "/").removeprefix("./").encode("utf-8", "surrogateescape"), safe="/")


def _artifact(path: str) -> dict[str, str]:
    """A draft's path as a SARIF artifact location: in a repository, a URI reference relative to its root
    (``%SRCROOT%``, as CodeQL writes it): ``my draft.yaml`` is ``my%20draft.yaml``, ``x:y.yaml`` ``x%3Ay.yaml``.
    Elsewhere it is relative to the working directory when it is below it, else a ``file://`` URI (SARIF: a
    relative reference must not begin with a slash)."""
    relative = _in_repository(path)
    if relative is not None:
        return {"uri": _quoted(relative), "uriBaseId": "%SRCROOT%"}
    if os.path.isabs(path):
        try:
            relative = os.path.relpath(path)
        except ValueError:  # (Windows: another drive, or a UNC path)
            relative = os.pardir
        if relative.split(os.sep, 1)[0] == os.pardir:
            return {"uri": Path(path).as_uri()}
        path = relative
    return {"uri": _quoted(path)}


def _location(path: str, line: int | None, message: str | None = None) -> dict[str, Any]:
    # a region on every location, line 1 when there is no line to point at (a draft that cannot be read): GitHub
    # code scanning places a result only by its region.startLine (Microsoft's SARIF validator, rule GH1003:
    # "At minimum, 'region.startLine' is required")
    physical: dict[str, Any] = {"artifactLocation": _artifact(path), "region": {"startLine": line or 1}}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if message:
        loc["message"] = {"text": message}
    return loc


def sarif_document(report: CheckReport) -> dict[str, Any]:
    used = sorted({f.code for r in report.results for f in r.findings}
                  | ({"invalid_input"} if any(r.status == "error" for r in report.results) else set()))
    # A rule's legal basis is what its results cite: the same code cites reg 46 for a PCR 2015 draft and s.18 for
    # a Procurement Act 2023 one (CODE_HELP's reference only where no result gives one).
    cited: dict[str, list[str]] = {}
    for r in report.results:
        for f in r.findings:
            if f.reference and f.reference not in cited.setdefault(f.code, []):
                cited[f.code].append(f.reference)
    rules = []
    for code in used:
        text, default = CODE_HELP.get(code, (code, "README.md"))
        uris = sorted(cited.get(code) or [default])
        absolute = [u for u in uris if u.startswith("https://")]
        rules.append({
            "id": code,
            "name": "".join(w.capitalize() for w in code.split("_")),
            "shortDescription": {"text": text},
            "fullDescription": {"text": text},
            "help": {"text": f"{text} Legal basis: {', '.join(uris)}" if absolute else f"{text} See {uris[0]}."},
        })
        if len(absolute) == 1:  # SARIF: one absolute URI (README.md#waivers is the help text's)
            rules[-1]["helpUri"] = absolute[0]
    index = {code: i for i, code in enumerate(used)}
    results = []
    for r in report.results:
        if r.status == "error":
            results.append({"ruleId": "invalid_input", "ruleIndex": index["invalid_input"], "level": "error",
                            "message": {"text": _utf8(r.error) or "invalid input"},
                            "locations": [_location(r.path, r.error_line)]})
            continue
        for f in r.findings:
            res: dict[str, Any] = {
                "ruleId": f.code, "ruleIndex": index[f.code], "level": SARIF_LEVEL[f.severity],
                "message": {"text": f"{f.message} ({f.reference})"},
                "locations": [_location(r.path, f.line)],
            }
            if f.related:
                res["relatedLocations"] = [dict(_location(r.path, x.line, f"{x.code}: {x.message}"), id=i)
                                           for i, x in enumerate(f.related)]
            if f.waived:
                res["suppressions"] = [{"kind": "inSource", "justification": f.waiver_reason or ""}]
            results.append(res)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "s16advisor", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://www.legislation.gov.uk/anaw/2014/4/section/16",
                                "rules": rules}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }


def _sarif(report: CheckReport, out: TextIO) -> None:
    write_json(sarif_document(report), out)


def _gh_data(s: str) -> str:
    return printable(s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def _gh_props(file: str, line: int | None, title: str) -> str:
    """An annotation's properties: ``file`` (escaped already), its line if it has one, and its title."""
    return f"file={file}" + (f",line={line}" if line else "") + f",title={_gh_prop(title)}"


# GitHub shows at most this many annotations of each kind (error, warning, notice) per step, and 50 per job;
# the rest are in the step's log only (actions/toolkit, docs/problem-matchers.md, "Limitations").
GITHUB_SHOWN = 10


def _github(report: CheckReport, out: TextIO) -> None:
    kind = {"error": "error", "warning": "warning", "info": "notice"}
    lines: list[str] = []
    counts = dict.fromkeys(("error", "warning", "notice"), 0)

    def annotate(level: str, props: str, message: str) -> None:
        lines.append(f"::{level} {props}::{_gh_data(message)}\n")
        counts[level] += 1

    for r in report.results:
        # file=: relative to the repository's root, as GitHub reads it (the runner keeps a relative path as given)
        file = _gh_prop(_in_repository(r.path) or r.path)
        if r.status == "error":
            annotate("error", _gh_props(file, r.error_line, "invalid_input"), r.error or "invalid input")
            continue
        for f in r.findings:
            level = "notice" if f.waived else kind[f.severity]
            annotate(level, _gh_props(file, f.line, f.code),
                     f.message + (f" (waived: {f.waiver_reason})" if f.waived else ""))
            for x in f.related:
                annotate("notice", _gh_props(file, x.line, x.code), x.message)
    if max(counts.values()) > GITHUB_SHOWN:  # said first, so that it is among the notices shown
        made = [f"{n} {level}{'s' if n != 1 else ''}" for level, n in counts.items() if n]
        said = ", ".join(made[:-1]) + " and " + made[-1] if len(made) > 1 else made[0]
        note = (f"This check made {said}. GitHub shows the first {GITHUB_SHOWN} of each kind in a step (and 50 in "
                "a job) on the pull request: this step's log lists every one, and --format sarif uploaded to code "
                "scanning shows them all.")
        out.write(f"::notice title=s16advisor::{_gh_data(note)}\n")
    out.writelines(lines)


REPORTERS: dict[CheckFormat, Callable[[CheckReport, TextIO], None]] = {
    CheckFormat.text: _text,
    CheckFormat.json: _json,
    CheckFormat.junit: _junit,
    CheckFormat.sarif: _sarif,
    CheckFormat.github: _github,
}


def resolve(fmt: CheckFormat) -> CheckFormat:
    """``auto``: GitHub annotations under GitHub Actions, text otherwise."""
    if fmt is CheckFormat.auto:
        return CheckFormat.github if os.environ.get("GITHUB_ACTIONS") == "true" else CheckFormat.text
    return fmt


def render_check(report: CheckReport, fmt: CheckFormat, out: TextIO) -> None:
    REPORTERS[resolve(fmt)](report, out)
